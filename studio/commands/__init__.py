"""studio-cli subcommands: each module has ``register(subparsers)``; its parser sets ``func(args) -> int``."""
