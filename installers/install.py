#!/usr/bin/env python3
"""Install TalkingPose Studio for the current user (standard library only; Python 3.11).

    python3.11 installers/install.py [--prefix DIR] [--torch cpu|cuda|mps] [--wheels DIR]
                                     [--make-wheelhouse DIR] [--uninstall [--purge]] [--dry-run] [--yes]

See installers/README.md. The per-OS wrappers (linux/install.sh, macos/install.command,
windows/install.ps1) find a Python 3.11 and run this file.
"""

import os
import sys

if sys.version_info[:2] != (3, 11):  # before any import that needs newer syntax
    sys.exit("install.py: TalkingPose Studio needs Python 3.11 and this is Python %d.%d; " % sys.version_info[:2] +
             "install Python 3.11 (python.org or your package manager) and run the installer with it")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tpsetup.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
