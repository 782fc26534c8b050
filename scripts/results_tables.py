"""The headline results of a finished run, as numbers and as the README's Markdown tables.

    .venv/bin/python scripts/results_tables.py results/demo        # Markdown to stdout
    .venv/bin/python scripts/results_tables.py results/demo \
        --search-quality benchmarks/results/search_quality.json \
        benchmarks/results/search_quality_short_training.json --check README.md

Reads ``evaluate/summary.tsv`` (mean test AUROC per model and category),
``asb/benchmark/asb_auroc.tsv`` (ASB AUROC per TF, class and method) and, when the
interpret stage ran, ``figures/interpret_recovery.json`` of a run folder.
``headline(run)`` returns the same numbers as a flat dict (benchmarks/e2e.py stores it).
``--check README.md`` exits 1 and names every table line the README lacks or has
changed, so the README's figures are shown to come from the run.
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


def search_quality_markdown(path: str | Path) -> str:
    """Every seed of ``benchmarks/search_quality.py``'s JSON: test AUROC of the retrained
    result and its percentile among the uniform architectures, per strategy."""
    import json

    result = json.loads(Path(path).read_text())
    s = result["search_settings"]
    budget = f"{s['steps']} candidates × {s['child_batches']} batches"
    if s.get("finalists"):  # older results have no finalists
        budget += f", best {s['finalists']} trained on to {s['finalist_batches']}"
    strategies = [
        ("searched", "ENAS"),
        ("random_ws", "random search, weight sharing"),
        ("short_training", f"random search, short stand-alone training ({budget})"),
    ]
    strategies = [(k, name) for k, name in strategies if f"{k}_test_auroc" in result]
    seeds = result["search_seeds"]
    lines = [
        "| strategy | " + " | ".join(f"seed {s}" for s in seeds)
        + " | median percentile | above uniform median | one-sided p |",
        "|---" * (len(seeds) + 4) + "|",
    ]  # fmt: skip
    for key, name in strategies:
        cells = [
            f"{auroc:.3f} ({pct:.0f})"
            for auroc, pct in zip(
                result[f"{key}_test_auroc"], result[f"{key}_percentiles"], strict=True
            )
        ]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {result[f'{key}_percentile_median']:.0f} | "
            f"{result[f'{key}_beats_uniform_median']} of {len(seeds)} | "
            f"{result[f'{key}_wilcoxon_p_one_sided']:.3f} |"
        )
    lines.append(
        f"| uniform ({result['n_uniform']} architectures) | median "
        f"{result['uniform_test_auroc_median']:.3f}, best {result['uniform_test_auroc_max']:.3f}"
        + " |"
        * (len(seeds) + 3)
    )
    return "\n".join(lines)


def interpret_markdown(run: str | Path) -> str:
    """Recall of planted TFs and attribution AUROC per model group, from the sidecar of
    ``figures/interpret_recovery.png`` (the interpret stage, opt-in)."""
    import json

    side = json.loads((Path(run) / "figures" / "interpret_recovery.json").read_text())
    models = pd.DataFrame(side["models"])
    lines = [
        "| group | models | recall of planted TFs (per model) | mean | "
        "attribution AUROC (per model) | mean |",
        "|---|---|---|---|---|---|",
    ]
    for group in ("searched", "sampled", "baseline"):
        rows = models[models["group"] == group].sort_values("model")
        if rows.empty:
            continue
        recall = ", ".join(f"{v:.2f}" for v in rows["recall"])
        auroc = ", ".join(f"{v:.2f}" for v in rows["mean_auroc"])
        lines.append(
            f"| {group} | {len(rows)} | {recall} | {rows['recall'].mean():.2f} | {auroc} | "
            f"{rows['mean_auroc'].mean():.2f} |"
        )
    tests = side["tests"]
    lines += [
        "",
        "Wilcoxon rank-sum, searched vs sampled: recall p = "
        f"{tests['recall_searched_vs_sampled_p']:.2g}, attribution AUROC p = "
        f"{tests['mean_auroc_searched_vs_sampled_p']:.2g}; searched vs baselines: recall p = "
        f"{tests['recall_searched_vs_baseline_p']:.2g}, attribution AUROC p = "
        f"{tests['mean_auroc_searched_vs_baseline_p']:.2g}.",
    ]
    return "\n".join(lines)


def check(text: str, path: Path) -> list[str]:
    """Lines of ``text`` missing from the file at ``path`` (empty: it holds them all)."""
    have = set(path.read_text().splitlines())
    return [line for line in text.splitlines() if line.strip() and line not in have]


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description="Print (or check) the README's results tables.")
    p.add_argument("run", type=Path, help="a finished run's folder, e.g. results/demo")
    p.add_argument(
        "--search-quality",
        type=Path,
        nargs="+",
        default=[],
        help="also the search-vs-random table of each benchmarks/search_quality.py JSON",
    )
    p.add_argument("--check", type=Path, metavar="FILE", help="exit 1 unless FILE holds them")
    args = p.parse_args(argv)
    needed = [args.run / "evaluate/summary.tsv", args.run / "asb/benchmark/asb_auroc.tsv"]
    missing = [str(path) for path in needed if not path.exists()]
    if missing:
        sys.exit(f"results_tables.py: {', '.join(missing)} not found: run the workflow first")
    text = markdown(args.run)
    if (args.run / "figures" / "interpret_recovery.json").exists():
        text += "\n\n" + interpret_markdown(args.run)
    for path in args.search_quality:
        text += "\n\n" + search_quality_markdown(path)
    if args.check is None:
        print(text)
        return 0
    stale = check(text, args.check)
    for line in stale:
        print(f"{args.check}: missing or different: {line}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
