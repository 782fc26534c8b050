"""Chromosome sequences as base codes (A=0, C=1, G=2, T=3, other=4) for the ASB stage."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from amber.data.genome import chromosome_codes, open_fasta, scan_fasta


def load_chromosomes(
    fasta: str | Path, chroms: Iterable[str] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Codes of the chromosomes in ``chroms`` (all when None) and every record's length.

    Only the chromosomes asked for are read, so a human genome costs memory only for the
    chromosomes that carry variants.
    """
    lengths = scan_fasta(fasta)
    wanted = list(lengths) if chroms is None else [c for c in lengths if c in set(chroms)]
    with open_fasta(fasta, lengths) as handle:
        codes = {c: chromosome_codes(handle, c) for c in wanted}
    return codes, lengths
