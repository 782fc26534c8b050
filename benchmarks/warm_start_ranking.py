"""Does a short fine-tune from the supernet's weights rank architectures? (issue 14)

The supernet's reward does not rank the demo's uniform architectures (Kendall tau about
-0.2 against stand-alone validation AUROC, ``search_quality.json``), not even after 10x
its training (``supernet_budget.json``). This benchmark asks whether its weights are
still a useful start: each of the 24 uniform architectures of ``search_quality.py`` is
trained ``--batches`` batches from the weights a random-search-with-weight-sharing
supernet holds for it (``supernet``) and, as the control, from PyTorch's initialisation
(``scratch``, output biases at the training prior as in the trainer), with the same
batches, optimiser (Adam, ``--lr``) and validation rows; its validation AUROC is scored
after each of ``--checkpoints`` batches. Kendall tau against the ground truth
(``search_quality.json``: mean validation AUROC of 2 stand-alone training seeds) per
checkpoint. For scale it also records the tau of a predictor that knows one fact,
"the first layer is a dilated convolution" (worse), and nothing else.

Supernets (``search_quality.search_task``) and fine-tunes are cached under ``--cache``,
so a rerun only computes what is missing. Outside CI::

    .venv/bin/python benchmarks/warm_start_ranking.py   # ~30 min on 2 cores from empty
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
from search_quality import (  # noqa: E402
    _init_worker,
    add_ground_truth_args,
    digest,
    ground_truth_setup,
    search_task,
)

INITS = ("supernet", "scratch")
DATA_SEED = 7  # the fine-tuning batches; the same for every architecture and start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_ground_truth_args(p)
    p.add_argument("--checkpoints", type=int, nargs="+", default=[32, 64, 128, 192, 256])
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (the search's)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1], help="supernet seeds")
    p.add_argument("--inits", nargs="+", choices=INITS, default=list(INITS))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--cache", type=Path, default=ROOT / "results/bench_warm_start")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/warm_start_ranking.json")
    return p.parse_args(argv)


def finetune_task(
    init: str, space: str, data: str, settings: dict, search_dir: str, archs: list,
    checkpoints: list[int], lr: float, out: str,
) -> dict:  # fmt: skip
    """Validation AUROC of every architecture after each checkpoint's number of batches."""
    import torch

    from amber.data.loader import batches_for_step, dataset_info, positive_rates, read_subsample
    from amber.device import autocast, pick_device, use_bf16
    from amber.metrics import mean_auroc
    from amber.nas.arch import Architecture
    from amber.nas.child import build_child, load_child_from_supernet
    from amber.nas.ops import start_at_prior_
    from amber.nas.space import load_space
    from amber.nas.supernet import Supernet

    path = Path(out)
    key = digest(init, archs, checkpoints, lr, settings, DATA_SEED)
    cached = json.loads(path.read_text()) if path.exists() else {}
    if cached.get("key") == key:
        return cached
    if init == "supernet":
        search_task(space, data, settings, search_dir)
    data_dir, model_space = Path(data), load_space(space)
    info = dataset_info(data_dir / "train.h5")
    device = pick_device("cpu")
    bf16 = use_bf16(settings["bf16"], device)
    x_valid, y_valid = read_subsample(data_dir / "valid.h5", settings["valid_samples"], seed=1)
    y_valid = np.asarray(y_valid)
    rates = positive_rates(data_dir / "train.h5")
    supernet = None
    if init == "supernet":
        supernet = Supernet(model_space, info["seq_len"], info["n_features"])
        supernet.load_state_dict(torch.load(Path(search_dir) / "supernet.pt", weights_only=True))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    scores: list[list[float]] = []
    for i, spec in enumerate(archs):
        arch = Architecture.from_json(spec)
        torch.manual_seed(i)
        child = build_child(arch, model_space, info["seq_len"], info["n_features"])
        if supernet is not None:
            load_child_from_supernet(child, supernet, arch)
        else:
            start_at_prior_(child, rates)
        optimizer = torch.optim.Adam(child.parameters(), lr=lr)
        row = []
        batches = batches_for_step(
            data_dir / "train.h5", settings["batch_size"], max(checkpoints), seed=DATA_SEED, step=i
        )
        for n, (x, y) in enumerate(batches, start=1):
            child.train()
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, bf16):
                logits = child.forward_logits(x)
            loss_fn(logits.float(), y).backward()
            optimizer.step()
            if n in checkpoints:
                child.eval()
                with torch.no_grad(), autocast(device, bf16):
                    out_logits = torch.cat(
                        [
                            child.forward_logits(x_valid[s : s + settings["eval_batch_size"]])
                            for s in range(0, len(x_valid), settings["eval_batch_size"])
                        ]
                    )
                row.append(mean_auroc(y_valid, out_logits.float().numpy()))
        scores.append(row)
    result = {"key": key, "valid_auroc": scores}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return result


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    setup = ground_truth_setup(args, strategy="random_ws")
    space_path, data, settings, uniform = (
        setup.space_path,
        setup.data,
        setup.settings,
        setup.uniform,
    )
    valid = np.asarray(setup.truth["uniform_valid_auroc"], dtype=float)
    checkpoints = sorted(args.checkpoints)

    ctx = get_context("spawn")
    # Training from scratch does not depend on a supernet seed: once.
    jobs = [("supernet", s) for s in args.seeds if "supernet" in args.inits]
    jobs += [("scratch", args.seeds[0])] if "scratch" in args.inits else []
    with ProcessPoolExecutor(args.jobs, mp_context=ctx, initializer=_init_worker) as pool:
        futures = {
            (init, s): pool.submit(
                finetune_task,
                init,
                space_path,
                data,
                {**settings, "seed": s},
                str(args.cache / f"search_random_ws_s{s}"),
                uniform,
                checkpoints,
                args.lr,
                str(args.cache / f"finetune_{init}_s{s}.json"),
            )
            for init, s in jobs
        }
        runs = {k: f.result()["valid_auroc"] for k, f in futures.items()}

    from amber.nas.space import load_space

    space = load_space(space_path)
    # 0 or -1: higher is better
    dilated_first = [-float(space.op(a["layers"][0]["op"]).dilation > 1) for a in uniform]
    result: dict = {
        "benchmark": "warm_start_ranking",
        "ground_truth": str(args.ground_truth.relative_to(ROOT)),
        "checkpoints_batches": checkpoints,
        "batch_size": settings["batch_size"],
        "lr": args.lr,
        "seeds": args.seeds,
        "dilated_first_layer_predictor_kendall_tau": round(
            float(stats.kendalltau(dilated_first, valid).statistic), 3
        ),
    }
    for init, s in jobs:
        name = f"supernet_s{s}" if init == "supernet" else "scratch"
        table = np.asarray(runs[init, s])  # (architectures, checkpoints)
        result[f"{name}_kendall_tau"] = [
            round(float(stats.kendalltau(table[:, j], valid).statistic), 3)
            for j in range(len(checkpoints))
        ]
        result[f"{name}_valid_auroc_mean"] = [round(float(v), 4) for v in table.mean(axis=0)]
        result[f"{name}_valid_auroc_spread_sd"] = [round(float(v), 4) for v in table.std(axis=0)]
    result.update(machine_info())
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
