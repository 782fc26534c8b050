"""Search wall time of two strategies side by side: the default config's search against
ENAS with the settings the demo used before (36 steps x 15 child batches).

    .venv/bin/python benchmarks/strategy_timing.py        # ~2 min on 2 cores

Both searches run at once, one thread each, on the demo data (``results/<run>/data``,
made first if missing), so they share the machine's load and their ratio is what a
default run pays for its strategy. Writes benchmarks/results/strategy_timing.json:
seconds per search (``summary.json``'s ``seconds_this_run``), the ratio, machine and
versions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_info, write_result  # noqa: E402
from search_quality import ensure_data, load_config  # noqa: E402

# The search keys that `amber search` takes as options (the rest are workflow keys).
OPTIONS = ("steps", "warmup_batches", "child_batches", "batch_size", "archs_per_step",
           "valid_samples", "eval_batch_size", "strategy")  # fmt: skip
ENAS = {"strategy": "enas", "steps": 36, "child_batches": 15}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=ROOT / "config/config.yaml")
    p.add_argument("--seed", type=int, default=2, help="search seed (the default run's first)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/strategy_timing.json")
    return p.parse_args(argv)


def search_command(search: dict, data: Path, out: Path, seed: int) -> list[str]:
    cmd = [str(Path(sys.executable).parent / "amber"), "--quiet", "search"]
    cmd += ["--space", str(ROOT / search["model_space"]), "--train", str(data / "train.h5")]
    cmd += ["--valid", str(data / "valid.h5"), "--out-dir", str(out), "--seed", str(seed)]
    cmd += ["--threads", "1", "--device", "cpu"]
    for key in OPTIONS:
        if search.get(key) is not None:
            cmd += [f"--{key.replace('_', '-')}", str(search[key])]
    return cmd


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    config = load_config(args.config, [])
    data = ROOT / f"results/{config['run']}/data"
    with tempfile.TemporaryDirectory() as tmp:
        ensure_data(config, data, 2, Path(tmp))
        variants = {"default": config["search"], "enas_36x15": {**config["search"], **ENAS}}
        procs = {
            name: subprocess.Popen(
                search_command(search, data, Path(tmp) / name, args.seed),
                env={"OMP_NUM_THREADS": "1", "PATH": str(Path(sys.executable).parent)},
            )
            for name, search in variants.items()
        }
        for name, proc in procs.items():
            if proc.wait() != 0:
                sys.exit(f"the {name} search failed (exit {proc.returncode})")
        seconds = {
            name: json.loads((Path(tmp) / name / "summary.json").read_text())["seconds_this_run"]
            for name in variants
        }
    result = {
        "benchmark": "strategy_timing",
        "config": str(args.config.resolve().relative_to(ROOT)),
        "seed": args.seed,
        "settings": {name: {k: s.get(k) for k in OPTIONS} for name, s in variants.items()},
        "search_seconds": seconds,
        "default_over_enas": round(seconds["default"] / seconds["enas_36x15"], 2),
        **machine_info(),
    }
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
