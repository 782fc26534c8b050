"""The ASB benchmark (paper Fig. 4a): how well variant scores separate loss-/gain-of-binding
variants from neutral ones, per TF.

Methods and their variant scores (all oriented so that positive = the alt allele binds
more, negative = it binds less):

* ``model`` - one trained model: logfc = logit(P(alt)) - logit(P(ref)) at the TF's
  feature(s) (:mod:`amber.asb.scores`);
* ``group`` - a set of models (e.g. ``searched`` = searched_1..n): per variant, the mean of
  its members' rank-transformed scores (:func:`rank_transform`), a consensus that weighs
  every model equally whatever the scale of its logits; members are also reported alone
  (kind ``member``);
* ``pwm`` - the model-free baseline: change of the TF's best JASPAR PWM match
  (:mod:`amber.asb.pwm`);
* ``table`` - precomputed scores brought by the table (``score_<method>`` columns).

AUROC per TF: loss vs neutral with the score sign flipped (a loss should score negative,
so ``-score`` ranks losses first) and gain vs neutral with the score as is. A (TF, class)
enters only with >= ``min_per_class`` variants of the class and as many neutral ones
(reads filter and classes: :mod:`amber.asb.stats`). Direction accuracy: on called
loss/gain variants where the groups' scores disagree in sign (sign 0 counts as its own
sign and as wrong), the share whose sign matches the observed direction. Paired Wilcoxon
signed-rank tests compare the per-TF AUROCs of every pair of shown methods.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata, wilcoxon

from amber.asb.stats import CallRules, call_classes
from amber.asb.table import SCORE_PREFIX, read_asb_table, score_columns
from amber.fileio import atomic_path

log = logging.getLogger("amber")

SHOWN_KINDS = ("group", "model", "table", "pwm")  # kinds drawn in Fig. 4a (not "member")
OUTPUTS = (
    "asb_calls.tsv",
    "asb_auroc.tsv",
    "asb_tfs.tsv",
    "direction_accuracy.tsv",
    "wilcoxon.tsv",
    "asb_summary.json",
)


WILCOXON_COLUMNS = (
    "class",
    "method_a",
    "method_b",
    "n_tfs",
    "median_a",
    "median_b",
    "mean_difference",
    "statistic",
    "pvalue",
)


@dataclass(frozen=True)
class Method:
    name: str
    kind: str  # group | member | model | table | pwm
    scores: np.ndarray  # per table row, NaN = no score


def rank_transform(x: np.ndarray) -> np.ndarray:
    """Signed rank transform to [-1, 1] keeping 0 at 0: positives become rank / n_pos among
    positives, negatives -rank(|x|) / n_neg among negatives (ties share the average rank);
    NaN stays NaN. Monotone, so each method's AUROC is unchanged."""
    x = np.asarray(x, dtype=float)
    out = np.where(np.isnan(x), np.nan, 0.0)
    for sign in (1.0, -1.0):
        sel = np.flatnonzero(np.nan_to_num(x * sign, nan=0.0) > 0)
        if len(sel):
            out[sel] = sign * rankdata(np.abs(x[sel])) / len(sel)
    return out


def auroc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """P(score of a positive > score of a negative) + 0.5 P(tie) (Mann-Whitney form)."""
    pos = np.asarray(positives, dtype=float)
    neg = np.asarray(negatives, dtype=float)
    pos, neg = pos[~np.isnan(pos)], neg[~np.isnan(neg)]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def group_scores(members: Sequence[np.ndarray]) -> np.ndarray:
    """Mean rank-transformed score of a group's models (NaN only where all are NaN)."""
    stacked = np.vstack([rank_transform(m) for m in members])
    n = (~np.isnan(stacked)).sum(axis=0)
    total = np.nansum(stacked, axis=0)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def tf_counts(calls: pd.DataFrame, rules: CallRules) -> pd.DataFrame:
    """Per TF: variants per class among benchmarked rows and whether each class enters."""
    sub = calls[calls["benchmarked"]]
    counts = (
        sub.groupby(["tf", "call"]).size().unstack(fill_value=0) if len(sub) else pd.DataFrame()
    )
    tfs = sorted(calls["tf"].unique(), key=str.upper)
    out = pd.DataFrame({"tf": tfs})
    for cls in ("loss", "gain", "neutral"):
        col = counts[cls] if cls in counts else pd.Series(dtype=int)
        out[f"n_{cls}"] = [int(col.get(tf, 0)) for tf in tfs]
    enough_neutral = out["n_neutral"] >= rules.min_per_class
    for cls in ("loss", "gain"):
        out[f"{cls}_included"] = (out[f"n_{cls}"] >= rules.min_per_class) & enough_neutral
    return out


