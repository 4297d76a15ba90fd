#!/usr/bin/env bash
# One prepared GPU check for a lent machine (about 5 of its 8 minutes on an H200): SD1.5-sized
# random weights at 512x512, 30 steps, CFG 3.5 -> one JSON file (bench/gpu_check.py says what is in it).
#   bash bench/gpu_check.sh [OUT_JSON]        (default: $OUT/gpu_check.json, else build/gpu_check.json)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
OUT_JSON="${1:-${OUT:-build}/gpu_check.json}"
mkdir -p "$(dirname "$OUT_JSON")"
if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_check: no CUDA GPU is visible to torch here, so there is nothing to measure (python -m bench.gpu_check --dry-run checks the script on a CPU)." >&2
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec timeout 470 "$PYTHON" -m bench.gpu_check --out "$OUT_JSON"
