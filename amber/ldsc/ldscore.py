"""Partitioned LD scores, computed as ldsc (Bulik-Sullivan et al. 2015) computes them.

For SNP j and annotation c, ``l(j, c) = sum_k a(k, c) * r2u(j, k)`` over the SNPs k in j's
window, where ``r2u = r^2 - (1 - r^2) / (n - 2)`` is the unbiased estimate of r^2 from a
reference panel of n individuals and r is the correlation of genotypes standardised the
ldsc way (missing genotypes set to the SNP's mean; population standard deviation).

The window follows ldsc's chunked sliding block exactly, because the SNP pairs it sums
decide the last digits of every score: SNPs are visited in chunks of ``chunk`` (ldsc's
``--chunk-size``, default 50); a chunk starting at SNP s is paired with the
``ceil((s - left(s)) / chunk) * chunk`` SNPs before it, where ``left(s)`` is the first SNP
within ``max_dist`` of SNP s, and with itself; the SNPs before the first one whose window
does not reach SNP 0 (rounded up to a whole chunk) are all paired with each other. Each
pair then adds to both SNPs' scores. This is re-implemented here (the ldsc code is GPLv3);
tests/test_ldsc_reference.py checks the result against ldsc's own code.

Files (ldsc's formats, per chromosome ``<prefix><c>``): ``.annot.gz`` (``CHR BP SNP CM``
then one column per annotation, rows in ``.bim`` order), ``.l2.ldscore.gz`` (``CHR SNP BP``
then ``<annotation>L2`` columns; a single annotation is named ``L2``, as ldsc names it),
``.l2.M`` and ``.l2.M_5_50`` (one line: annotation sums over all SNPs / over SNPs with MAF
> 0.05).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from amber.fileio import atomic_path
from amber.ldsc.fsutil import existing_table, read_table, write_table
from amber.ldsc.plink import read_plink, substitute

log = logging.getLogger("amber")

ANNOT_KEYS = ("CHR", "BP", "SNP", "CM")


def block_lefts(coords: np.ndarray, max_dist: float) -> np.ndarray:
    """``left[i]`` = the first SNP k (coords sorted) with ``|coords[k] - coords[i]| <= max_dist``.

    A two-pointer scan with the same comparison ldsc makes, so ties at exactly
    ``max_dist`` fall on the same side.
    """
    coords = np.asarray(coords, dtype=float)
    m = coords.size
    left = np.zeros(m, dtype=np.int64)
    j = 0
    for i in range(m):
        while j < m and abs(coords[j] - coords[i]) > max_dist:
            j += 1
        left[i] = j
    return left


def standardize(genotypes: np.ndarray) -> np.ndarray:
    """(individuals, SNPs) float64 from (SNPs, individuals) allele counts with -1 = missing.

    Missing genotypes get the SNP's mean; columns are centred and divided by their
    population standard deviation (1 when it is 0), as ldsc does.
    """
    g = np.asarray(genotypes, dtype=np.float64).T.copy()
    missing = g < 0
    if missing.any():
        g[missing] = np.nan
        means = np.nanmean(g, axis=0)
        g = np.where(missing, means, g)
    else:
        means = g.mean(axis=0)
    g -= means
    sd = g.std(axis=0)
    sd[sd == 0] = 1.0
    g /= sd
    return g


def _r2_unbiased(r: np.ndarray, n: int) -> np.ndarray:
    denom = n - 2 if n > 2 else n
    sq = np.square(r)
    return sq - (1 - sq) / denom


def ld_scores(
    genotypes: np.ndarray, left: np.ndarray, annot: np.ndarray, chunk: int = 50
) -> np.ndarray:
    """Partitioned LD scores (SNPs, annotations) of one chromosome.

    ``genotypes``: (SNPs, individuals) allele counts (-1 missing), SNPs in position order;
    ``left``: :func:`block_lefts` of their coordinates; ``annot``: (SNPs, annotations).
    """
    m, n = genotypes.shape
    annot = np.asarray(annot, dtype=np.float64)
    if annot.shape[0] != m:
        raise ValueError(f"annotation has {annot.shape[0]} rows for {m} SNPs")
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    out = np.zeros((m, annot.shape[1]))
    if m == 0:
        return out
    widths = (np.ceil((np.arange(m) - left) / chunk) * chunk).astype(np.int64)
    beyond = np.flatnonzero(left > 0)
    first = int(beyond[0]) if beyond.size else m
    first = min(int(np.ceil(first / chunk) * chunk), m)
    # The leading block: every pair among its SNPs.
    x = standardize(genotypes[:first])
    for s in range(0, first, chunk):
        r = x.T @ (x[:, s : s + chunk] / n)
        out[:first] += _r2_unbiased(r, n) @ annot[s : s + chunk]
    # Later chunks: the chunk with the whole-chunk-rounded window before it, and itself.
    # Window starts are chunk-aligned, so each chunk is standardised once and kept while a
    # later window still reaches it (standardising is per SNP: the same values as for the
    # whole window at once, without redoing ~window/chunk times the work).
    done: dict[int, np.ndarray] = {}
    for s in range(first, m, chunk):
        e = min(s + chunk, m)
        lo = s - int(widths[s])
        for start in [k for k in done if k < lo]:
            del done[start]
        for start in range(lo, e, chunk):
            if start not in done:
                done[start] = standardize(genotypes[start : min(start + chunk, e)])
        block = np.concatenate([done[start] for start in range(lo, e, chunk)], axis=1)
        a, b = block[:, : s - lo], block[:, s - lo :]
        if s > lo:
            f_ab = _r2_unbiased(a.T @ (b / n), n)
            out[lo:s] += f_ab @ annot[s:e]
            out[s:e] += (annot[lo:s].T @ f_ab).T
        out[s:e] += _r2_unbiased(b.T @ (b / n), n) @ annot[s:e]
    return out


def snp_filter(genotypes: np.ndarray, maf_min: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(kept SNP mask, MAF) with ldsc's filter: MAF > maf_min and not all het/missing."""
    called = genotypes >= 0
    n_called = called.sum(axis=1)
    # ldsc counts the A2 allele; the same float operations keep MAF == 0.05 ties on the
    # same side of its "MAF > 0.05" cut (1 - 0.95 is 0.05000000000000004).
    a2_counts = 2 * n_called - np.where(called, genotypes, 0).sum(axis=1)
    freq = np.where(n_called > 0, a2_counts / np.maximum(2 * n_called, 1), 0.0)
    maf = np.minimum(freq, 1 - freq)
    het_or_missing = (genotypes == 1).sum(axis=1) + (~called).sum(axis=1)
    keep = (maf > maf_min) & (het_or_missing < genotypes.shape[1])
    return keep, maf


