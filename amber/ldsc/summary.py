"""Across models and traits: FDR, searched vs sampled, and the numbers behind Fig. 5.

Inputs: per model x trait result tables of :func:`amber.ldsc.sldsc.regress` (tested
annotations), each model's ``annotations.tsv``, the baseline-only table per trait and,
for simulated data, the truth annotation's table per trait and ``truth.json``.

- Benjamini-Hochberg q-values per model and annotation kind, over all its annotations x
  traits: enrichment p for binary annotations, coefficient (tau) p for continuous ones.
  An annotation is *significantly enriched* when q < ``fdr`` and enrichment > 1 (binary)
  or tau > 0 (continuous).
- Traits whose baseline fit has ``ratio = (intercept - 1) / (mean chi2 - 1) >= max_ratio``
  are left out of the comparison (the paper kept ratio < 10%).
- Per trait (``traits.tsv``): significant binary annotations per searched and per sampled
  model (means over models) and their fold change; over the annotations significant in
  any model, the median log fold change of enrichment, mean over searched models vs mean
  over sampled ones (the paper's Fig. 5a); the proportion of baseline annotations with
  enrichment q < ``fdr`` (Fig. 5b's x axis); the truth annotation's enrichment.
- Per model (``models.tsv``): mean enrichment over (trait, annotation) pairs significant in
  any model (all binary pairs when fewer than 10 are), its fold change over the reference
  model (the paper's "over AMBER-Seq"),
  the number of significant annotations, and the model's mean test AUROC when an
  evaluation summary is given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from amber.fileio import atomic_path
from amber.ldsc.fsutil import write_table
from amber.naming import model_group
from amber.stats import bh_fdr

log = logging.getLogger("amber")


def read_auroc(path: str | Path | None) -> dict[str, float]:
    """Model -> mean test AUROC from evaluate/summary.tsv, read tolerantly: a ``model`` (or
    ``name``) column, an ``auroc``-like column, and the ``all`` row when a ``category``
    column exists. Missing file or columns -> {} with a warning."""
    if path is None:
        return {}
    path = Path(path)
    try:
        table = pd.read_csv(path, sep="\t")
    except (FileNotFoundError, pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        log.warning("%s: no test AUROC read (%s)", path, exc)
        return {}
    lower = {c.lower(): c for c in table.columns}
    name_col = lower.get("model") or lower.get("name")
    auroc_col = next(
        (lower[c] for c in ("auroc", "mean_auroc", "test_auroc", "auroc_mean") if c in lower),
        None,
    )
    if name_col is None or auroc_col is None:
        log.warning("%s: no model/auroc columns (has %s)", path, ", ".join(table.columns))
        return {}
    if "category" in lower:
        table = table.loc[table[lower["category"]].astype(str) == "all"]
    values = pd.to_numeric(table[auroc_col], errors="coerce")
    return {str(n): float(v) for n, v in zip(table[name_col], values, strict=True)}


def combine(
    tables: Mapping[str, list[str | Path]],
    annotations: Mapping[str, str | Path],
) -> pd.DataFrame:
    """All tested-annotation rows: model -> its per-trait tables; adds model, group, and the
    annotation description (kind, group_type, group)."""
    parts = []
    for model, paths in tables.items():
        described = pd.read_csv(annotations[model], sep="\t")
        for path in paths:
            table = pd.read_csv(path, sep="\t")
            table.insert(0, "group", model_group(model, strict=False))
            table.insert(0, "model", model)
            table = table.merge(
                described[["annotation", "kind", "group_type", "group"]].rename(
                    columns={"group": "feature_group"}
                ),
                on="annotation",
                how="left",
            )
            parts.append(table)
    if not parts:
        raise ValueError("no regression tables to summarise")
    return pd.concat(parts, ignore_index=True)


def add_fdr(table: pd.DataFrame, fdr: float) -> pd.DataFrame:
    table = table.copy()
    table["test_p"] = np.where(
        table["kind"] == "continuous", table["coef_p"], table["enrichment_p"]
    )
    table["q"] = np.nan
    for _, idx in table.groupby(["model", "kind"]).groups.items():
        table.loc[idx, "q"] = bh_fdr(table.loc[idx, "test_p"].to_numpy())
    positive = np.where(table["kind"] == "continuous", table["coef"] > 0, table["enrichment"] > 1)
    table["significant"] = (table["q"] < fdr) & positive
    return table


def summarise(
    results: pd.DataFrame,
    baseline: Mapping[str, str | Path],
    *,
    truth: Mapping[str, str | Path] | None = None,
    truth_json: str | Path | None = None,
    auroc: Mapping[str, float] | None = None,
    fdr: float = 0.05,
    max_ratio: float | None = None,
    reference_model: str | None = None,
) -> dict[str, Any]:
    """Tables ``enrichment`` (all rows + q), ``traits``, ``models`` and headline numbers."""
    table = add_fdr(results, fdr)
    auroc = dict(auroc or {})
    planted = {}
    if truth_json is not None:
        planted = json.loads(Path(truth_json).read_text()).get("traits", {})
    trait_rows = []
    for trait, path in baseline.items():
        base = pd.read_csv(path, sep="\t")
        q = bh_fdr(base.loc[base["annotation"] != "base", "enrichment_p"].to_numpy())
        ratio = float(base["ratio"].iloc[0])
        kept = max_ratio is None or not np.isfinite(ratio) or ratio < max_ratio
        row: dict[str, Any] = {
            "trait": trait,
            "h2": float(base["h2"].iloc[0]),
            "h2_se": float(base["h2_se"].iloc[0]),
            "intercept": float(base["intercept"].iloc[0]),
            "mean_chisq": float(base["mean_chisq"].iloc[0]),
            "ratio": ratio,
            "kept": bool(kept),
            "baseline_prop_significant": float(np.mean(q < fdr)) if q.size else np.nan,
        }
        if truth is not None and trait in truth:
            t = pd.read_csv(truth[trait], sep="\t").iloc[0]
            row.update(
                truth_enrichment=float(t["enrichment"]),
                truth_enrichment_se=float(t["enrichment_se"]),
                truth_enrichment_p=float(t["enrichment_p"]),
            )
        if trait in planted:
            row["planted_enrichment"] = float(planted[trait]["enrichment"])
            row["realised_enrichment"] = float(planted[trait]["realised_enrichment"])
        trait_rows.append(row)
    traits = pd.DataFrame(trait_rows)
    kept_traits = set(traits.loc[traits["kept"], "trait"]) if len(traits) else set()
    binary = table.loc[(table["kind"] == "binary") & table["trait"].isin(kept_traits)]

    for i, row in traits.iterrows():
        part = binary.loc[binary["trait"] == row["trait"]]
        counts = part.groupby(["model", "group"])["significant"].sum().reset_index()
        n_s = counts.loc[counts["group"] == "searched", "significant"]
        n_r = counts.loc[counts["group"] == "sampled", "significant"]
        traits.loc[i, "n_sig_searched"] = float(n_s.mean()) if len(n_s) else np.nan
        traits.loc[i, "n_sig_sampled"] = float(n_r.mean()) if len(n_r) else np.nan
        union = part.loc[part["significant"], "annotation"].unique()
        lfc = _log_fold_changes(part, union)
        traits.loc[i, "n_union"] = len(union)
        traits.loc[i, "median_log_fc"] = float(np.median(lfc)) if len(lfc) else np.nan
    if len(traits):
        traits["fold_change_n_sig"] = traits["n_sig_searched"] / traits["n_sig_sampled"].replace(
            0, np.nan
        )

    models = _model_table(binary, auroc, reference_model)
    headline = {
        "fdr": fdr,
        "traits_kept": sorted(kept_traits),
        "n_sig_searched_total": float(traits.loc[traits["kept"], "n_sig_searched"].sum())
        if len(traits)
        else 0.0,
        "n_sig_sampled_total": float(traits.loc[traits["kept"], "n_sig_sampled"].sum())
        if len(traits)
        else 0.0,
        "reference_model": models.attrs.get("reference_model"),
    }
    s, r = headline["n_sig_searched_total"], headline["n_sig_sampled_total"]
    headline["fold_change_n_sig"] = s / r if r else None
    if len(models) >= 3 and models["auroc"].notna().sum() >= 3:
        ok = models.dropna(subset=["auroc", "fold_change"])
        if len(ok) >= 3 and ok["auroc"].std() > 0 and ok["fold_change"].std() > 0:
            from scipy import stats

            pr = stats.pearsonr(ok["auroc"], ok["fold_change"])
            headline["pearson_auroc_fold_change"] = {
                "r": float(pr.statistic),
                "p": float(pr.pvalue),
                "n": len(ok),
            }
    return {"enrichment": table, "traits": traits, "models": models, "headline": headline}


def _log_fold_changes(part: pd.DataFrame, annotations) -> np.ndarray:
    """log(mean searched enrichment) - log(mean sampled) per annotation (both > 0)."""
    sub = part.loc[part["annotation"].isin(annotations)]
    means = sub.groupby(["annotation", "group"])["enrichment"].mean().unstack()
    if "searched" not in means or "sampled" not in means:
        return np.array([])
    ok = (means["searched"] > 0) & (means["sampled"] > 0)
    return np.log(means.loc[ok, "searched"] / means.loc[ok, "sampled"]).to_numpy()


def _model_table(
    binary: pd.DataFrame, auroc: Mapping[str, float], reference: str | None, min_pairs: int = 10
) -> pd.DataFrame:
    """Per model: mean enrichment over the (trait, annotation) pairs significant in any model
    (the paper's choice) when there are at least ``min_pairs`` of them, else over all
    binary pairs (``pairs`` says which), and its fold change over the reference model."""
    sig_pairs = binary.loc[binary["significant"], ["trait", "annotation"]].drop_duplicates()
    use_sig = len(sig_pairs) >= min_pairs
    rows = []
    for model, part in binary.groupby("model", sort=True):
        chosen = part.merge(sig_pairs, on=["trait", "annotation"]) if use_sig else part
        rows.append(
            {
                "model": model,
                "group": model_group(model, strict=False),
                "mean_enrichment": float(chosen["enrichment"].mean()) if len(chosen) else np.nan,
                "pairs": "significant" if use_sig else "all",
                "n_pairs": int(len(chosen)),
                "n_significant": int(part["significant"].sum()),
                "auroc": auroc.get(model, np.nan),
            }
        )
    models = pd.DataFrame(
        rows,
        columns=["model", "group", "mean_enrichment", "pairs", "n_pairs", "n_significant", "auroc"],
    )
    if models.empty:
        models["fold_change"] = []
        return models
    if reference is None or reference not in set(models["model"]):
        searched = models.loc[models["group"] == "searched"]
        pool = searched if len(searched) else models
        best = pool.sort_values("auroc", ascending=False, na_position="last")
        reference = str(best["model"].iloc[0])
    ref_value = float(models.loc[models["model"] == reference, "mean_enrichment"].iloc[0])
    models["fold_change"] = models["mean_enrichment"] / ref_value if ref_value else np.nan
    models.attrs["reference_model"] = reference
    return models


def write_summary(summary: dict[str, Any], out_dir: str | Path) -> None:
    out_dir = Path(out_dir)
    write_table(summary["enrichment"], out_dir / "enrichment.tsv", float_format="%.6g")
    write_table(summary["traits"], out_dir / "traits.tsv", float_format="%.6g")
    write_table(summary["models"], out_dir / "models.tsv", float_format="%.6g")
    with atomic_path(out_dir / "summary.json") as tmp:
        tmp.write_text(json.dumps(_plain(summary["headline"]), indent=1) + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
