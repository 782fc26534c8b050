"""Does more supernet training, or one BatchNorm per op, make the reward rank? (issue 14)

Random search with weight sharing on the default data and demo space, with
``--child-batches`` supernet batches per step (the demo uses 15; 150 is 10x the demo's
supernet training, ~350k samples, ~58 passes over the training split), for ``--seeds``.
Each trained supernet scores the 24 uniform architectures of ``search_quality.py`` (its
``fidelity_task``: stored and recalibrated BatchNorm statistics, bootstrap sd over
validation rows); Kendall tau against their stand-alone validation AUROC (the ground
truth in ``search_quality.json``, mean of 2 training seeds).

Variants (``--variants``): ``shared`` is the supernet as it is (one BatchNorm per layer,
after the skip sum, shared by every candidate op); ``bn_per_op`` is an exploratory change
made only inside this benchmark's processes (one BatchNorm per candidate op), to test
whether mixed BatchNorm statistics and affine weights are what blurs the ranking;
``tied_kernels`` (also inside this benchmark only) ties the candidate ops of a layer to
shared kernels (:func:`tied_kernels`), to test whether ops whose channels mean different
things are what stops the supernet learning (``supernet_interference.py``).

Searches and scores are cached under ``--cache`` (one folder per variant, budget and
seed), so a rerun only computes what is missing. Outside CI::

    .venv/bin/python benchmarks/supernet_budget.py   # ~25 min on 2 cores from empty
"""

from __future__ import annotations

import argparse
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
    fidelity_task,
    ground_truth_setup,
    search_task,
)

VARIANTS = ("shared", "bn_per_op", "tied_kernels")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_ground_truth_args(p)
    p.add_argument("--child-batches", type=int, default=150, help="supernet batches per step")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--cache", type=Path, default=ROOT / "results/bench_supernet_budget")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/supernet_budget.json")
    return p.parse_args(argv)


def bn_per_op() -> None:
    """Give every candidate op of every supernet layer its own BatchNorm (this process)."""
    from torch import nn

    from amber.nas import supernet as sn
    from amber.nas.ops import build_op, check_input, make_plan, run_backbone

    def layer_init(self, space, channels: int) -> None:
        nn.Module.__init__(self)
        self.ops = nn.ModuleDict({spec.name: build_op(spec, channels) for spec in space.ops})
        self.bns = nn.ModuleDict({spec.name: nn.BatchNorm2d(channels) for spec in space.ops})

    def forward_logits(self, x, arch):
        check_input(x, self.seq_len)
        arch.validate(self.space)
        pairs = list(zip(self.layers, arch.ops, strict=True))
        ops = [layer.ops[name] for layer, name in pairs]
        bns = [layer.bns[name] for layer, name in pairs]
        h = run_backbone(
            x, self.stem, ops, bns, self.reductions, self.dropout, make_plan(arch, self.space)
        )
        return self.head(h)

    sn.SuperLayer.__init__ = layer_init
    sn.Supernet.forward_logits = forward_logits


def tied_kernels() -> None:
    """Tie each supernet layer's candidate ops (this process): the convolutions of one
    dilation share one kernel (a shorter one is the centre of the longest, as in
    single-path NAS's superkernel) and the pooling ops share their 1x1 convolution, so
    the next layer sees channels that mean the same whichever op was drawn. BatchNorms
    stay per op. Weights saved this way do not load into a child."""
    from amber.nas import supernet as sn
    from amber.nas.ops import ConvOp, PoolOp, SameConv1d

    class CentreOf(SameConv1d):
        """A ``kernel``-tap convolution whose weight is the centre of ``base``'s."""

        def __init__(self, base: SameConv1d, channels: int, kernel: int, dilation: int) -> None:
            super().__init__(channels, channels, kernel, dilation)
            del self._parameters["weight"]
            object.__setattr__(self, "_base", base)  # not a submodule: saved once, in base
            self.start = (base.kernel_size[0] - kernel) // 2

        @property
        def weight(self):
            return self._base.weight[:, :, self.start : self.start + self.kernel_size[0]]

    if getattr(sn.SuperLayer, "tied", False):  # patched already in this process
        return
    original = sn.SuperLayer.__init__

    def layer_init(self, space, channels: int) -> None:
        original(self, space, channels)
        families: dict[int, list] = {}
        for op in self.ops.values():
            if isinstance(op, ConvOp):
                families.setdefault(op.conv.dilation[0], []).append(op)
        for ops in families.values():
            base = max(ops, key=lambda o: o.conv.kernel_size[0]).conv
            for op in ops:
                if op.conv is not base:
                    op.conv = CentreOf(base, channels, op.conv.kernel_size[0], base.dilation[0])
        pools = [op for op in self.ops.values() if isinstance(op, PoolOp)]
        for op in pools[1:]:
            op.conv = pools[0].conv

    sn.SuperLayer.__init__ = layer_init
    sn.SuperLayer.tied = True


def _init(variant: str) -> None:
    _init_worker()
    if variant == "bn_per_op":
        bn_per_op()
    elif variant == "tied_kernels":
        tied_kernels()


def run_variant(variant: str, space: str, data: str, settings: dict, out: str, archs: list):
    """One search and its supernet's rewards of ``archs`` (in a fresh process)."""
    _init(variant)
    search = search_task(space, data, settings, out)
    return search, fidelity_task(space, data, settings, out, archs)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    setup = ground_truth_setup(args, strategy="random_ws", child_batches=args.child_batches)
    truth, space_path, data = setup.truth, setup.space_path, setup.data
    settings, uniform = setup.settings, setup.uniform
    valid = np.asarray(truth["uniform_valid_auroc"], dtype=float)

    ctx = get_context("spawn")
    runs = {}
    # One task per process (max_tasks_per_child=1): the BatchNorm patch must not leak.
    with ProcessPoolExecutor(args.jobs, mp_context=ctx, max_tasks_per_child=1) as pool:
        futures = {
            (v, s): pool.submit(
                run_variant,
                v,
                space_path,
                data,
                {**settings, "seed": s},
                str(args.cache / f"{v}_cb{args.child_batches}_s{s}"),
                uniform,
            )
            for v in args.variants
            for s in args.seeds
        }
        runs = {k: f.result() for k, f in futures.items()}

    result: dict = {
        "benchmark": "supernet_budget",
        "ground_truth": str(args.ground_truth.relative_to(ROOT)),
        "child_batches": args.child_batches,
        "supernet_samples": settings["batch_size"]
        * (settings["warmup_batches"] + settings["steps"] * args.child_batches),
        "seeds": args.seeds,
    }
    for v in args.variants:
        for kind in ("stored", "recalibrated"):
            rewards = [runs[v, s][1][kind]["rewards"] for s in args.seeds]
            taus = [float(stats.kendalltau(r, valid).statistic) for r in rewards]
            result[f"{v}_{kind}_kendall_tau"] = [round(t, 3) for t in taus]
            result[f"{v}_{kind}_reward_mean"] = [round(float(np.mean(r)), 4) for r in rewards]
            result[f"{v}_{kind}_reward_spread_sd"] = [round(float(np.std(r)), 4) for r in rewards]
            result[f"{v}_{kind}_reward_bootstrap_sd"] = [
                round(float(np.mean(runs[v, s][1][kind]["bootstrap_sd"])), 4) for s in args.seeds
            ]
        result[f"{v}_search_seconds"] = [round(runs[v, s][0]["seconds"], 1) for s in args.seeds]
    result.update(machine_info())
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
