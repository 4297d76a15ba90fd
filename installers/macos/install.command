#!/bin/sh
# Double-click in Finder (or run in Terminal) to install TalkingPose Studio for this user.
# Finds a Python 3.11 and runs installers/install.py; arguments are passed on (see installers/README.md).
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
for candidate in "${TALKINGPOSE_PYTHON:-}" python3.11 /Library/Frameworks/Python.framework/Versions/3.11/bin/python3.11 \
        /opt/homebrew/bin/python3.11 /usr/local/bin/python3.11 python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1; then
        exec "$candidate" "$here/../install.py" "$@"
    fi
done
echo "install.command: TalkingPose Studio needs Python 3.11, and none was found; install it from python.org (macOS 64-bit universal2 installer) or with 'brew install python@3.11', then run this again." >&2
exit 1
