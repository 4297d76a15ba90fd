"""studio-cli: the headless front end (imports no Qt). ``main`` parses and dispatches; each
``*_cmd`` module adds one subcommand with ``register(subparsers)``, whose parser sets
``func(args) -> int``."""

from studio.cli.main import main

__all__ = ["main"]