def read_annot(path: str | Path) -> pd.DataFrame:
    """An ldsc ``.annot[.gz|.parquet]`` file: ``CHR BP SNP CM`` then annotation columns
    (floats)."""
    path = Path(path)
    try:
        frame = read_table(path, dtype={"SNP": str})
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: annotation file not found") from None
    missing = [c for c in ANNOT_KEYS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}:1: missing column(s) {', '.join(missing)}")
    names = [c for c in frame.columns if c not in ANNOT_KEYS]
    if not names:
        raise ValueError(f"{path}:1: no annotation columns after {' '.join(ANNOT_KEYS)}")
    for name in names:
        values = pd.to_numeric(frame[name], errors="coerce")
        if values.isna().any():
            line = int(np.flatnonzero(values.isna().to_numpy())[0]) + 2
            raise ValueError(f"{path}:{line}: annotation {name!r} must be a number")
        frame[name] = values.astype(float)
    return frame


def write_annot(frame: pd.DataFrame, path: str | Path) -> None:
    """Write an ldsc ``.annot.gz`` (keys first, then annotations)."""
    names = [c for c in frame.columns if c not in ANNOT_KEYS]
    write_table(frame.loc[:, [*ANNOT_KEYS, *names]], path, float_format="%.6g")


@dataclass(frozen=True)
class Window:
    """LD window: ``unit`` cm, kb or snps (ldsc's --ld-wind-cm/-kb/-snps)."""

    size: float = 1.0
    unit: str = "cm"

    def coords(self, bim: pd.DataFrame) -> tuple[np.ndarray, float]:
        if self.unit == "cm":
            return bim["CM"].to_numpy(dtype=float), self.size
        if self.unit == "kb":
            return bim["BP"].to_numpy(dtype=float), self.size * 1000
        if self.unit == "snps":
            return np.arange(len(bim), dtype=float), self.size
        raise ValueError(f"window unit {self.unit!r} is not one of cm, kb, snps")


