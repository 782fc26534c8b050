"""A plain, indexed genome FASTA for Selene (which reads it through pyfaidx).

UCSC's ``hg19.fa.gz`` is plain gzip, which pyfaidx cannot index in place, and several
scoring jobs building the same ``.fai`` at once would race; so the workflow prepares the
FASTA and its index once.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pyfaidx

from amber.fileio import atomic_path


def prepare_genome(source: str | Path, out: str | Path) -> int:
    """Write ``out`` (plain FASTA) and ``out.fai`` from ``source`` (plain or gzip/bgzip).

    Returns the number of sequences. Both files appear only once complete.
    """
    source, out = Path(source), Path(out)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: genome FASTA not found")
    with open(source, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    with atomic_path(out) as tmp:
        with opener(source, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 22)
        try:
            fasta = pyfaidx.Fasta(str(tmp))  # builds <tmp>.fai
        except Exception as exc:  # noqa: BLE001 - pyfaidx raises several types
            Path(f"{tmp}.fai").unlink(missing_ok=True)
            raise ValueError(f"{source}: not a valid FASTA: {exc}") from exc
        n = len(fasta.keys())
        fasta.close()
        if n == 0:
            Path(f"{tmp}.fai").unlink(missing_ok=True)
            raise ValueError(f"{source}: no sequences in the FASTA")
    os.replace(f"{tmp}.fai", f"{out}.fai")
    return n
