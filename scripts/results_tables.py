"""The headline results of a finished run, as numbers and as the README's Markdown tables.

    .venv/bin/python scripts/results_tables.py results/demo        # Markdown to stdout

Reads ``evaluate/summary.tsv`` (mean test AUROC per model and category) and
``asb/benchmark/asb_auroc.tsv`` (ASB AUROC per TF, class and method) of a run folder.
``headline(run)`` returns the same numbers as a flat dict (benchmarks/e2e.py stores it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

CATEGORIES = ("all", "TF", "DNase", "Histone")
GROUPS = ("searched", "sampled")


def auroc_by_group(run: Path) -> pd.DataFrame:
    """Mean test AUROC: rows searched, sampled, then each baseline model; columns categories."""
    summary = pd.read_csv(run / "evaluate" / "summary.tsv", sep="\t")
    summary["row"] = [
        g if g in GROUPS else m for g, m in zip(summary["group"], summary["model"], strict=True)
    ]
    table = summary.pivot_table(index="row", columns="category", values="auroc", aggfunc="mean")
    order = [r for r in GROUPS if r in table.index] + sorted(set(table.index) - set(GROUPS))
    return table.loc[order, [c for c in CATEGORIES if c in table.columns]]


def asb_by_tf(run: Path) -> pd.DataFrame:
    """ASB AUROC per (class, TF) for the searched and sampled groups and the PWM baseline."""
    aurocs = pd.read_csv(run / "asb" / "benchmark" / "asb_auroc.tsv", sep="\t")
    keep = aurocs[aurocs["method"].isin([*GROUPS, "pwm"])]
    return keep.pivot_table(index=["class", "tf"], columns="method", values="auroc")


def headline(run: str | Path) -> dict[str, float]:
    """Flat numbers: ``test_auroc_<row>_<category>``, ``asb_<class>_<method>_mean``."""
    run = Path(run)
    out: dict[str, float] = {}
    if (run / "evaluate" / "summary.tsv").exists():
        for row, values in auroc_by_group(run).iterrows():
            for category, value in values.items():
                out[f"test_auroc_{row}_{category}"] = round(float(value), 4)
    if (run / "asb" / "benchmark" / "asb_auroc.tsv").exists():
        means = asb_by_tf(run).groupby(level="class").mean()
        for cls, values in means.iterrows():
            for method, value in values.items():
                out[f"asb_{cls}_{method}_mean"] = round(float(value), 4)
    return out


def markdown(run: str | Path) -> str:
    run = Path(run)
    groups = auroc_by_group(run)
    lines = [
        "| model | " + " | ".join(groups.columns) + " |",
        "|---" * (len(groups.columns) + 1) + "|",
    ]
    for row, values in groups.iterrows():
        lines.append(f"| {row} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    asb = asb_by_tf(run)
    methods = [m for m in (*GROUPS, "pwm") if m in asb.columns]
    tfs = sorted(asb.index.get_level_values("tf").unique())
    lines += ["", f"ASB AUROC per TF ({' / '.join(methods)}):", ""]
    lines += ["| class | " + " | ".join(tfs) + " |", "|---" * (len(tfs) + 1) + "|"]
    for cls in sorted(asb.index.get_level_values("class").unique()):
        cells = []
        for tf in tfs:
            row = asb.loc[(cls, tf)] if (cls, tf) in asb.index else None
            cells.append("—" if row is None else " / ".join(f"{row[m]:.2f}" for m in methods))
        lines.append(f"| {cls} | " + " | ".join(cells) + " |")
    means = asb.groupby(level="class").mean()
    lines += ["", "Mean over TFs: " + "; ".join(
        f"{cls}: " + ", ".join(f"{m} {means.loc[cls, m]:.3f}" for m in methods)
        for cls in means.index
    ) + "."]  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: results_tables.py RESULTS_DIR   (e.g. results/demo)")
    needed = [
        Path(sys.argv[1]) / "evaluate/summary.tsv",
        Path(sys.argv[1]) / "asb/benchmark/asb_auroc.tsv",
    ]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        sys.exit(f"results_tables.py: {', '.join(missing)} not found: run the workflow first")
    print(markdown(sys.argv[1]))
