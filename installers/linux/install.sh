#!/bin/sh
# Install TalkingPose Studio for this user: finds a Python 3.11 and runs installers/install.py.
# Every argument is passed on (see installers/README.md), e.g.  ./install.sh --dry-run
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
for candidate in "${TALKINGPOSE_PYTHON:-}" python3.11 python3 python; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1; then
        exec "$candidate" "$here/../install.py" "$@"
    fi
done
echo "install.sh: TalkingPose Studio needs Python 3.11, and none was found on PATH; install it (e.g. 'sudo apt-get install python3.11 python3.11-venv' or 'sudo dnf install python3.11') or set TALKINGPOSE_PYTHON to its path." >&2
exit 1
