"""Does a faster NAS core still search as well? Search + retrain per seed, per code version.

For each checkout (``LABEL=PATH`` of a git work tree, e.g. the commit before a speed-up)
and each precision, run the demo's search for every seed and retrain the searched
architecture with the demo's training recipe, all on the same dataset, through the
``amber`` CLI of that checkout. Records per run: best and mean reward of the last step,
the step's wall time, and the retrained model's best validation AUROC. Every seed is
reported; the summary gives means per (checkout, precision).

    git worktree add /tmp/amber-before 76eb5de      # the commit before the speed-up
    .venv/bin/python benchmarks/speedup_quality.py --seeds 2 3 4 5 6 7 8 9 \\
        --checkout before=/tmp/amber-before:fp32 --checkout after=.:bf16

With two checkouts every searched architecture is also retrained by the other one, which
separates the training code's effect (same architecture, both versions: paired) from the
search's (the architectures each version found: unpaired).

Runs ``--jobs`` processes at once with one thread each. Writes flat JSON to
benchmarks/results/speedup_quality.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_info, write_result  # noqa: E402

# The demo's settings (config/config.yaml with the schema defaults), as the workflow
# passes them: `snakemake -n -p results/demo/models/searched_1/model.pt` prints them.
SEARCH_FLAGS = [
    "--warmup-batches", "20", "--child-batches", "15", "--batch-size", "64",
    "--archs-per-step", "8", "--valid-samples", "500", "--eval-batch-size", "250",
    "--device", "cpu", "--threads", "1",
]  # fmt: skip
PRECISION_FLAG = {"bf16": "bf16", "fp32": "no-bf16"}
TRAIN_FLAGS = [
    "--width-multiplier", "1.0", "--max-epochs", "10", "--patience", "6", "--lr-patience", "4",
    "--epoch-samples", "6144", "--lr", "0.002", "--pool-dropout", "0.1", "--batch-size", "64",
    "--valid-samples", "600", "--eval-batch-size", "300", "--seed", "1", "--device", "cpu",
    "--threads", "1",
]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--checkout",
        action="append",
        required=True,
        help="LABEL=PATH[:PRECISIONS] of a work tree whose amber package to run, optionally "
        "with its own comma-separated precisions (repeatable)",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[2, 3, 4])
    p.add_argument("--search-steps", type=int, default=12, help="controller steps (the demo's: 12)")
    p.add_argument(
        "--precision",
        nargs="+",
        default=["bf16", "fp32"],
        choices=["bf16", "fp32"],
        help="bf16 = --bf16 (native bf16 where the CPU has it), fp32 = --no-bf16",
    )
    p.add_argument("--data", type=Path, default=ROOT / "results/demo/data")
    p.add_argument("--space", type=Path, default=ROOT / "config/model_spaces/demo.yaml")
    p.add_argument("--work", type=Path, default=ROOT / "results/bench_speedup_quality")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/speedup_quality.json")
    return p.parse_args(argv)


def amber(checkout: Path, *args: str) -> None:
    """Run ``amber ARGS`` with the package of ``checkout`` (one thread)."""
    # cwd and PYTHONPATH both the checkout: `python -m` puts the cwd first on sys.path.
    env = dict(os.environ, PYTHONPATH=str(checkout), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "amber.cli", *args]
    subprocess.run(cmd, check=True, env=env, capture_output=True, cwd=checkout)


def retrain(checkout: Path, precision: str, arch: Path, out: Path, args) -> float:
    """Best validation AUROC of ``arch`` trained with the demo recipe by ``checkout``."""
    if not (out / "model.json").exists():
        amber(
            checkout, "train", "--arch", str(arch), "--space", str(args.space),
            "--train", str(args.data / "train.h5"), "--valid", str(args.data / "valid.h5"),
            "--out", str(out), "--name", "searched", *TRAIN_FLAGS, f"--{PRECISION_FLAG[precision]}",
        )  # fmt: skip
    return json.loads((out / "model.json").read_text())["best_valid_auroc"]


def run_one(label: str, checkout: Path, precision: str, seed: int, args: argparse.Namespace):
    folder = args.work / f"{label}_{precision}_seed{seed}"
    search = folder / "search"
    if not (search / "summary.json").exists():
        amber(
            checkout, "search", "--space", str(args.space), "--train", str(args.data / "train.h5"),
            "--valid", str(args.data / "valid.h5"), "--out", str(search), "--seed", str(seed),
            *SEARCH_FLAGS, "--steps", str(args.search_steps), f"--{PRECISION_FLAG[precision]}",
        )  # fmt: skip
    auroc = retrain(checkout, precision, search / "arch.json", folder / "model", args)
    summary = json.loads((search / "summary.json").read_text())
    with open(search / "history.csv") as handle:
        last = list(csv.DictReader(handle))[-1]
    return {
        "checkout": label,
        "precision": precision,
        "seed": seed,
        "folder": str(folder),
        "best_reward": summary["best_reward"],
        "last_mean_reward": float(last["mean_reward"]),
        "search_seconds": summary["seconds_this_run"],
        "retrained_valid_auroc": auroc,
        "arch": (search / "arch.json").read_text().strip(),
    }


def cross_retrain(run: dict, label: str, checkout: Path, precision: str, args) -> tuple:
    """Retrain another run's searched architecture with this checkout's code."""
    folder = Path(run["folder"])
    out = folder / f"model_by_{label}_{precision}"
    return (
        run["folder"],
        label,
        retrain(checkout, precision, folder / "search/arch.json", out, args),
    )


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    args.data, args.space, args.work = (p.resolve() for p in (args.data, args.space, args.work))
    checkouts = []  # (label, path, precisions)
    for item in args.checkout:
        label, rest = item.split("=", 1)
        path, _, precs = rest.partition(":")
        precisions = precs.split(",") if precs else args.precision
        checkouts.append((label, Path(path).resolve(), precisions))
    jobs = [(lab, path, p, s) for lab, path, precs in checkouts for p in precs for s in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(lambda j: run_one(*j, args), jobs))
        # Each searched architecture retrained by every other checkout too (its first
        # precision): separates the search's choices from the training code's effect.
        cross = [
            (r, lab, path, precs[0])
            for r in runs
            for lab, path, precs in checkouts
            if lab != r["checkout"]
        ]
        for folder, lab, auroc in pool.map(lambda c: cross_retrain(*c, args), cross):
            next(r for r in runs if r["folder"] == folder)[f"retrained_by_{lab}_valid_auroc"] = (
                auroc
            )
    result: dict = {"benchmark": "speedup_quality", "seeds": args.seeds}
    keys = ("best_reward", "last_mean_reward", "retrained_valid_auroc", "search_seconds")
    for lab, _, precs in checkouts:
        for prec in precs:
            group = [r for r in runs if r["checkout"] == lab and r["precision"] == prec]
            for key in keys + tuple(f"retrained_by_{o}_valid_auroc" for o, _, _ in checkouts):
                if key in group[0]:
                    result[f"{lab}_{prec}_{key}_mean"] = statistics.mean(r[key] for r in group)
    if len(checkouts) == 2:
        result.update(compare_two(runs, checkouts[1][0], checkouts[0][0]))
    result["runs"] = runs
    return write_result({**result, **machine_info()}, args.out, hide=("runs",))


def compare_two(runs: list[dict], new: str, old: str) -> dict[str, float]:
    """Training code and search, new vs old, from the cross-retrained architectures.

    Trainer: the same architecture trained by both versions (paired; Wilcoxon). Search:
    the architectures each version's search found, each scored by the mean of its two
    retrainings (unpaired; Welch's t-test).
    """
    from scipy import stats

    def by(run: dict, trainer: str) -> float:
        return run[
            "retrained_valid_auroc"
            if trainer == run["checkout"]
            else f"retrained_by_{trainer}_valid_auroc"
        ]

    trainer_diff = [by(r, new) - by(r, old) for r in runs]
    found = {
        v: [(by(r, new) + by(r, old)) / 2 for r in runs if r["checkout"] == v] for v in (new, old)
    }
    return {
        f"trainer_{new}_minus_{old}_auroc_mean": statistics.mean(trainer_diff),
        f"trainer_{new}_minus_{old}_auroc_sd": statistics.stdev(trainer_diff),
        f"trainer_{new}_minus_{old}_wilcoxon_p": float(stats.wilcoxon(trainer_diff).pvalue),
        f"search_{new}_minus_{old}_auroc_mean": statistics.mean(found[new])
        - statistics.mean(found[old]),
        f"search_{new}_minus_{old}_welch_p": float(
            stats.ttest_ind(found[new], found[old], equal_var=False).pvalue
        ),
        f"search_seconds_{old}_over_{new}": statistics.mean(
            r["search_seconds"] for r in runs if r["checkout"] == old
        )
        / statistics.mean(r["search_seconds"] for r in runs if r["checkout"] == new),
    }


if __name__ == "__main__":
    main()
