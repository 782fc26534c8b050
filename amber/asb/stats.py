"""Allelic-imbalance calls: binomial test, Benjamini-Hochberg FDR and the paper's classes.

Per row: ``ref_ratio = ref_reads / (ref_reads + alt_reads)``, a two-sided exact binomial
test of ``ref_reads`` against p = 0.5, and the BH FDR over every row of the table with at
least one read (as in the source compendium, whose FDR came with the table; a table may
also bring its own ``pvalue``/``fdr`` columns, which are then used as given).

Classes (Zhang et al. 2021, Methods; thresholds configurable via :class:`CallRules`):

* ``loss``: ref_ratio > 0.6 and FDR < 0.01 (the alt allele loses binding)
* ``gain``: ref_ratio < 0.4 and FDR < 0.01
* ``neutral``: FDR > 0.9
* ``unclassified``: anything else
* ``low_reads``: neither allele has more than ``min_reads`` reads. This follows the
  original analysis code (AMBER-Seq ``allelic_plot.R``: ``ref_reads > 10 | alt_reads >
  10``); the paper's text says "reads > 10".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from amber.asb.config import CallRules
from amber.stats import bh_fdr

CLASSES = ("loss", "gain", "neutral")


def binomial_pvalues(ref_reads: np.ndarray, alt_reads: np.ndarray) -> np.ndarray:
    """Two-sided exact binomial test of ref vs p = 0.5 per row (NaN without reads)."""
    ref = np.asarray(ref_reads, dtype=np.int64)
    total = ref + np.asarray(alt_reads, dtype=np.int64)
    out = np.full(len(ref), np.nan)
    cache: dict[tuple[int, int], float] = {}
    for i, (k, n) in enumerate(zip(ref.tolist(), total.tolist(), strict=True)):
        if n <= 0:
            continue
        key = (min(k, n - k), n)  # symmetric under p = 0.5
        if key not in cache:
            cache[key] = float(binomtest(key[0], key[1], 0.5).pvalue)
        out[i] = cache[key]
    return out


def call_classes(table: pd.DataFrame, rules: CallRules) -> pd.DataFrame:
    """Add ``total_reads``, ``ref_ratio``, ``pvalue``, ``fdr`` and ``call`` to a copy of an
    ASB table (``pvalue``/``fdr`` columns already in the table are kept)."""
    out = table.copy()
    ref = out["ref_reads"].to_numpy(dtype=np.int64)
    alt = out["alt_reads"].to_numpy(dtype=np.int64)
    total = ref + alt
    out["total_reads"] = total
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(total > 0, ref / np.maximum(total, 1), np.nan)
    out["ref_ratio"] = ratio
    if "pvalue" not in out or out["pvalue"].isna().all():
        out["pvalue"] = binomial_pvalues(ref, alt)
    if "fdr" not in out or out["fdr"].isna().all():
        out["fdr"] = bh_fdr(out["pvalue"].to_numpy(dtype=float))
    fdr = out["fdr"].to_numpy(dtype=float)
    enough = (ref > rules.min_reads) | (alt > rules.min_reads)
    with np.errstate(invalid="ignore"):
        significant = fdr < rules.fdr_allelic
        call = np.select(
            [
                ~enough,
                significant & (ratio > rules.loss_ratio),
                significant & (ratio < rules.gain_ratio),
                fdr > rules.fdr_neutral,
            ],
            ["low_reads", "loss", "gain", "neutral"],
            default="unclassified",
        )
    out["call"] = call
    return out
