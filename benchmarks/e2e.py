"""The default workflow end to end from an empty results folder: wall time and CPU per rule.

    .venv/bin/python benchmarks/e2e.py                 # ~8 min on 2 cores

Runs ``snakemake --cores N`` with the default config under its own run name (``--run``,
default ``bench_e2e``: ``results/bench_e2e/``, ``logs/bench_e2e/``, both removed first, so
the user's ``results/demo`` is never touched). Every rule has a Snakemake ``benchmark:``
file (``logs/<run>/benchmarks/<rule>/...tsv``); their wall and CPU seconds are summed per
rule. The run's headline results (mean test AUROC per model group, ASB AUROC means) are
copied in as well, so a speed change that costs accuracy shows up in the same file.

Writes flat JSON to benchmarks/results/e2e.json: ``demo_wall_s``, ``rule_<name>_cpu_s``,
``rule_<name>_wall_s``, ``rule_<name>_jobs``, the results, machine and versions.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_info, write_result  # noqa: E402
from results_tables import headline  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", default="bench_e2e", help="run name (results/<run>, logs/<run>)")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    p.add_argument("--configfile", type=Path, help="config merged over config/config.yaml")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/e2e.json")
    return p.parse_args(argv)


def rule_benchmarks(folder: Path) -> dict[str, float]:
    """Sum Snakemake benchmark files per rule: wall s, CPU s, job count, max RSS."""
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for path in sorted(folder.rglob("*.tsv")):
        rule = path.relative_to(folder).parts[0].removesuffix(".tsv")
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                t = totals[rule]
                t["wall_s"] += float(row["s"])
                t["cpu_s"] += float(row["cpu_time"]) if row["cpu_time"] != "NA" else 0.0
                t["jobs"] += 1
                rss = float(row["max_rss"]) if row["max_rss"] != "NA" else 0.0
                t["max_rss_mb"] = max(t["max_rss_mb"], rss)
    flat: dict[str, float] = {}
    for rule, t in sorted(totals.items(), key=lambda kv: -kv[1]["cpu_s"]):
        for key, value in t.items():
            flat[f"rule_{rule}_{key}"] = round(value, 2)
    return flat


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    results, logs = ROOT / "results" / args.run, ROOT / "logs" / args.run
    for folder in (results, logs):
        shutil.rmtree(folder, ignore_errors=True)
    cmd = [str(Path(sys.executable).parent / "snakemake"), "--cores", str(args.cores)]
    if args.configfile:
        cmd += ["--configfile", str(args.configfile)]
    cmd += ["--config", f"run={args.run}"]
    start = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"snakemake failed after {wall:.0f} s:\n{done.stderr[-3000:]}")

    result = {
        "benchmark": "e2e",
        "demo_wall_s": round(wall, 1),
        "cores": args.cores,
        "run": args.run,
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        **rule_benchmarks(logs / "benchmarks"),
        **headline(results),
        **machine_info(),
    }
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