def auroc_table(calls: pd.DataFrame, methods: Sequence[Method], tfs: pd.DataFrame) -> pd.DataFrame:
    """AUROC per (TF, class, method) for the (TF, class) pairs that pass the filter."""
    rows = []
    bench = calls["benchmarked"].to_numpy()
    call = calls["call"].to_numpy()
    tf_col = calls["tf"].to_numpy()
    for _, t in tfs.iterrows():
        in_tf = bench & (tf_col == t["tf"])
        neutral = in_tf & (call == "neutral")
        for cls, sign in (("loss", -1.0), ("gain", 1.0)):
            if not t[f"{cls}_included"]:
                continue
            pos = in_tf & (call == cls)
            for m in methods:
                s = sign * m.scores
                p, n = s[pos], s[neutral]
                rows.append(
                    {
                        "tf": t["tf"],
                        "class": cls,
                        "method": m.name,
                        "kind": m.kind,
                        "auroc": auroc(p, n),
                        "n_pos": int(np.isfinite(p).sum()),
                        "n_neutral": int(np.isfinite(n).sum()),
                    }
                )
    cols = ["tf", "class", "method", "kind", "auroc", "n_pos", "n_neutral"]
    return pd.DataFrame(rows, columns=cols)


def direction_accuracy(
    calls: pd.DataFrame, methods: Sequence[Method], judges: Sequence[str]
) -> pd.DataFrame:
    """Accuracy of each method's sign on called loss/gain rows: on all of them (scope
    ``all``) and on those where the ``judges`` (method names) disagree in sign."""
    by_name = {m.name: m for m in methods}
    allelic = calls["benchmarked"].to_numpy() & calls["call"].isin(["loss", "gain"]).to_numpy()
    truth = np.where(calls["call"].to_numpy() == "gain", 1.0, -1.0)
    if len(judges) >= 2:
        signs = np.vstack([np.sign(by_name[j].scores) for j in judges])
        scored = ~np.isnan(signs).any(axis=0)
        signs = np.nan_to_num(signs)
        disagree = allelic & scored & (signs.max(axis=0) != signs.min(axis=0))
    else:
        disagree = np.zeros(len(calls), dtype=bool)
    rows = []
    for scope, subset in (("disagree", disagree), ("all", allelic)):
        for m in methods:
            ok = subset & ~np.isnan(m.scores)
            correct = int((np.sign(m.scores[ok]) == truth[ok]).sum())
            n = int(ok.sum())
            rows.append(
                {
                    "scope": scope,
                    "method": m.name,
                    "kind": m.kind,
                    "n": n,
                    "n_correct": correct,
                    "accuracy": correct / n if n else float("nan"),
                    "judges": ",".join(judges),
                }
            )
    return pd.DataFrame(rows)


