"""Matching motifs to JASPAR with TOMTOM (memelite's pure-Python implementation).

Motifs here are position probability matrices ``(length, 4)``, columns A, C, G, T, as
:func:`amber.data.motifs.load_motifs` returns them. :func:`jaspar_collection` reads a
whole JASPAR collection from pyjaspar's bundled (offline) database, the target set every
query is compared with: TOMTOM's p-values take the target columns as their background,
so they need a full database, never just the planted motifs. q-values are
Benjamini-Hochberg over each query's p-values against all targets, as MEME's tomtom does.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from amber.data.motifs import BASES, JASPAR_RELEASE, load_motifs
from amber.stats import bh_fdr


@dataclass(frozen=True)
class MotifDatabase:
    """Target motifs: JASPAR matrix IDs, TF names and PPMs ``(length, 4)``."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    ppms: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.ids)


def jaspar_collection(
    release: str = JASPAR_RELEASE,
    collection: str = "CORE",
    tax_group: str | None = "vertebrates",
    include: Mapping[str, str] | None = None,
) -> MotifDatabase:
    """The latest version of every matrix of a JASPAR collection (offline, pyjaspar),
    plus the matrices ``include`` names (TF -> versioned ID, e.g. the planted motifs,
    read by :func:`amber.data.motifs.load_motifs` when the collection lacks them)."""
    from pyjaspar import jaspardb

    db = jaspardb(release=release)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        motifs = db.fetch_motifs(collection=collection, tax_group=tax_group)
    ids, names, ppms = [], [], []
    for motif in motifs:
        counts = np.array([motif.counts[b] for b in BASES], dtype=float).T
        ids.append(motif.matrix_id)
        names.append(motif.name)
        ppms.append(counts / counts.sum(axis=1, keepdims=True))
    missing = {tf: mid for tf, mid in (include or {}).items() if mid not in ids}
    for tf, ppm in load_motifs(release, missing).items():
        ids.append(missing[tf])
        names.append(tf)
        ppms.append(ppm)
    if not ids:
        raise ValueError(f"JASPAR {release} has no {collection} matrices for {tax_group!r}")
    return MotifDatabase(tuple(ids), tuple(names), tuple(ppms))


def tomtom(queries: Sequence[np.ndarray], db: MotifDatabase) -> tuple[np.ndarray, np.ndarray]:
    """TOMTOM p-values and q-values, each ``(len(queries), len(db))``, both strands.

    ``queries`` are PPMs ``(length, 4)``. A query shorter than 2 positions gets p = 1.
    """
    from memelite.tomtom import tomtom as memelite_tomtom

    n_q, n_t = len(queries), len(db)
    p = np.ones((n_q, n_t))
    usable = [i for i, q in enumerate(queries) if np.asarray(q).shape[0] >= 2]
    if usable:
        qs = [np.ascontiguousarray(np.asarray(queries[i], dtype=np.float64).T) for i in usable]
        ts = [np.ascontiguousarray(t.T.astype(np.float64)) for t in db.ppms]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = memelite_tomtom(qs, ts)
        p[usable] = np.clip(np.asarray(result[0], dtype=float), 0.0, 1.0)
    q = np.vstack([bh_fdr(row) for row in p]) if n_q else np.ones((0, n_t))
    return p, q


def best_matches(
    names: Sequence[str], p: np.ndarray, q: np.ndarray, db: MotifDatabase
) -> pd.DataFrame:
    """One row per query: its best JASPAR match (smallest p) with p- and q-value."""
    rows = []
    for i, name in enumerate(names):
        j = int(np.argmin(p[i])) if p.shape[1] else -1
        rows.append(
            {
                "motif": name,
                "jaspar_id": db.ids[j] if j >= 0 else "",
                "jaspar_name": db.names[j] if j >= 0 else "",
                "p_value": float(p[i, j]) if j >= 0 else 1.0,
                "q_value": float(q[i, j]) if j >= 0 else 1.0,
            }
        )
    return pd.DataFrame(rows, columns=["motif", "jaspar_id", "jaspar_name", "p_value", "q_value"])
