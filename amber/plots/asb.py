"""Figure 4a: ASB AUROC per TF for each method, loss and gain panels.

Draws the methods of kind group/model/table/pwm from ``asb_auroc.tsv`` (members of a group
are summarised by their group), one box (median, quartiles, 1.5 IQR whiskers, as in the
paper) plus one dot per TF. The JSON sidecar holds exactly the plotted numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from amber.asb.benchmark import SHOWN_KINDS
from amber.plots.render import new_figure, save_figure

PANELS = (("loss", "Loss of binding vs neutral"), ("gain", "Gain of binding vs neutral"))
COLOURS = {"searched": "#e6862e", "sampled": "#8c8c8c", "pwm": "#4c72b0"}
OTHER_COLOURS = ("#55a868", "#c44e52", "#8172b2", "#937860", "#da8bc3", "#64b5cd")


def _series(aurocs: pd.DataFrame) -> dict[str, dict]:
    shown = aurocs[aurocs["kind"].isin(SHOWN_KINDS)]
    methods = list(dict.fromkeys(shown["method"]))  # benchmark order: groups first, PWM last
    panels = {}
    for cls, _ in PANELS:
        sub = shown[(shown["class"] == cls) & shown["auroc"].notna()]
        series = {
            m: {
                "tf": sub.loc[sub["method"] == m, "tf"].tolist(),
                "auroc": [float(v) for v in sub.loc[sub["method"] == m, "auroc"]],
            }
            for m in methods
        }
        panels[cls] = {
            "methods": methods,
            "series": series,
            "n_tfs": int(sub["tf"].nunique()),
        }
    return panels


def _wilcoxon_note(tests: pd.DataFrame | None, cls: str, methods: list[str]) -> dict | None:
    if tests is None or len(methods) < 2:
        return None
    a, b = methods[0], methods[1]
    row = tests[(tests["class"] == cls) & (tests["method_a"] == a) & (tests["method_b"] == b)]
    if row.empty:
        return None
    p = float(row["pvalue"].iloc[0])
    return {"method_a": a, "method_b": b, "pvalue": None if math.isnan(p) else p}


def plot_fig4a(
    auroc_path: str | Path, out: str | Path, wilcoxon_path: str | Path | None = None
) -> dict:
    """Write Fig. 4a as ``out`` (PNG), .pdf and the .json sidecar
    (:func:`amber.plots.render.save_figure`); returns the sidecar dict."""
    aurocs = pd.read_csv(auroc_path, sep="\t")
    need = {"tf", "class", "method", "kind", "auroc"}
    if not need <= set(aurocs.columns):
        raise ValueError(f"{auroc_path}: expected columns {sorted(need)}")
    tests = pd.read_csv(wilcoxon_path, sep="\t") if wilcoxon_path else None
    panels = _series(aurocs)
    for cls, _ in PANELS:
        group_methods = (
            list(dict.fromkeys(aurocs.loc[aurocs["kind"] == "group", "method"]))
            or panels[cls]["methods"]
        )
        panels[cls]["wilcoxon"] = _wilcoxon_note(tests, cls, group_methods)

    methods = panels["loss"]["methods"]
    others = iter(OTHER_COLOURS * 4)
    colour = {m: COLOURS.get(m) or next(others) for m in methods}
    width = max(6.0, 1.0 + 0.9 * len(methods) * 2)
    fig = new_figure(width, 4.2)
    axes = fig.subplots(1, 2, sharey=True)
    rng = np.random.default_rng(0)  # fixed jitter so reruns give identical figures
    for ax, (cls, title) in zip(axes, PANELS, strict=True):
        panel = panels[cls]
        data = [panel["series"][m]["auroc"] for m in methods]
        present = [i for i, d in enumerate(data) if d]
        if present:
            box = ax.boxplot(
                [data[i] for i in present],
                positions=present,
                widths=0.6,
                whis=1.5,
                showfliers=False,
                patch_artist=True,
                medianprops={"color": "black"},
            )
            for patch, i in zip(box["boxes"], present, strict=True):
                patch.set_facecolor(colour[methods[i]])
                patch.set_alpha(0.35)
            for i in present:
                x = i + rng.uniform(-0.15, 0.15, len(data[i]))
                ax.scatter(x, data[i], s=14, color=colour[methods[i]], zorder=3)
        else:
            ax.text(0.5, 0.5, "no TF passes the filter", ha="center", transform=ax.transAxes)
        ax.axhline(0.5, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xticks(range(len(methods)))
        ax.set_xticklabels(methods, rotation=30, ha="right")
        ax.set_xlim(-0.6, max(len(methods), 1) - 0.4)
        note = panel["wilcoxon"]
        subtitle = f"{panel['n_tfs']} TFs"
        if note and note["pvalue"] is not None:
            pair = f"{note['method_a']} vs {note['method_b']}"
            subtitle += f"\n{pair}: Wilcoxon P = {note['pvalue']:.2g}"
        ax.set_title(f"{title}\n{subtitle}", fontsize=8)
    axes[0].set_ylabel("AUROC per TF")
    sidecar = {"figure": "4a", "title": "Fig. 4a", "source": str(auroc_path), "panels": panels}
    save_figure(fig, out, sidecar)
    return sidecar
