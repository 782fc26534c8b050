"""Training-step time of the weight-sharing supernet vs the standalone child, same arch.

One training step = forward_logits + BCEWithLogits + backward + Adam step. Supernet and
child steps are interleaved (alternating which goes first) after a warm-up; medians are
reported. The supernet's Adam holds every supernet parameter, as in the search.
Also measures child-training throughput (samples/s) in the paper's model space.

    .venv/bin/python benchmarks/supernet_vs_child.py                 # CPU, 1 thread
    .venv/bin/python benchmarks/supernet_vs_child.py --device cuda --bf16
    .venv/bin/python benchmarks/supernet_vs_child.py --before /tmp/amber-before

``--before CHECKOUT`` runs the same measurements again, right after, with the ``amber``
package of another work tree (say the commit before a speed-up) in float32, and adds its
numbers as ``before_*`` with ``after_over_before_*`` ratios of the training throughputs.

Writes flat JSON to benchmarks/results/supernet_vs_child.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
# The amber package to measure: this checkout, or another one (see --before).
sys.path.insert(0, os.environ.get("AMBER_CHECKOUT", str(ROOT)))

from amber.fileio import atomic_path  # noqa: E402
from amber.nas.arch import Architecture, sample_uniform  # noqa: E402
from amber.nas.child import build_child, count_parameters, load_child_from_supernet  # noqa: E402
from amber.nas.space import ModelSpace, load_space  # noqa: E402
from amber.nas.supernet import Supernet  # noqa: E402

Step = Callable[[], None]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    spaces = ROOT / "config" / "model_spaces"
    p.add_argument("--space", type=Path, default=spaces / "demo.yaml", help="space for the ratio")
    p.add_argument("--features", type=int, default=40, help="outputs F for the ratio run")
    p.add_argument("--paper-space", type=Path, default=spaces / "amber_seq.yaml")
    p.add_argument("--paper-features", type=int, default=919)
    p.add_argument("--seq-len", type=int, default=1000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=15, help="timed steps per model (ratio run)")
    p.add_argument("--paper-reps", type=int, default=5, help="timed steps per model (paper)")
    p.add_argument("--paper-width", type=float, default=2.0, help="width for a 2nd throughput")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast for forward + loss")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: steadier timings on a shared CPU; 0 = torch default)",
    )
    p.add_argument("--before", type=Path, help="another checkout to measure too, in float32")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/supernet_vs_child.json")
    return p.parse_args(argv)


def pick_arch(space: ModelSpace, seed: int) -> Architecture:
    """First seeded uniform sample that has a skip across a block boundary."""
    for s in range(seed, seed + 1000):
        arch = sample_uniform(space, np.random.default_rng(s))
        crosses = any(
            space.block_of(j) < space.block_of(i)
            for i in range(space.num_layers)
            for j in arch.skip_sources(i)
        )
        if crosses:
            return arch
    raise RuntimeError("no sampled architecture with a cross-block skip")


def make_step(
    logits_fn: Callable[[Tensor], Tensor],
    params: list[nn.Parameter],
    x: Tensor,
    y: Tensor,
    bf16: bool,
) -> Step:
    opt = torch.optim.Adam(params, lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(logits_fn(x).float(), y)
        loss.backward()
        opt.step()

    return step


def timed(step: Step, device: torch.device) -> float:
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    step()
    sync()
    return time.perf_counter() - start


def compare(
    space: ModelSpace,
    n_features: int,
    args: argparse.Namespace,
    device: torch.device,
    reps: int,
) -> dict[str, float | int | str]:
    """Interleaved supernet vs child step times for one seeded architecture."""
    torch.manual_seed(args.seed)
    arch = pick_arch(space, args.seed)
    supernet = Supernet(space, args.seq_len, n_features).to(device)
    child = build_child(arch, space, args.seq_len, n_features).to(device)
    load_child_from_supernet(child, supernet, arch)
    g = torch.Generator().manual_seed(args.seed)
    idx = torch.randint(0, 4, (args.batch, args.seq_len), generator=g)
    x = nn.functional.one_hot(idx, 4).transpose(1, 2).float().contiguous().to(device)
    y = (torch.rand(args.batch, n_features, generator=g) < 0.05).float().to(device)

    supernet.eval(), child.eval()
    with torch.no_grad():  # sanity: same function before any training
        diff = (supernet(x[:4], arch) - child(x[:4])).abs().max().item()
    supernet.train(), child.train()

    steps = {
        "supernet": make_step(
            lambda t: supernet.forward_logits(t, arch), list(supernet.parameters()), x, y, args.bf16
        ),
        "child": make_step(child.forward_logits, list(child.parameters()), x, y, args.bf16),
    }
    times: dict[str, list[float]] = {"supernet": [], "child": []}
    for rep in range(args.warmup + reps):
        order = ("supernet", "child") if rep % 2 == 0 else ("child", "supernet")
        for name in order:
            t = timed(steps[name], device)
            if rep >= args.warmup:
                times[name].append(t)
    sup, chi = statistics.median(times["supernet"]), statistics.median(times["child"])
    per_rep = [s / c for s, c in zip(times["supernet"], times["child"], strict=True)]
    return {
        "space": space.name,
        "n_features": n_features,
        "arch": json.dumps(arch.to_json(), separators=(",", ":")),
        "arch_skips": arch.num_skips,
        "eval_max_abs_diff": diff,
        "supernet_params": count_parameters(supernet),
        "child_params": count_parameters(child),
        "supernet_step_s": sup,
        "child_step_s": chi,
        "supernet_over_child_ratio": sup / chi,
        "median_per_rep_ratio": statistics.median(per_rep),
        "child_samples_per_s": args.batch / chi,
        "reps": reps,
    }


def child_throughput(
    space: ModelSpace,
    n_features: int,
    width: float,
    args: argparse.Namespace,
    device: torch.device,
    reps: int,
) -> float:
    """Samples/s of child training steps at a width multiplier (no supernet involved)."""
    torch.manual_seed(args.seed)
    arch = pick_arch(space, args.seed)
    child = build_child(arch, space, args.seq_len, n_features, width_multiplier=width).to(device)
    x = torch.rand(args.batch, 4, args.seq_len, device=device)
    y = (torch.rand(args.batch, n_features, device=device) < 0.05).float()
    step = make_step(child.forward_logits, list(child.parameters()), x, y, args.bf16)
    times = [timed(step, device) for _ in range(args.warmup + reps)][args.warmup :]
    return args.batch / statistics.median(times)


def machine_info(device: torch.device) -> dict[str, str | int | bool]:
    info: dict[str, str | int | bool] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count() or 0,
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "python_version": platform.python_version(),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    name = args.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)

    ratio = compare(load_space(args.space), args.features, args, device, args.reps)
    paper = compare(
        load_space(args.paper_space), args.paper_features, args, device, args.paper_reps
    )
    wide = child_throughput(
        load_space(args.paper_space),
        args.paper_features,
        args.paper_width,
        args,
        device,
        args.paper_reps,
    )
    result_keys = ("supernet_over_child_ratio", "supernet_step_s", "child_step_s")
    result = {
        "supernet_over_child_ratio": ratio["supernet_over_child_ratio"],
        "supernet_step_s": ratio["supernet_step_s"],
        "child_step_s": ratio["child_step_s"],
        "paper_space_child_samples_per_s": paper["child_samples_per_s"],
        "paper_space_child_width": 1.0,
        "paper_space_wide_child_width": args.paper_width,
        "paper_space_wide_child_samples_per_s": wide,
        "batch": args.batch,
        "seq_len": args.seq_len,
        "bf16": args.bf16,
        "warmup": args.warmup,
        **{f"ratio_run_{k}": v for k, v in ratio.items() if k not in result_keys},
        **{f"paper_{k}": v for k, v in paper.items()},
        **machine_info(device),
    }
    if args.before:
        result.update(measure_before(args))
        add_ratios(result)
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return result


THROUGHPUTS = (
    "ratio_run_child_samples_per_s",
    "paper_space_child_samples_per_s",
    "paper_space_wide_child_samples_per_s",
)


def measure_before(args: argparse.Namespace) -> dict:
    """The same script on ``args.before``'s package, float32, in a child process."""
    checkout = args.before.resolve()
    tmp = checkout / "supernet_vs_child.before.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--threads", str(args.threads),
           "--device", args.device, "--seed", str(args.seed), "--out", str(tmp)]  # fmt: skip
    env = dict(os.environ, AMBER_CHECKOUT=str(checkout))
    subprocess.run(cmd, env=env, cwd=checkout, check=True, capture_output=True)
    before = json.loads(tmp.read_text())
    tmp.unlink()
    out = {"before_checkout": str(checkout), "before_supernet_over_child_ratio":
           before["supernet_over_child_ratio"]}  # fmt: skip
    for key in THROUGHPUTS:
        out[f"before_{key}"] = before[key]
    return out


def add_ratios(result: dict) -> None:
    for key in THROUGHPUTS:
        if f"before_{key}" in result:
            result[f"after_over_before_{key}"] = result[key] / result[f"before_{key}"]


if __name__ == "__main__":
    main()
