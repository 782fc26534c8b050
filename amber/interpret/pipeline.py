"""One model's interpretation, in memory: attributions -> motifs -> JASPAR matches ->
(on the simulated genome) scores against the planted truth.

Sequences are ``(row, feature)`` pairs: by default every positive window of every TF
feature (:func:`select_pairs`), at most ``max_per_feature`` per feature. TF-MoDISco runs
once over all pairs together (its seqlets come from every feature's attributions), so
the motifs it finds are the model's vocabulary across factors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from amber.interpret import attributions, discovery, matching, truth
from amber.interpret.config import InterpretConfig
from amber.progress import Progress

log = logging.getLogger("amber")


@dataclass
class Interpretation:
    """Everything :func:`interpret` computes for one model (arrays in pair order)."""

    rows: np.ndarray  # (P,) row of each pair in the sequence set
    features: np.ndarray  # (P,) output index explained
    hypothetical: np.ndarray  # (P, 4, L) float32 DeepLIFT/SHAP hypothetical contributions
    ism_pairs: np.ndarray  # (M,) pairs also scored by ISM
    ism: np.ndarray  # (M, 4, L) float32
    motifs: list[discovery.Motif]
    patterns: tuple  # modisco-lite's (pos_patterns, neg_patterns), for its HDF5 writer
    p: np.ndarray  # (motifs, database) TOMTOM p-values
    q: np.ndarray  # (motifs, database) q-values
    attribution_seconds: float  # wall time of the DeepLIFT/SHAP attributions

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Actual contributions ``(P, L)``: hypothetical x one-hot, summed over bases."""
        return (self.hypothetical * x[self.rows]).sum(axis=1)


def select_pairs(
    y: np.ndarray, features: Sequence[int], max_per_feature: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, features)`` of the positive windows of each feature in ``features``
    (a seeded sample of ``max_per_feature`` where there are more; None = all)."""
    rng = np.random.default_rng(seed)
    rows, feats = [], []
    for f in features:
        pos = np.flatnonzero(y[:, f] > 0)
        if max_per_feature is not None and len(pos) > max_per_feature:
            pos = np.sort(rng.choice(pos, size=max_per_feature, replace=False))
        rows.append(pos)
        feats.append(np.full(len(pos), f))
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows).astype(np.int64), np.concatenate(feats).astype(np.int64)


def interpret(
    model: nn.Module,
    x: np.ndarray,
    rows: np.ndarray,
    features: np.ndarray,
    db: matching.MotifDatabase,
    config: InterpretConfig,
    device: str | torch.device = "cpu",
) -> Interpretation:
    """Attributions of ``features[i]`` on sequence ``x[rows[i]]`` (``x`` float one-hot
    ``(N, 4, L)``), TF-MoDISco motifs, first-layer filter motifs and their TOMTOM
    matches against ``db``."""
    xt = torch.as_tensor(x, dtype=torch.float32)
    length = x.shape[-1]
    hyp = np.zeros((len(rows), 4, length), dtype=np.float32)
    started = time.perf_counter()
    for f in Progress(np.unique(features), desc="attributions", total=len(np.unique(features))):
        idx = np.flatnonzero(features == f)
        hyp[idx] = attributions.deep_lift_shap(
            model,
            xt[rows[idx]],
            int(f),
            n_shuffles=config.n_shuffles,
            batch_size=config.batch_size,
            device=device,
            seed=config.seed,
        ).numpy()
    attribution_seconds = time.perf_counter() - started
    ism_pairs = np.arange(min(config.ism_sequences, len(rows)))
    ism = np.zeros((len(ism_pairs), 4, length), dtype=np.float32)
    for r in np.unique(rows[ism_pairs]):
        idx = ism_pairs[rows[ism_pairs] == r]
        scores = attributions.ism(model, xt[[r]], [int(f) for f in features[idx]], device=device)
        ism[idx] = scores[0].numpy()
    one_hot = x[rows]
    pos, neg = discovery.run_modisco(one_hot, hyp, config.modisco())
    motifs = discovery.modisco_motifs(pos, neg, discovery.ModiscoParams().trim_threshold)
    log.info("TF-MoDISco: %d motif(s) from %d sequences", len(motifs), len(rows))
    motifs += discovery.filter_motifs(
        model,
        xt[np.unique(rows)] if len(rows) else xt,
        activation_fraction=config.filter_activation,
        min_sites=config.filter_min_sites,
    )
    p, q = matching.tomtom([m.ppm for m in motifs], db)
    return Interpretation(
        rows, features, hyp, ism_pairs, ism, motifs, (pos, neg), p, q, attribution_seconds
    )


def match_table(interp: Interpretation, db: matching.MotifDatabase, q_threshold: float):
    """matches.tsv: one row per discovered motif with its best JASPAR match."""
    best = matching.best_matches([m.name for m in interp.motifs], interp.p, interp.q, db)
    best.insert(1, "source", [m.source for m in interp.motifs])
    best.insert(2, "n_sites", [m.n_sites for m in interp.motifs])
    best.insert(3, "length", [len(m.ppm) for m in interp.motifs])
    best["significant"] = best["q_value"] < q_threshold
    return best


def score_against_truth(
    interp: Interpretation,
    x: np.ndarray,
    chrom: Sequence[str],
    start: np.ndarray,
    feature_tfs: Mapping[int, str],
    instances: pd.DataFrame,
    db: matching.MotifDatabase,
    q_threshold: float,
) -> tuple[pd.DataFrame, dict]:
    """truth.tsv rows (one per planted TF) and the summary (recall, precision, AUROC).

    ``feature_tfs`` maps an output index to its TF name (its assay). Recovery counts
    TF-MoDISco motifs; ``recovered_by_filters`` the first-layer filters, for comparison.
    """
    planted = truth.planted_motifs(instances)
    by_upper = {tf.upper(): tf for tf in planted}
    pair_tfs = np.array(
        [by_upper.get(feature_tfs.get(int(f), "").upper(), "") for f in interp.features]
    )
    asked = sorted({t for t in pair_tfs if t})
    contrib = interp.contributions(x)
    chrom = np.asarray(chrom)
    aurocs = {}
    for tf in asked:
        idx = np.flatnonzero(pair_tfs == tf)
        rows = interp.rows[idx]
        mask = truth.truth_mask(chrom[rows], start[rows], x.shape[-1], instances, tf)
        aurocs[tf] = truth.attribution_auroc(contrib[idx], mask)
    names = [m.name for m in interp.motifs]
    sources = np.array([m.source for m in interp.motifs])
    tables = {}
    summaries = {}
    for source in ("modisco", "filter"):
        keep = np.flatnonzero(sources == source) if len(sources) else np.zeros(0, int)
        tables[source], summaries[source] = truth.score_truth(
            planted,
            asked,
            [names[i] for i in keep],
            interp.q[keep],
            db.ids,
            aurocs,
            q_threshold,
        )
    table = tables["modisco"]
    table["n_sequences"] = [int(np.sum(pair_tfs == tf)) for tf in table["tf"]]
    table["recovered_by_filters"] = tables["filter"]["recovered"].to_numpy()
    table["filter_q_value"] = tables["filter"]["q_value"].to_numpy()
    summary = {
        **summaries["modisco"],
        "filter_recall": summaries["filter"]["recall"],
        "filter_precision": summaries["filter"]["precision"],
    }
    return table, summary
