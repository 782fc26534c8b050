"""Which of the supernet's per-batch draws stops it learning? (issue 14)

The demo supernet's rewards sit at 0.72-0.76 validation AUROC for every architecture,
while the same architectures trained alone reach 0.74-0.88 (``search_quality.json``),
and 10x more supernet training does not lift them (``supernet_budget.json``). Here one
*target* architecture of the ground truth is followed while a fresh supernet is trained
``--batches`` batches (Adam, the search's learning rate and batches, one architecture per
batch as in the search), each batch's architecture drawn by one mode:

- ``fixed``: always the target (the supernet is then a stand-alone child: the ceiling);
- ``skips``: the target's ops, uniformly drawn skips;
- ``ops``: uniformly drawn ops in every layer, the target's skips;
- ``ops_first``: a uniformly drawn op in the first layer only;
- ``ops_rest``: uniformly drawn ops in layers 2.. only;
- ``ops_first_undilated``: the first layer's op drawn among the undilated ops only;
- ``uniform``: ops and skips drawn (random search with weight sharing).

Then the target's reward (validation AUROC with recalibrated BatchNorm statistics, as the
search's ``fidelity`` scores) is recorded beside its stand-alone validation AUROC in the
ground truth. If drawing ops costs the target far more than drawing skips, op sharing,
not BatchNorm or training length, is what flattens the rewards.

Outside CI (~2.5 min per mode and target on one core)::

    .venv/bin/python benchmarks/supernet_interference.py
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine_info, write_result  # noqa: E402
from search_quality import (  # noqa: E402
    RECAL_SAMPLES,
    _init_worker,
    add_ground_truth_args,
    ground_truth_setup,
)

MODES = ("fixed", "skips", "ops", "ops_first", "ops_rest", "ops_first_undilated", "uniform")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_ground_truth_args(p)
    p.add_argument("--targets", type=int, nargs="+", default=[0, 9], help="ground-truth indices")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    p.add_argument("--batches", type=int, default=560, help="the demo search's supernet batches")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--supernet",
        choices=("shared", "tied_kernels"),
        default="shared",
        help="tied_kernels: supernet_budget.py's exploratory tying of each layer's ops",
    )
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/supernet_interference.json"
    )
    return p.parse_args(argv)


def draw(mode: str, target: dict, drawn: dict, undilated: list[str], rng) -> dict:
    """The architecture of one batch: ``target`` with the parts ``mode`` draws from ``drawn``."""
    layers = []
    for i, (mine, other) in enumerate(zip(target["layers"], drawn["layers"], strict=True)):
        op, skips = mine["op"], mine["skips"]
        if mode == "uniform" or mode == "skips":
            skips = other["skips"]
        if mode in ("uniform", "ops") or (mode, i > 0) in (
            ("ops_first", False),
            ("ops_rest", True),
        ):
            op = other["op"]
        if mode == "ops_first_undilated" and i == 0:
            op = undilated[int(rng.integers(len(undilated)))]
        layers.append({"op": op, "skips": skips})
    return {**target, "layers": layers}


def interference_task(
    mode: str, target: dict, space: str, data: str, settings: dict, batches: int, supernet: str
) -> dict:
    """Train a fresh supernet on ``mode``'s draws; the target's reward afterwards."""
    import torch

    if supernet == "tied_kernels":  # every task of a run patches alike: it may persist
        from supernet_budget import tied_kernels

        tied_kernels()

    from amber.data.loader import batches_for_step, dataset_info, positive_rates, read_subsample
    from amber.device import pick_device, use_bf16
    from amber.nas.arch import Architecture, sample_uniform
    from amber.nas.loop import _train_children, evaluate_reward
    from amber.nas.ops import start_at_prior_
    from amber.nas.space import load_space
    from amber.nas.supernet import Supernet

    data_dir, model_space = Path(data), load_space(space)
    info = dataset_info(data_dir / "train.h5")
    device = pick_device("cpu")
    bf16 = use_bf16(settings["bf16"], device)
    seed = settings["seed"]
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    supernet = Supernet(model_space, info["seq_len"], info["n_features"])
    start_at_prior_(supernet, positive_rates(data_dir / "train.h5"))
    optimizer = torch.optim.Adam(supernet.parameters(), lr=settings["child_lr"])
    skip_prob = settings["controller"]["skip_target"]
    undilated = [o.name for o in model_space.ops if o.dilation == 1]
    archs = [
        Architecture.from_json(
            draw(mode, target, sample_uniform(model_space, rng, skip_prob=skip_prob).to_json(),
                 undilated, rng)
        )
        for _ in range(batches)
    ]  # fmt: skip
    stream = batches_for_step(
        data_dir / "train.h5", settings["batch_size"], batches, seed=seed, step=0
    )
    t0 = time.monotonic()
    _train_children(supernet, optimizer, archs, stream, device, bf16)
    x, y = read_subsample(data_dir / "valid.h5", settings["valid_samples"], seed=seed)
    x_recal = read_subsample(data_dir / "train.h5", RECAL_SAMPLES, seed=seed)[0]
    reward = evaluate_reward(
        supernet, Architecture.from_json(target), x, np.asarray(y),
        settings["eval_batch_size"], bf16=bf16, recalibrate=x_recal,
    )  # fmt: skip
    target_draws = sum(a.to_json() == target for a in archs)
    return {"reward": reward, "target_batches": target_draws, "seconds": time.monotonic() - t0}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    setup = ground_truth_setup(args, seed=args.seed)
    truth, space_path, data = setup.truth, setup.space_path, setup.data
    settings, uniform = setup.settings, setup.uniform

    ctx = get_context("spawn")
    with ProcessPoolExecutor(args.jobs, mp_context=ctx, initializer=_init_worker) as pool:
        futures = {
            (m, t): pool.submit(
                interference_task,
                m,
                uniform[t],
                space_path,
                data,
                settings,
                args.batches,
                args.supernet,
            )
            for t in args.targets
            for m in args.modes
        }
        runs = {k: f.result() for k, f in futures.items()}

    result: dict = {
        "benchmark": "supernet_interference",
        "ground_truth": str(args.ground_truth.relative_to(ROOT)),
        "batches": args.batches,
        "batch_size": settings["batch_size"],
        "seed": args.seed,
        "supernet": args.supernet,
        "modes": args.modes,
        "targets": {
            str(t): {
                "arch": uniform[t],
                "standalone_valid_auroc": truth["uniform_valid_auroc"][t],
                **{
                    m: {
                        "reward": round(runs[m, t]["reward"], 4),
                        "target_batches": runs[m, t]["target_batches"],
                    }
                    for m in args.modes
                },
            }
            for t in args.targets
        },
        "seconds_per_run_median": round(float(np.median([r["seconds"] for r in runs.values()])), 1),
    }
    result.update(machine_info())
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
