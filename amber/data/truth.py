"""Ground-truth tables of a simulated genome, as written by :mod:`amber.data.simulate`.

``motif_instances.tsv`` (:data:`INSTANCE_COLUMNS`): every planted motif site, in elements
and as decoys, with the cell types where it is bound. ``elements.tsv``
(:data:`ELEMENT_COLUMNS`): every regulatory element with the cell types where it is open
and active. The simulator writes these columns and later stages (allele-specific binding,
LDSC annotations and GWAS) read them back here, so the contract has one home.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

INSTANCE_COLUMNS = (
    "instance_id",
    "chrom",
    "start",
    "end",
    "strand",
    "tf",
    "motif_id",
    "element_id",
    "sequence",
    "bound_in",
    "score",
)
ELEMENT_COLUMNS = (
    "element_id",
    "chrom",
    "start",
    "end",
    "kind",
    "open_in",
    "active_promoter",
    "grammar",
    "cgi",
    "active_in",
    "n_motifs",
)


def read_motif_instances(path: str | Path) -> pd.DataFrame:
    """Read ``motif_instances.tsv``; ``bound_in`` stays a string ("" when unbound).
    Raises ``ValueError`` naming the file when it is unreadable or lacks a column."""
    try:
        table = _read_instances(path)
    except (OSError, pd.errors.ParserError, ValueError) as err:
        raise ValueError(f"{path}: cannot read motif instances: {err}") from err
    missing = [c for c in INSTANCE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(missing)}; expected the simulator's "
            "motif_instances.tsv"
        )
    return table


def _read_instances(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        sep="\t",
        keep_default_na=False,
        dtype={
            "chrom": str,
            "strand": str,
            "tf": str,
            "motif_id": str,
            "element_id": str,
            "sequence": str,
            "bound_in": str,
            "start": np.int64,
            "end": np.int64,
        },
    )


def read_elements(path: str | Path) -> pd.DataFrame:
    """Read ``elements.tsv``; ``open_in``/``active_in`` stay strings ("" when none)."""
    return pd.read_csv(
        path,
        sep="\t",
        keep_default_na=False,
        dtype={
            "element_id": str,
            "chrom": str,
            "kind": str,
            "open_in": str,
            "grammar": str,
            "active_in": str,
            "start": np.int64,
            "end": np.int64,
        },
    )
