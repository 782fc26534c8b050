"""S-LDSC runs: a baseline-only fit per trait, and each tested annotation jointly with the
baseline (one fit per annotation, as in the paper's per-feature analysis).

Output tables (one row per annotation) have the columns of :data:`RESULT_COLUMNS`:
the trait, the annotation and its file set (``baseline`` or ``tested``), ldsc's
``.results`` numbers (``prop_snps, prop_h2, prop_h2_se, enrichment, enrichment_se,
enrichment_p, coef, coef_se, coef_z``), ``coef_p`` and tau* (see
:mod:`amber.ldsc.regression`), and the fit's ``h2, h2_se, intercept, intercept_se,
mean_chisq, ratio, ratio_se, n_snps, n_blocks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from amber.ldsc.fsutil import table_columns
from amber.ldsc.ldscore import ANNOT_KEYS
from amber.ldsc.regression import (
    PartitionedFit,
    RegressionData,
    existing_table,
    file_set,
    fit_partitioned,
    merge_inputs,
    overlap_results,
    read_ld_inputs,
    read_overlap,
)

_RENAME = {
    "Prop._SNPs": "prop_snps",
    "Prop._h2": "prop_h2",
    "Prop._h2_std_error": "prop_h2_se",
    "Enrichment": "enrichment",
    "Enrichment_std_error": "enrichment_se",
    "Enrichment_p": "enrichment_p",
    "Coefficient": "coef",
    "Coefficient_std_error": "coef_se",
    "Coefficient_z-score": "coef_z",
    "Coefficient_p": "coef_p",
    "tau_star_std_error": "tau_star_se",
}
FIT_COLUMNS = (
    "h2",
    "h2_se",
    "intercept",
    "intercept_se",
    "mean_chisq",
    "ratio",
    "ratio_se",
    "n_snps",
    "n_blocks",
)
RESULT_COLUMNS = (
    "trait",
    "annotation",
    "set",
    *_RENAME.values(),
    "tau_star",
    *FIT_COLUMNS,
)


def annotation_names(prefix: str) -> list[str]:
    """Annotation column names of a file set, from the header of its first .annot file."""
    first = next(iter(file_set(prefix, ".annot").values()))
    header = table_columns(existing_table(first, ".annot"))
    return [c for c in header if c not in ANNOT_KEYS]


def _subset(data: RegressionData, columns: list[int]) -> RegressionData:
    return replace(
        data,
        ref_ld=data.ref_ld[:, columns],
        m=data.m[columns],
        names=[data.names[i] for i in columns],
    )


def _fit_row(fit: PartitionedFit) -> dict[str, float]:
    return {
        "h2": fit.h2,
        "h2_se": fit.h2_se,
        "intercept": fit.intercept,
        "intercept_se": fit.intercept_se,
        "mean_chisq": fit.mean_chisq,
        "ratio": fit.ratio,
        "ratio_se": fit.ratio_se,
        "n_snps": fit.n_snps,
        "n_blocks": fit.n_blocks,
    }


def _rows(
    results: pd.DataFrame, fit: PartitionedFit, trait: str, names: list[str], sets: list[str]
) -> list[dict]:
    fit_values = _fit_row(fit)
    records = results.rename(columns=_RENAME).drop(columns="Category").to_dict("records")
    return [
        {"trait": trait, "annotation": name, "set": aset, **record, **fit_values}
        for name, aset, record in zip(names, sets, records, strict=True)
    ]


def regress(
    sumstats: Mapping[str, str | Path],
    baseline: str,
    weights: str,
    *,
    tested: str | None = None,
    frq: str | None = None,
    n_blocks: int = 200,
    chisq_max: float | None = None,
    m_5_50: bool = True,
) -> dict[str, pd.DataFrame]:
    """Per trait (name -> summary statistics): the baseline-only fit (``tested`` None: a
    row per baseline annotation), or one fit per annotation of ``tested`` jointly with the
    baseline (a row per tested annotation). LD scores are read once for all traits.
    ``m_5_50=False`` counts annotation SNPs from ``.l2.M`` (ldsc's ``--not-M-5-50``)."""
    prefixes = [baseline] if tested is None else [baseline, tested]
    names = [annotation_names(p) for p in prefixes]
    all_names = [n for group in names for n in group]
    sets = ["baseline"] * len(names[0]) + (["tested"] * len(names[1]) if tested else [])
    ld = read_ld_inputs(prefixes, weights, common=m_5_50)
    if len(ld.names) + len(ld.dropped) != len(all_names):
        raise ValueError(
            f"{len(ld.names) + len(ld.dropped)} LD score columns but {len(all_names)} "
            f"annotations in the .annot.gz files of {', '.join(prefixes)}"
        )
    kept = [i for i, c in enumerate(_ld_names(prefixes)) if c not in ld.dropped]
    overlap, sums, m_tot = read_overlap(prefixes, frq)
    overlap = overlap[np.ix_(kept, kept)]
    sums = sums[kept]
    kept_names = [all_names[i] for i in kept]
    kept_sets = [sets[i] for i in kept]
    n_base = sum(1 for s in kept_sets if s == "baseline")
    dropped = [all_names[i] for i in range(len(all_names)) if i not in kept and sets[i] == "tested"]
    tables = {}
    for trait, path in sumstats.items():
        data = merge_inputs(path, ld, n_blocks=n_blocks, chisq_max=chisq_max)
        if tested is None:
            fit = fit_partitioned(data)
            rows = _rows(
                overlap_results(fit, overlap, sums, m_tot), fit, trait, kept_names, kept_sets
            )
        else:
            rows = []
            base_idx = list(range(n_base))
            for j in range(n_base, len(ld.names)):
                idx = [*base_idx, j]
                fit = fit_partitioned(_subset(data, idx))
                res = overlap_results(fit, overlap[np.ix_(idx, idx)], sums[idx], m_tot)
                rows += _rows(res.iloc[[-1]], fit, trait, [kept_names[j]], ["tested"])
            # An all-zero annotation (a group no SNP scores in) has no fit: an empty row.
            rows += [{"trait": trait, "annotation": name, "set": "tested"} for name in dropped]
        tables[trait] = pd.DataFrame(rows).reindex(columns=list(RESULT_COLUMNS))
    return tables


def _ld_names(prefixes: list[str]) -> list[str]:
    """Every LD score column name (before zero-variance removal), in file order."""
    names = []
    for i, prefix in enumerate(prefixes):
        first = next(iter(file_set(prefix, ".l2.ldscore").values()))
        header = table_columns(existing_table(first, ".l2.ldscore"))
        names += [f"{c}_{i}" for c in header if c not in ("CHR", "SNP", "BP", "MAF", "CM")]
    return names
