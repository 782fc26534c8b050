"""Fig. 5: heritability enrichment of the models' variant annotations (S-LDSC).

a. Per trait, the enrichment of every binary annotation, searched models vs sampled
   models (significant ones drawn large), with the truth annotation's enrichment
   (+- 1.96 SE) and the planted value when the GWAS is simulated.
b. Per trait, log fold change of enrichment, searched over sampled, per annotation
   significant in any model (the paper's Fig. 5a).
c. Per model, mean test AUROC vs fold change of mean enrichment over the reference model
   (the paper's Supplementary Table 3 correlation).

Drawn from the summary tables of :mod:`amber.ldsc.summary`; PNG + PDF + a JSON sidecar
with the plotted numbers (:mod:`amber.plots.render`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from amber.plots.render import GROUP_COLOURS, new_figure, save_figure


def figure_data(
    enrichment: pd.DataFrame, traits: pd.DataFrame, models: pd.DataFrame, headline: dict
) -> dict[str, Any]:
    kept = traits.loc[traits["kept"].astype(bool)] if len(traits) else traits
    trait_names = list(kept["trait"])
    binary = enrichment.loc[
        (enrichment["kind"] == "binary") & enrichment["trait"].isin(trait_names)
    ]
    series_a = []
    for group in ("searched", "sampled"):
        ys, sig = [], []
        for trait in trait_names:
            part = binary.loc[(binary["trait"] == trait) & (binary["group"] == group)]
            part = part.loc[np.isfinite(part["enrichment"].to_numpy(dtype=float))]
            ys.append([float(v) for v in part["enrichment"]])
            sig.append([bool(v) for v in part["significant"]])
        series_a.append({"label": group, "x": trait_names, "y": ys, "significant": sig})
    truth = None
    if "truth_enrichment" in kept.columns:
        truth = {
            "label": "truth annotation",
            "x": trait_names,
            "y": [float(v) for v in kept["truth_enrichment"]],
            "se": [float(v) for v in kept["truth_enrichment_se"]],
            "planted": [
                float(v)
                for v in kept.get("planted_enrichment", pd.Series(np.nan, index=kept.index))
            ],
        }
    lfc = []
    for trait in trait_names:
        part = binary.loc[binary["trait"] == trait]
        union = part.loc[part["significant"].astype(bool), "annotation"].unique()
        means = (
            part.loc[part["annotation"].isin(union)]
            .groupby(["annotation", "group"])["enrichment"]
            .mean()
            .unstack()
        )
        if {"searched", "sampled"} <= set(means.columns):
            ok = (means["searched"] > 0) & (means["sampled"] > 0)
            lfc.append(
                [float(v) for v in np.log(means.loc[ok, "searched"] / means.loc[ok, "sampled"])]
            )
        else:
            lfc.append([])
    points = []
    for _, row in models.iterrows():
        points.append(
            {
                "model": row["model"],
                "group": row["group"],
                "auroc": float(row["auroc"]),
                "fold_change": float(row["fold_change"]),
            }
        )
    return {
        "figure": "fig5",
        "title": "Heritability enrichment of variant annotations (S-LDSC)",
        "traits": trait_names,
        "panels": [
            {
                "title": "a  enrichment of binary annotations (filled: q < FDR)",
                "x_label": "trait",
                "y_label": "enrichment (prop. h2 / prop. SNPs)",
                "series": series_a + ([truth] if truth else []),
            },
            {
                "title": "b  searched over sampled",
                "x_label": "trait",
                "y_label": "log fold change of enrichment",
                "series": [{"label": "searched/sampled", "x": trait_names, "y": lfc}],
            },
            {
                "title": "c  test AUROC vs enrichment",
                "x_label": "mean test AUROC",
                "y_label": f"enrichment fold change over {headline.get('reference_model')}",
                "series": [
                    {
                        "label": g,
                        "x": [p["auroc"] for p in points if p["group"] == g],
                        "y": [p["fold_change"] for p in points if p["group"] == g],
                        "models": [p["model"] for p in points if p["group"] == g],
                    }
                    for g in dict.fromkeys(p["group"] for p in points)
                ],
            },
        ],
        "headline": headline,
    }


def _box(ax, values: list[float], x: float, width: float, colour: str) -> None:
    if len(values) >= 3:
        box = ax.boxplot(
            values,
            positions=[x],
            widths=width,
            showfliers=False,
            patch_artist=True,
            medianprops={"color": colour},
        )
        for patch in box["boxes"]:
            patch.set(facecolor="white", edgecolor=colour)
    if values:
        jitter = np.linspace(-0.3, 0.3, len(values)) * width if len(values) > 1 else [0.0]
        ax.scatter(
            x + np.asarray(jitter), values, s=10, color=colour, alpha=0.8, zorder=3, linewidth=0
        )


def draw(data: dict[str, Any]):
    traits = data["traits"]
    fig = new_figure(4.0 + 3.2 * max(len(traits), 1) * 0.6 + 3.5, 3.8)
    axes = fig.subplots(
        1, 3, gridspec_kw={"width_ratios": [max(len(traits), 1), max(len(traits), 1) * 0.7, 1.2]}
    )
    a, b, c = axes
    panel = data["panels"][0]
    width = 0.35
    for s in panel["series"]:
        if s["label"] in ("searched", "sampled"):
            offset = -width / 2 if s["label"] == "searched" else width / 2
            colour = GROUP_COLOURS[s["label"]]
            for i, (values, sig) in enumerate(zip(s["y"], s["significant"], strict=True)):
                _box(a, values, i + offset, width * 0.8, colour)
                hits = [v for v, flag in zip(values, sig, strict=True) if flag]
                if hits:
                    a.scatter(
                        np.full(len(hits), i + offset),
                        hits,
                        s=28,
                        color=colour,
                        edgecolor="black",
                        linewidth=0.6,
                        zorder=4,
                    )
        else:
            xs = np.arange(len(traits))
            a.errorbar(
                xs,
                s["y"],
                yerr=1.96 * np.asarray(s["se"]),
                fmt="D",
                color="black",
                ms=5,
                capsize=3,
                label="truth annotation (95% CI)",
                zorder=4,
            )
            planted = np.asarray(s["planted"], dtype=float)
            if np.isfinite(planted).any():
                a.scatter(
                    xs, planted, marker="_", s=300, color="tab:red", zorder=5, label="planted"
                )
    a.axhline(1, color="grey", lw=0.8, ls="--")
    a.set_xlim(-0.5, len(traits) - 0.5)
    a.set_xticks(range(len(traits)))
    a.set_xticklabels(traits, rotation=30, ha="right")
    a.set_ylabel(panel["y_label"])
    a.set_title(panel["title"], fontsize=9, loc="left")
    handles, labels = a.get_legend_handles_labels()
    from matplotlib.patches import Patch

    handles = [
        Patch(edgecolor=GROUP_COLOURS[g], facecolor="white", label=g)
        for g in ("searched", "sampled")
    ] + handles
    a.legend(handles=handles, fontsize=7, frameon=False)

    panel = data["panels"][1]
    for i, values in enumerate(panel["series"][0]["y"]):
        _box(b, values, i, 0.5, GROUP_COLOURS["searched"])
        if not values:
            b.text(
                i,
                0.5,
                "none significant",
                ha="center",
                va="center",
                fontsize=7,
                color="grey",
                rotation=90,
                transform=b.get_xaxis_transform(),
            )
    b.axhline(0, color="grey", lw=0.8, ls="--")
    b.set_xlim(-0.5, len(traits) - 0.5)
    b.set_xticks(range(len(traits)))
    b.set_xticklabels(traits, rotation=30, ha="right")
    b.set_ylabel(panel["y_label"])
    b.set_title(panel["title"], fontsize=9, loc="left")

    panel = data["panels"][2]
    for s in panel["series"]:
        colour = GROUP_COLOURS.get(s["label"], "black")
        c.scatter(
            s["x"],
            s["y"],
            color=colour,
            edgecolor="black",
            linewidth=0.4,
            s=30,
            label=s["label"],
            zorder=3,
        )
        for x, y, name in zip(s["x"], s["y"], s["models"], strict=True):
            if np.isfinite(x) and np.isfinite(y):
                c.annotate(name, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    pear = data["headline"].get("pearson_auroc_fold_change")
    title = panel["title"]
    if pear:
        title += f"\nPearson r = {pear['r']:.2f} (p = {pear['p']:.2g})"
    c.set_title(title, fontsize=9, loc="left")
    c.set_xlabel(panel["x_label"])
    c.set_ylabel(panel["y_label"], fontsize=8)
    c.legend(fontsize=7, frameon=False)
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(data["title"])
    return fig


def plot_fig5(summary_dir: str | Path, out: str | Path) -> Path:
    """Fig. 5 from ``enrichment.tsv``, ``traits.tsv``, ``models.tsv`` and ``summary.json``
    in ``summary_dir``; returns the PNG path."""
    summary_dir = Path(summary_dir)
    enrichment = pd.read_csv(summary_dir / "enrichment.tsv", sep="\t")
    traits = pd.read_csv(summary_dir / "traits.tsv", sep="\t")
    models = pd.read_csv(summary_dir / "models.tsv", sep="\t")
    headline = json.loads((summary_dir / "summary.json").read_text())
    data = figure_data(enrichment, traits, models, headline)
    return save_figure(draw(data), out, data)