def _fmt(values: np.ndarray) -> str:
    return "\t".join(f"{float(v):.12g}" for v in np.atleast_1d(values))


def compute_chromosome(
    bfile: str,
    out: str,
    *,
    annot: str | None = None,
    window: Window = Window(),
    chunk: int = 50,
    maf_min: float = 0.0,
    extract: set[str] | None = None,
    print_snps: set[str] | None = None,
    float_format: str | None = None,
) -> dict[str, int]:
    """ldsc ``--l2`` for one chromosome: read ``bfile``.bed/bim/fam (and ``annot``.annot.gz),
    write ``out``.l2.ldscore.gz, .l2.M, .l2.M_5_50 (and a copy of the annotation as
    ``out``.annot.gz so the folder is what ldsc's ``--overlap-annot`` expects)."""
    genotypes, bim, _ = read_plink(bfile)
    if annot is not None and extract is not None:
        raise ValueError("an annotation and an SNP extract list cannot be combined (as in ldsc)")
    names = ["L2"]
    matrix = np.ones((len(bim), 1))
    annot_path = None
    if annot is not None:
        annot_path = existing_table(annot, ".annot")
        table = read_annot(annot_path)
        if len(table) != len(bim) or (table["SNP"].to_numpy() != bim["SNP"].to_numpy()).any():
            raise ValueError(
                f"{annot_path}: SNPs differ from {bfile}.bim (same SNPs in the same order needed)"
            )
        columns = [c for c in table.columns if c not in ANNOT_KEYS]
        matrix = table[columns].to_numpy(dtype=float)
        names = ["L2"] if len(columns) == 1 else [f"{c}L2" for c in columns]
    keep = np.ones(len(bim), dtype=bool)
    if extract is not None:
        keep &= bim["SNP"].isin(extract).to_numpy()
        if not keep.any():
            raise ValueError(f"{bfile}.bim: no SNP of the extract list")
    poly, maf = snp_filter(genotypes, maf_min)
    keep &= poly
    if not keep.any():
        raise ValueError(f"{bfile}: no SNP passes the MAF filter (> {maf_min})")
    g = genotypes[keep]
    kept = bim.loc[keep].reset_index(drop=True)
    a = matrix[keep]
    maf = maf[keep]
    coords, max_dist = window.coords(kept)
    scores = ld_scores(g, block_lefts(coords, max_dist), a, chunk)
    table = kept[["CHR", "SNP", "BP"]].copy()
    for i, name in enumerate(names):
        table[name] = scores[:, i]
    if print_snps is not None:
        table = table.loc[table["SNP"].isin(print_snps)]
        if table.empty:
            raise ValueError(f"{bfile}: no SNP of the print list has an LD score")
    write_table(table, f"{out}.l2.ldscore.gz", float_format=float_format)
    with atomic_path(f"{out}.l2.M") as tmp:
        tmp.write_text(_fmt(a.sum(axis=0)) + "\n")
    with atomic_path(f"{out}.l2.M_5_50") as tmp:
        tmp.write_text(_fmt(a[maf > 0.05].sum(axis=0)) + "\n")
    if annot_path is not None:
        suffix = ".annot" + annot_path.name.removeprefix(Path(annot).name + ".annot")
        with atomic_path(f"{out}{suffix}") as tmp:
            shutil.copyfile(annot_path, tmp)
    return {"snps": int(len(bim)), "kept": int(keep.sum()), "printed": int(len(table))}


def compute_ldscores(
    bfile: str,
    out: str,
    chroms: list[int],
    **options,
) -> dict[int, dict[str, int]]:
    """:func:`compute_chromosome` for each chromosome code (``@`` in the patterns)."""
    annot = options.pop("annot", None)
    counts = {}
    for code in chroms:
        counts[code] = compute_chromosome(
            substitute(bfile, code),
            substitute(out, code),
            annot=substitute(annot, code) if annot is not None else None,
            **options,
        )
    return counts
