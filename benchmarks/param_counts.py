"""Parameter counts of the final models at the paper's scale (1000 bp, 919 features).

Paper: AMBER-Seq 13.5M parameters; searched models 12.9M and sampled 13.3M on average;
DeepSEA 52.8M. Here: uniformly sampled architectures of the 12-layer space (skip
probability 0.4, as the paper's sampled models) built as final models (width x2,
dropout after pooling; dropout has no parameters), and the two baselines at full width.
Models are built on the "meta" device, so nothing is allocated and this takes seconds.

    .venv/bin/python benchmarks/param_counts.py

Writes flat JSON to benchmarks/results/param_counts.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from amber.fileio import atomic_path  # noqa: E402
from amber.nas.arch import Architecture, sample_uniform  # noqa: E402
from amber.nas.space import load_space  # noqa: E402
from amber.train.baselines import load_baseline_spec  # noqa: E402
from amber.train.model_io import (  # noqa: E402
    baseline_description,
    build_model,
    nas_description,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--space", type=Path, default=ROOT / "config/model_spaces/amber_seq.yaml")
    p.add_argument("--baselines", type=Path, default=ROOT / "config/baselines")
    p.add_argument("--seq-len", type=int, default=1000)
    p.add_argument("--features", type=int, default=919)
    p.add_argument("--width", type=float, default=2.0, help="width multiplier of NAS models")
    p.add_argument("--samples", type=int, default=200, help="sampled architectures")
    p.add_argument("--skip-prob", type=float, default=0.4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--arch", type=Path, action="append", default=[], help="also count these arch JSONs"
    )
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/param_counts.json")
    return p.parse_args(argv)


def count(description: dict) -> int:
    with torch.device("meta"):
        model = build_model(description)
    return sum(p.numel() for p in model.parameters())


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    space = load_space(args.space)
    rng = np.random.default_rng(args.seed)

    def nas(arch: Architecture) -> int:
        return count(
            nas_description(
                arch, space, args.seq_len, args.features, width_multiplier=args.width,
                pool_dropout=0.1,
            )
        )  # fmt: skip

    counts = [nas(sample_uniform(space, rng, args.skip_prob)) for _ in range(args.samples)]
    no_skips = tuple((0,) * i for i in range(space.num_layers))
    all_conv8 = Architecture(space.name, ("conv8",) * space.num_layers, no_skips)
    all_identity = Architecture(space.name, ("identity",) * space.num_layers, no_skips)
    result: dict = {
        "space": space.name,
        "seq_len": args.seq_len,
        "n_features": args.features,
        "width_multiplier": args.width,
        "sampled_archs": args.samples,
        "skip_prob": args.skip_prob,
        "seed": args.seed,
        "sampled_params_mean": statistics.fmean(counts),
        "sampled_params_median": statistics.median(counts),
        "sampled_params_min": min(counts),
        "sampled_params_max": max(counts),
        "all_conv8_params": nas(all_conv8),
        "all_identity_params": nas(all_identity),
        "paper_amber_seq_params": 13_500_000,
        "paper_searched_mean_params": 12_900_000,
        "paper_sampled_mean_params": 13_300_000,
        "paper_deepsea_params": 52_800_000,
    }
    for name in ("deepsea", "cnn3"):
        spec = load_baseline_spec(args.baselines / f"{name}.json")
        desc = baseline_description(spec, args.seq_len, args.features, width_multiplier=1.0)
        result[f"baseline_{name}_params"] = count(desc)
    for path in args.arch:
        result[f"arch_{path.parent.name}_params"] = nas(Architecture.load(path))
    result["sampled_mean_over_paper_sampled_mean_ratio"] = (
        result["sampled_params_mean"] / result["paper_sampled_mean_params"]
    )
    result["deepsea_over_paper_ratio"] = (
        result["baseline_deepsea_params"] / result["paper_deepsea_params"]
    )
    result.update(
        platform=platform.platform(),
        cpu_count=os.cpu_count(),
        python_version=platform.python_version(),
        torch_version=torch.__version__,
        numpy_version=np.__version__,
    )
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(result, indent=1) + "\n")
    for key, value in result.items():
        if "params" in key or key.endswith("ratio"):
            print(f"{key:45s} {value:,.3f}" if isinstance(value, float) else f"{key:45s} {value:,}")
    return result


if __name__ == "__main__":
    main()
