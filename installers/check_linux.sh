#!/usr/bin/env bash
# End-to-end check of a real install on Linux. The tests do not run it: it installs torch and the
# other pinned packages into a fresh environment (minutes, ~2 GB).
#
#   installers/check_linux.sh [--wheels DIR] [any other install.py flag]
#
# 1. copies the repo (tracked and untracked, not ignored, files) to a temp folder;
# 2. installs from that copy into a temp prefix, with a temp HOME and temp XDG folders;
# 3. DELETES the copy, so nothing below can read the source tree;
# 4. runs the installed `studio-cli presets list`, `studio-cli demo --frames 8` and
#    `studio --screenshot` (offscreen), checking their outputs;
# 5. uninstalls with the installer copy kept in the prefix and checks the prefix, the shims
#    and the desktop entry are gone.
# Without --wheels, torch comes from the same index as everything else (--torch-index default),
# which is what a machine with a configured local index or plain PyPI needs.
set -euo pipefail
started=$(date +%s)
repo=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
python=${TALKINGPOSE_PYTHON:-python3.11}
work=$(mktemp -d "${TMPDIR:-/tmp}/talkingpose-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
copy=$work/copy prefix=$work/prefix
export HOME=$work/home XDG_DATA_HOME=$work/home/data XDG_CONFIG_HOME=$work/home/config XDG_CACHE_HOME=$work/home/cache
mkdir -p "$copy" "$HOME"
step() { printf '\n== %s (%ss)\n' "$1" "$(( $(date +%s) - started ))"; }

step "copy the repo to $copy"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) \
    | tar -xf - -C "$copy"

step "install into $prefix"
extra=("$@")
[[ " ${extra[*]-} " == *" --wheels "* ]] || extra+=(--torch-index default)
"$python" "$copy/installers/install.py" --prefix "$prefix" --yes "${extra[@]}"

step "delete the copy"
rm -rf "$copy"
cd "$work"

step "studio-cli presets list"
"$prefix/bin/studio-cli" presets list | tee presets.txt
for preset in draft gif hevc hq lossless png prores web webm; do
    grep -q "^$preset\b" presets.txt || { echo "check_linux: preset $preset missing from the installed copy" >&2; exit 1; }
done

step "studio-cli demo --frames 8"
"$prefix/bin/studio-cli" demo --frames 8 -o "$work/demo.mp4"
frames=$("$prefix/venv/bin/python" -c "import av, sys; c = av.open(sys.argv[1]); print(sum(1 for _ in c.decode(video=0)))" "$work/demo.mp4")
[[ $frames == 8 ]] || { echo "check_linux: demo.mp4 has $frames frames, expected 8" >&2; exit 1; }
echo "demo.mp4: $frames frames"

step "studio --screenshot (offscreen)"
QT_QPA_PLATFORM=offscreen "$prefix/bin/studio" --screenshot "$work/window.png"
"$prefix/venv/bin/python" -c "from PIL import Image; import sys; im = Image.open(sys.argv[1]); print('window.png:', im.size); assert min(im.size) > 200" "$work/window.png"

desktop=$XDG_DATA_HOME/applications/talkingpose-studio.desktop
test -f "$desktop" && test -x "$HOME/.local/bin/studio-cli"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$desktop" && echo "desktop entry: valid"; fi

step "uninstall"
"$python" "$prefix/installer/install.py" --uninstall --yes
for gone in "$prefix" "$desktop" "$HOME/.local/bin/studio" "$HOME/.local/bin/studio-cli"; do
    if [[ -e $gone ]]; then echo "check_linux: $gone still exists after --uninstall" >&2; exit 1; fi
    echo "gone: $gone"
done
step "all checks passed"
