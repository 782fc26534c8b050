"""Search wall time of two strategies side by side: the default config's search against
ENAS with the settings the demo used before (36 steps x 15 child batches).

    .venv/bin/python benchmarks/strategy_timing.py        # ~2 min on 2 cores

Both searches run at once, one process and one thread each, with every search setting
of the config (ENAS: strategy, steps and child batches replaced), on the demo data
(``results/<run>/data``, made first if missing), so they share the machine's load and
their ratio is what a default run pays for its strategy. Writes
benchmarks/results/strategy_timing.json: seconds per search (``summary.json``'s
``seconds_this_run``), the ratio, machine and versions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_info, write_result  # noqa: E402
from search_quality import (  # noqa: E402
    _init_worker,
    ensure_data,
    load_config,
    search_config,
    search_task,
)

ENAS = {"strategy": "enas", "steps": 36, "child_batches": 15}
# The settings the result reports for each search.
REPORTED = ("strategy", "steps", "warmup_batches", "child_batches", "batch_size",
            "archs_per_step", "valid_samples", "eval_batch_size")  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=ROOT / "config/config.yaml")
    p.add_argument("--seed", type=int, default=2, help="search seed (the default run's first)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/strategy_timing.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    config = load_config(args.config, [])
    data = ROOT / f"results/{config['run']}/data"
    space = str(ROOT / config["search"]["model_space"])
    base = {"device": "cpu", "seed": args.seed}
    variants = {
        "default": dataclasses.asdict(search_config(config["search"], **base)),
        "enas_36x15": dataclasses.asdict(search_config(config["search"], **base, **ENAS)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        ensure_data(config, data, 2, Path(tmp))
        ctx = get_context("spawn")
        with ProcessPoolExecutor(2, mp_context=ctx, initializer=_init_worker) as pool:
            runs = [
                pool.submit(search_task, space, str(data), settings, str(Path(tmp) / name))
                for name, settings in variants.items()
            ]
            for run in runs:
                run.result()
        seconds = {
            name: json.loads((Path(tmp) / name / "summary.json").read_text())["seconds_this_run"]
            for name in variants
        }
    result = {
        "benchmark": "strategy_timing",
        "config": str(args.config.resolve().relative_to(ROOT)),
        "seed": args.seed,
        "settings": {name: {k: s[k] for k in REPORTED} for name, s in variants.items()},
        "search_seconds": seconds,
        "default_over_enas": round(seconds["default"] / seconds["enas_36x15"], 2),
        **machine_info(),
    }
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
