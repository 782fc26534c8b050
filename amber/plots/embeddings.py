"""Fig. 3b: PCA of the controller's op embedding vectors, one panel per searched replicate.

PCA is per replicate (each controller learns its own embedding space). The sign of a
principal component is arbitrary, so each is oriented to put the reference op (``identity``
when present, else the last op) on its positive side; panels of different replicates are
then comparable by eye.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from amber.plots.render import new_figure, save_figure
from amber.plots.tables import read_op_embeddings


def pca_2d(matrix: np.ndarray, reference: int) -> tuple[np.ndarray, list[float]]:
    """Scores (n, 2) on the first two principal components and their explained-variance
    ratios; components are oriented so row ``reference`` scores >= 0."""
    if matrix.ndim != 2 or matrix.shape[0] < 2:
        raise ValueError(f"PCA needs at least two embedding vectors, got shape {matrix.shape}")
    centred = matrix - matrix.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    scores = u * s
    total = float((s**2).sum())
    ratios = (s**2 / total).tolist() if total > 0 else [0.0] * len(s)
    # Fewer than three ops (or rank-deficient data) leaves PC2 empty: pad with zeros.
    if scores.shape[1] < 2:
        scores = np.hstack([scores, np.zeros((scores.shape[0], 2 - scores.shape[1]))])
        ratios = ratios + [0.0] * (2 - len(ratios))
    scores = scores[:, :2].copy()
    signs = np.where(scores[reference] < 0, -1.0, 1.0)
    return scores * signs, ratios[:2]


def summarise_embeddings(
    embeddings: Mapping[str, tuple[list[str], np.ndarray]],
) -> dict[str, Any]:
    """Replicate name -> (ops, matrix)  ==>  the numbers Fig. 3b shows (the sidecar)."""
    if not embeddings:
        raise ValueError("fig3b needs at least one op_embeddings table")
    panels = []
    for name, (ops, matrix) in embeddings.items():
        reference = ops.index("identity") if "identity" in ops else len(ops) - 1
        scores, ratios = pca_2d(np.asarray(matrix, dtype=float), reference)
        panels.append(
            {
                "title": name,
                "x_label": f"PC1 ({100 * ratios[0]:.0f}% of variance)",
                "y_label": f"PC2 ({100 * ratios[1]:.0f}% of variance)",
                "explained_variance": ratios,
                "reference_op": ops[reference],
                "series": [
                    {"label": op, "x": [float(scores[k, 0])], "y": [float(scores[k, 1])]}
                    for k, op in enumerate(ops)
                ],
            }
        )
    return {
        "figure": "fig3b",
        "title": "PCA of the controller's op embeddings",
        "replicates": list(embeddings),
        "panels": panels,
    }


def draw_embeddings(summary: dict[str, Any]):
    """The Fig. 3b figure from :func:`summarise_embeddings`'s output."""
    from matplotlib import colormaps

    ops = list(dict.fromkeys(s["label"] for p in summary["panels"] for s in p["series"]))
    palette = colormaps["tab10"] if len(ops) <= 10 else colormaps["tab20"]
    colours = {op: palette(i) for i, op in enumerate(ops)}
    n = len(summary["panels"])
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig = new_figure(3.4 * ncols, 3.2 * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, panel in zip(axes, summary["panels"], strict=False):
        for s in panel["series"]:
            ax.scatter(
                s["x"],
                s["y"],
                s=36,
                color=colours[s["label"]],
                edgecolor="black",
                linewidth=0.5,
                zorder=3,
            )
            ax.annotate(
                s["label"],
                (s["x"][0], s["y"][0]),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=8,
            )
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.margins(0.25)
        ax.set_title(panel["title"], fontsize=10)
        ax.set_xlabel(panel["x_label"], fontsize=9)
        ax.set_ylabel(panel["y_label"], fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(summary["title"], fontsize=11)
    return fig


def plot_embeddings(
    embeddings: Mapping[str, str | Path | tuple[list[str], np.ndarray]], out: str | Path
) -> Path:
    """Fig. 3b from replicate name -> op_embeddings.tsv path (or (ops, matrix)); writes PNG,
    PDF and JSON beside ``out``; returns the PNG path."""
    loaded = {
        name: e if isinstance(e, tuple) else read_op_embeddings(e) for name, e in embeddings.items()
    }
    summary = summarise_embeddings(loaded)
    return save_figure(draw_embeddings(summary), out, summary)
