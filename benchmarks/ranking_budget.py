"""How much training must an architecture see before its reward ranks it? (issue 14)

Two measurements on the default data and demo space, against the ground truth that
``benchmarks/search_quality.py`` wrote (stand-alone validation AUROC of its 24 uniform
architectures, mean of 2 training seeds; run that benchmark first):

1. **Short stand-alone training as the reward.** Each of the 24 uniform architectures is
   trained alone with the search's own settings (batch size, ``child_lr``, bf16, output
   biases at the prior, the same batches for every architecture) and scored on the
   search's validation subsample after every ``--rung-batches`` batches. Kendall tau
   between that reward and the ground truth, per budget: the cheapest budget at which a
   reward of *any* kind (weight-shared or not) can rank this space.
2. **Interference from weight sharing.** The best and the worst of the 24 (by ground
   truth) are trained with the supernet's code path, each alone, then both in one
   supernet (alternating batches, so each gets half): their rewards alone and mixed.

Outside CI (about 10 minutes on 2 cores)::

    .venv/bin/python benchmarks/ranking_budget.py    # -> benchmarks/results/ranking_budget.json
    # 22-chromosome demo, finer budgets, no pair runs (~5 minutes):
    .venv/bin/python benchmarks/ranking_budget.py --rung-batches 32 --rungs 16 \
        --pair-batches 0 --out benchmarks/results/ranking_budget_22chroms.json
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine_info, write_result  # noqa: E402
from search_quality import add_ground_truth_args, load_config, uniform_architectures  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_ground_truth_args(p)
    p.add_argument("--rung-batches", type=int, default=48, help="batches between scores")
    p.add_argument("--rungs", type=int, default=8, help="scores per architecture")
    p.add_argument(
        "--pair-batches", type=int, default=720, help="batches per pair run (0: no pair runs)"
    )
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config value (e.g. search.child_lr=0.002); repeatable",
    )
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/ranking_budget.json")
    return p.parse_args(argv)


def _settings(config: dict) -> dict:
    s = config["search"]
    return {
        "space": str(ROOT / s["model_space"]),
        "data": str(ROOT / f"results/{config['run']}/data"),
        "batch_size": s["batch_size"],
        "lr": s["child_lr"],
        "valid_samples": s["valid_samples"],
        "eval_batch_size": s["eval_batch_size"],
        "bf16": s["bf16"],
        "skip_prob": s["controller"]["skip_target"],
        "seed": 1,
    }


def _setup(s: dict):
    """Space, data shape, validation subsample and output priors, as a search reads them."""
    import torch

    from amber.data.loader import dataset_info, positive_rates, read_subsample
    from amber.nas.space import load_space

    torch.set_num_threads(1)
    data = Path(s["data"])
    info = dataset_info(data / "train.h5")
    x, y = read_subsample(data / "valid.h5", s["valid_samples"], seed=s["seed"])
    return load_space(s["space"]), info, x, np.asarray(y), positive_rates(data / "train.h5")


def _rung_batches(s: dict, rung: int, n: int):
    from amber.data.loader import batches_for_step

    train = Path(s["data"]) / "train.h5"
    return batches_for_step(train, s["batch_size"], n, seed=s["seed"], step=rung + 1)


def standalone_curve(arch_json: dict, s: dict, rung_batches: int, rungs: int) -> list[float]:
    """Validation AUROC of ``arch`` trained alone, after each of ``rungs`` rungs."""
    import torch

    from amber.device import autocast
    from amber.metrics import mean_auroc
    from amber.nas.arch import Architecture
    from amber.nas.child import ChildNet
    from amber.nas.ops import start_at_prior_

    space, info, x, y, rates = _setup(s)
    torch.manual_seed(s["seed"])
    net = start_at_prior_(
        ChildNet(Architecture.from_json(arch_json), space, info["seq_len"], info["n_features"]),
        rates,
    )
    opt = torch.optim.Adam(net.parameters(), lr=s["lr"])
    loss_fn = torch.nn.BCEWithLogitsLoss()
    cpu = torch.device("cpu")
    curve = []
    for rung in range(rungs):
        net.train()
        for xb, yb in _rung_batches(s, rung, rung_batches):
            opt.zero_grad(set_to_none=True)
            with autocast(cpu, s["bf16"]):
                logits = net.forward_logits(xb)
            loss_fn(logits.float(), yb).backward()
            opt.step()
        net.eval()
        with torch.no_grad(), autocast(cpu, s["bf16"]):
            n, b = len(x), s["eval_batch_size"]
            logits = torch.cat([net.forward_logits(x[i : i + b]) for i in range(0, n, b)])
        curve.append(round(float(mean_auroc(y, logits.float().numpy())), 4))
    return curve


def pair_run(arch_jsons: list[dict], s: dict, n_batches: int) -> list[float]:
    """Train one supernet on ``arch_jsons`` in turn (batch i -> arch i mod k); the
    reward of each at the end."""
    import torch

    from amber.nas.arch import Architecture
    from amber.nas.loop import _train_children, evaluate_reward
    from amber.nas.ops import start_at_prior_
    from amber.nas.supernet import Supernet

    space, info, x, y, rates = _setup(s)
    archs = [Architecture.from_json(a) for a in arch_jsons]
    torch.manual_seed(s["seed"])
    net = start_at_prior_(Supernet(space, info["seq_len"], info["n_features"]), rates)
    opt = torch.optim.Adam(net.parameters(), lr=s["lr"])
    per_rung = 60
    for rung in range(n_batches // per_rung):
        order = [archs[i % len(archs)] for i in range(per_rung)]
        batches = _rung_batches(s, rung, per_rung)
        _train_children(net, opt, order, batches, torch.device("cpu"), s["bf16"])
    return [
        round(evaluate_reward(net, a, x, y, s["eval_batch_size"], bf16=s["bf16"]), 4) for a in archs
    ]


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    from amber.nas.space import load_space

    s = _settings(load_config(args.config, args.set))
    truth = json.loads(args.ground_truth.read_text())
    valid = truth["uniform_valid_auroc"]
    uniform = uniform_architectures(load_space(s["space"]), truth["n_uniform"], s["skip_prob"])
    best, worst = int(np.argmax(valid)), int(np.argmin(valid))
    ctx = get_context("spawn")
    with ProcessPoolExecutor(args.jobs, mp_context=ctx) as pool:
        curves = [
            pool.submit(standalone_curve, a, s, args.rung_batches, args.rungs) for a in uniform
        ]
        pair_archs = {
            "best_alone": [uniform[best]],
            "worst_alone": [uniform[worst]],
            "mixed": [uniform[best], uniform[worst]],
        }
        pairs = {
            k: pool.submit(pair_run, archs, s, args.pair_batches)
            for k, archs in pair_archs.items()
            if args.pair_batches
        }
        curves = [f.result() for f in curves]
        pairs = {k: f.result() for k, f in pairs.items()}

    samples = [(r + 1) * args.rung_batches * s["batch_size"] for r in range(args.rungs)]
    taus = [
        round(float(stats.kendalltau([c[r] for c in curves], valid)[0]), 3)
        for r in range(args.rungs)
    ]
    result = {
        "benchmark": "ranking_budget",
        "settings": s,
        "ground_truth": str(args.ground_truth.relative_to(ROOT)),
        "ground_truth_commit": truth.get("amber_commit"),
        "standalone_samples_per_arch": samples,
        "standalone_kendall_tau": taus,
        "standalone_curves": curves,
    }
    if pairs:
        result["pair"] = {"best_index": best, "worst_index": worst, "batches": args.pair_batches}
        result["pair_ground_truth_valid_auroc"] = [valid[best], valid[worst]]
        result["pair_alone_reward"] = [pairs["best_alone"][0], pairs["worst_alone"][0]]
        result["pair_mixed_reward"] = pairs["mixed"]
    result.update(machine_info())
    return write_result(result, args.out, hide=("standalone_curves",))


if __name__ == "__main__":
    main()
