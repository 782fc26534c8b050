#!/usr/bin/env bash
# GPU check of the NAS core at paper scale, for a lent GPU machine (one command, < 8 min):
#   bash benchmarks/gpu_check.sh          # from the repository root
# Uses the machine's own python3 with PyTorch (nothing is installed; the amber package
# runs from the checkout). Writes benchmarks/results/gpu_check.json, and a copy to $OUT
# when the device tool sets it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
timeout -k 10 450 python3 benchmarks/gpu_check.py "$@"
if [[ -n "${OUT:-}" ]]; then cp benchmarks/results/gpu_check.json "$OUT/"; fi
