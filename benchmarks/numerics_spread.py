"""How far do the default run's figures move between machines? Same config and seed,
other numerics.

A run is bit-identical on one machine, but what another machine computes differs in the
last bits, and a search or a training amplifies that. This emulates, on one machine, what
differs between machines: the thread count (reduction order), bfloat16 vs float32 (a CPU
without native bf16 runs float32) and the CPU's instruction set (oneDNN picks other
kernels; ``ONEDNN_MAX_CPU_ISA=AVX2`` makes it use an AVX2 machine's). For each condition
it runs the demo's searches for ``--search-seeds`` and retrains ``--archs`` uniformly
drawn architectures with the demo's recipe, through the ``amber`` CLI, and reports whether
the searched architecture is the same as under the default condition and how far the
validation AUROC of the same architecture moves (sd of the differences).

    .venv/bin/python benchmarks/numerics_spread.py          # ~10 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_info, write_result  # noqa: E402
from search_quality import load_config  # noqa: E402

# name -> (threads, precision flag, extra environment)
CONDITIONS = {
    "default": (1, "--bf16", {}),
    "threads2": (2, "--bf16", {}),
    "fp32": (1, "--no-bf16", {}),
    "fp32_avx2": (1, "--no-bf16", {"ONEDNN_MAX_CPU_ISA": "AVX2"}),
}


def flags(section: dict, skip: set[str], prefix: str = "") -> list[str]:
    """Config values as amber CLI flags (as workflow/rules/common.smk writes them)."""
    out = []
    for key, value in section.items():
        if key in skip or isinstance(value, dict | list):
            continue
        name = f"{prefix}{key.replace('_', '-')}"
        flag = f"--{name}"
        if isinstance(value, bool):
            out.append(flag if value else f"--no-{name}")
        else:
            out += [flag, "all" if value is None else str(value)]
    return out


def amber(args: list[str], threads: int | None, env: dict[str, str]) -> None:
    """Run the amber CLI; ``threads``: torch and OpenMP threads (None: no --threads)."""
    full_env = {**os.environ, "OMP_NUM_THREADS": str(threads or 1), **env}
    cmd = [str(ROOT / ".venv/bin/amber"), *args]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    result = subprocess.run(cmd, env=full_env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=ROOT / "config/config.yaml")
    p.add_argument("--search-seeds", type=int, nargs="+", default=[2, 3])
    p.add_argument("--archs", type=int, default=4, help="uniform architectures to retrain")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--work", type=Path, default=ROOT / "results/bench_numerics_spread")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/numerics_spread.json")
    args = p.parse_args(argv)
    config = load_config(args.config, [])
    data = ROOT / f"results/{config['run']}/data"
    space = str(ROOT / config["search"]["model_space"])
    workflow_keys = {"model_space", "n_searched", "n_sampled", "seed", "resources", "device",
                     "bf16"}  # fmt: skip
    search_flags = flags(config["search"], workflow_keys) + flags(
        config["search"]["controller"], set(), prefix="controller-"
    )
    train_keys = {"baselines", "baseline_dir", "baseline_width", "seed", "resources", "device",
                  "bf16"}  # fmt: skip
    train_flags = flags(config["train"], train_keys)

    archs = []
    for i in range(args.archs):
        path = args.work / "archs" / f"uniform_{i}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        amber(
            ["sample-arch", "--space", space, "--seed", str(5000 + i), "--out", str(path)], None, {}
        )
        archs.append(path)

    def search(cond: str, seed: int) -> dict:
        threads, precision, env = CONDITIONS[cond]
        out = args.work / cond / f"search_{seed}"
        if not (out / "arch.json").exists():
            amber(
                ["search", "--space", space, "--train", str(data / "train.h5"),
                 "--valid", str(data / "valid.h5"), "--out", str(out), "--seed", str(seed),
                 "--device", "cpu", precision, *search_flags],
                threads, env,
            )  # fmt: skip
        return json.loads((out / "arch.json").read_text())

    def train(cond: str, arch: Path) -> float:
        threads, precision, env = CONDITIONS[cond]
        out = args.work / cond / arch.stem
        if not (out / "model.json").exists():
            amber(
                ["train", "--arch", str(arch), "--space", space, "--train", str(data / "train.h5"),
                 "--valid", str(data / "valid.h5"), "--out", str(out), "--seed", "1",
                 "--device", "cpu", precision, *train_flags],
                threads, env,
            )  # fmt: skip
        return float(json.loads((out / "model.json").read_text())["best_valid_auroc"])

    jobs = [(c, s) for c in CONDITIONS for s in args.search_seeds]
    tjobs = [(c, a) for c in CONDITIONS for a in archs]
    with ThreadPoolExecutor(args.jobs) as pool:
        found = dict(zip(jobs, pool.map(lambda j: search(*j), jobs), strict=True))
        aurocs = dict(zip(tjobs, pool.map(lambda j: train(*j), tjobs), strict=True))

    result: dict = {"benchmark": "numerics_spread", "conditions": list(CONDITIONS)}
    for cond in CONDITIONS:
        same = [found[(cond, s)] == found[("default", s)] for s in args.search_seeds]
        result[f"{cond}_same_searched_arch"] = f"{sum(same)} of {len(same)}"
        vals = [aurocs[(cond, a)] for a in archs]
        result[f"{cond}_valid_auroc"] = [round(v, 4) for v in vals]
        diff = np.array(vals) - np.array([aurocs[("default", a)] for a in archs])
        result[f"{cond}_minus_default_valid_auroc"] = [round(float(d), 4) for d in diff]
    others = [
        aurocs[(c, a)] - aurocs[("default", a)] for c in CONDITIONS if c != "default" for a in archs
    ]
    result["same_arch_valid_auroc_shift_sd"] = float(np.sqrt(np.mean(np.square(others))))
    result.update(machine_info())
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