def wilcoxon_table(aurocs: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Paired two-sided Wilcoxon signed-rank test of per-TF AUROCs for each pair of methods
    (first minus second), per class; NaN p-value when fewer than 2 TFs or no difference."""
    rows = []
    for cls in ("loss", "gain"):
        wide = aurocs[aurocs["class"] == cls].pivot_table(
            index="tf", columns="method", values="auroc", aggfunc="first"
        )
        for a, b in itertools.combinations(names, 2):
            if a not in wide or b not in wide:
                continue
            pair = wide[[a, b]].dropna()
            diff = (pair[a] - pair[b]).to_numpy()
            stat = p = float("nan")
            if len(pair) >= 2 and np.any(diff != 0):
                res = wilcoxon(pair[a].to_numpy(), pair[b].to_numpy())
                stat, p = float(res.statistic), float(res.pvalue)
            rows.append(
                {
                    "class": cls,
                    "method_a": a,
                    "method_b": b,
                    "n_tfs": len(pair),
                    "median_a": float(pair[a].median()) if len(pair) else float("nan"),
                    "median_b": float(pair[b].median()) if len(pair) else float("nan"),
                    "mean_difference": float(diff.mean()) if len(diff) else float("nan"),
                    "statistic": stat,
                    "pvalue": p,
                }
            )
    return pd.DataFrame(rows, columns=list(WILCOXON_COLUMNS))


def build_methods(
    table: pd.DataFrame,
    model_scores: Mapping[str, np.ndarray],
    groups: Mapping[str, Sequence[str]],
    pwm_scores: np.ndarray | None,
) -> list[Method]:
    """Methods in display order: groups, their members, other models, table scores, PWM."""
    grouped = [m for members in groups.values() for m in members]
    unknown = sorted(set(grouped) - set(model_scores))
    if unknown:
        raise ValueError(f"--groups names model(s) without --scores: {', '.join(unknown)}")
    methods = [
        Method(g, "group", group_scores([model_scores[m] for m in members]))
        for g, members in groups.items()
    ]
    methods += [Method(m, "member", model_scores[m]) for m in grouped]
    methods += [Method(m, "model", s) for m, s in model_scores.items() if m not in grouped]
    methods += [
        Method(c[len(SCORE_PREFIX) :], "table", table[c].to_numpy(dtype=float))
        for c in score_columns(table)
    ]
    if pwm_scores is not None:
        methods.append(Method("pwm", "pwm", np.asarray(pwm_scores, dtype=float)))
    names = [m.name for m in methods]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"method name(s) used twice (models, groups, score_ columns): {dup}")
    return methods


def run_benchmark(
    table_path: str | Path,
    features_path: str | Path,
    model_paths: Mapping[str, str | Path],
    groups: Mapping[str, Sequence[str]],
    out_dir: str | Path,
    rules: CallRules,
    *,
    pwms: Mapping[str, np.ndarray] | None = None,
    fasta: str | Path | None = None,
) -> dict:
    """Run the whole benchmark and write :data:`OUTPUTS` into ``out_dir``; returns the
    summary. ``pwms`` (TF -> log-odds PWM, upper-case keys) needs ``fasta``."""
    from amber.asb.scores import map_features, model_row_scores
    from amber.data.features import read_features

    table = read_asb_table(table_path)
    calls = call_classes(table, rules)
    features = read_features(features_path)
    row_features, mapping = map_features(table, features)
    calls["features"] = [";".join(f) for f in row_features]
    calls["mapping"] = mapping
    mapped = np.array([bool(f) for f in row_features])
    if model_paths and not mapped.any():
        raise ValueError(
            f"no TF of {table_path} matches the assay column of {features_path} "
            "(TF names are compared case-insensitively)"
        )
    # With models, only TFs the models predict are benchmarked (as in the paper).
    calls["benchmarked"] = mapped if model_paths else np.ones(len(calls), dtype=bool)
    unmapped = sorted(set(table.loc[~mapped, "tf"]))
    if unmapped and model_paths:
        log.warning("asb: TF(s) without a model feature, left out: %s", ", ".join(unmapped))

    order = [f.name for f in features]
    model_scores = {
        name: model_row_scores(table, row_features, path, order)
        for name, path in model_paths.items()
    }
    pwm_scores = None
    if pwms:
        if fasta is None:
            raise ValueError("the PWM baseline needs --fasta (the genome of the variants)")
        from amber.asb.genome import load_chromosomes
        from amber.asb.pwm import pwm_delta_scores

        genome, _ = load_chromosomes(fasta, set(table["chrom"]))
        pwm_scores = pwm_delta_scores(table, pwms, genome)

    methods = build_methods(table, model_scores, groups, pwm_scores)
    for m in methods:
        if m.kind in ("group", "member", "model", "pwm"):
            calls[f"{SCORE_PREFIX}{m.name}"] = m.scores
    tfs = tf_counts(calls, rules)
    aurocs = auroc_table(calls, methods, tfs)
    judges = [m.name for m in methods if m.kind == "group"]
    if len(judges) < 2:
        judges = [m.name for m in methods if m.kind in ("member", "model")]
    direction = direction_accuracy(calls, methods, judges)
    shown = [m.name for m in methods if m.kind in SHOWN_KINDS]
    tests = wilcoxon_table(aurocs, shown)

    summary = {
        "rules": asdict(rules),
        "n_rows": int(len(calls)),
        "calls": {k: int(v) for k, v in calls["call"].value_counts().items()},
        "mapping": {k: int(v) for k, v in calls["mapping"].value_counts().items()},
        "methods": {m.name: m.kind for m in methods},
        "groups": {g: list(v) for g, v in groups.items()},
        "tfs_loss": tfs.loc[tfs["loss_included"], "tf"].tolist(),
        "tfs_gain": tfs.loc[tfs["gain_included"], "tf"].tolist(),
        "tfs_excluded": tfs.loc[~tfs["loss_included"] & ~tfs["gain_included"], "tf"].tolist(),
        "median_auroc": {
            f"{cls}/{name}": float(g["auroc"].median())
            for (cls, name), g in aurocs.groupby(["class", "method"])
        },
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    calls["benchmarked"] = calls["benchmarked"].astype(int)
    for name, frame in (
        ("asb_calls.tsv", calls),
        ("asb_auroc.tsv", aurocs),
        ("asb_tfs.tsv", tfs),
        ("direction_accuracy.tsv", direction),
        ("wilcoxon.tsv", tests),
    ):
        with atomic_path(out_dir / name) as tmp:
            frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    with atomic_path(out_dir / "asb_summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary
