"""Paper-scale search and training throughput on a GPU, float32 and bfloat16.

The paper's space (config/model_spaces/amber_seq.yaml: 12 layers, filters 32 -> 256),
1000 bp, 919 outputs, batch 1000, on synthetic one-hot data held on the device:

- supernet training: one optimiser step per batch, a fresh uniformly sampled
  architecture each (the search's child training);
- scoring: forward passes of sampled architectures over validation rows (eval mode);
- child training at width x2 (the final models);
- peak GPU memory of each;
- ``paper_search_gpu_hours_projected``: the paper's 300-step search (500 batches of 1000
  plus 100 architectures x 8000 validation rows per step, after a warm-up pass over the
  4.4 M training rows) at the faster precision's throughput.

    PYTHONPATH=. python3 benchmarks/gpu_check.py              # on the GPU machine, ~3 min
    .venv/bin/python benchmarks/gpu_check.py --device cpu --small   # a CPU smoke run

Writes flat JSON to ``--out`` (default benchmarks/results/gpu_check.json).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_info, write_result  # noqa: E402

from amber.device import autocast  # noqa: E402
from amber.nas.arch import sample_uniform  # noqa: E402
from amber.nas.child import build_child, count_parameters  # noqa: E402
from amber.nas.space import load_space  # noqa: E402
from amber.nas.supernet import Supernet  # noqa: E402

# The paper's search budget (Methods): 300 steps, each 500 child batches of 1000 and 100
# architectures scored on the 8,000 validation rows, after one pass over 4.4 M rows.
PAPER_STEPS, PAPER_CHILD_BATCHES, PAPER_ARCHS, PAPER_VALID, PAPER_TRAIN = (
    300, 500, 100, 8000, 4_400_000,
)  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--space", type=Path, default=ROOT / "config/model_spaces/amber_seq.yaml")
    p.add_argument("--device", default="cuda")
    p.add_argument("--seq-len", type=int, default=1000)
    p.add_argument("--features", type=int, default=919)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--train-steps", type=int, default=20, help="timed steps per measurement")
    p.add_argument("--score-rows", type=int, default=8000)
    p.add_argument("--score-archs", type=int, default=6)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--small", action="store_true", help="tiny sizes for a smoke run")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/gpu_check.json")
    args = p.parse_args(argv)
    if args.small:
        args.batch, args.train_steps, args.score_rows, args.score_archs = 16, 2, 64, 2
        args.warmup, args.features = 1, 919
    return args


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def one_hot(n: int, length: int, device: torch.device, seed: int) -> torch.Tensor:
    g = torch.Generator(device="cpu").manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    return nn.functional.one_hot(idx, 4).transpose(1, 2).float().contiguous().to(device)


def timed(fn: Callable[[int], None], steps: int, warmup: int, device: torch.device) -> float:
    """Seconds per call of ``fn(i)`` after ``warmup`` calls; also resets peak memory."""
    for i in range(warmup):
        fn(i)
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for i in range(steps):
        fn(warmup + i)
    sync(device)
    return (time.perf_counter() - start) / steps


def peak_gb(device: torch.device) -> float:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else 0.0


def train_step(
    model: nn.Module, logits_of: Callable[[int], torch.Tensor], y, device, bf16: bool
) -> Callable[[int], None]:
    """One Adam step of ``model`` on the logits ``logits_of(i)`` for call ``i``."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()

    def step(i: int) -> None:
        model.train()
        opt.zero_grad(set_to_none=True)
        with autocast(device, bf16):
            logits = logits_of(i)
        loss_fn(logits, y).backward()
        opt.step()

    return step


def measure(args: argparse.Namespace, device: torch.device, bf16: bool) -> dict[str, float]:
    """Supernet training and scoring, then width-x2 child training, in one precision."""
    space = load_space(args.space)
    rng = np.random.default_rng(0)
    archs = [sample_uniform(space, rng) for _ in range(args.warmup + args.train_steps)]
    x = one_hot(args.batch, args.seq_len, device, seed=1)
    y = (torch.rand(args.batch, args.features, device=device) < 0.05).float()
    tag = "bf16" if bf16 else "fp32"
    out = supernet_rates(args, device, bf16, space, archs, x, y, tag)
    if device.type == "cuda":
        torch.cuda.empty_cache()  # the supernet is gone: measure the child's memory alone
    child = build_child(archs[0], space, args.seq_len, args.features, width_multiplier=2.0)
    child = child.to(device)
    child_step = train_step(child, lambda _i: child.forward_logits(x), y, device, bf16)
    seconds = timed(child_step, args.train_steps, args.warmup, device)
    out[f"{tag}_child_x2_train_samples_per_s"] = args.batch / seconds
    out[f"{tag}_child_x2_train_peak_gb"] = peak_gb(device)
    out["child_x2_params"] = count_parameters(child)
    return out


def supernet_rates(args, device, bf16, space, archs, x, y, tag: str) -> dict[str, float]:
    torch.manual_seed(0)
    supernet = Supernet(space, args.seq_len, args.features).to(device)
    step = train_step(supernet, lambda i: supernet.forward_logits(x, archs[i]), y, device, bf16)
    out: dict[str, float] = {}
    seconds = timed(step, args.train_steps, args.warmup, device)
    out[f"{tag}_supernet_train_samples_per_s"] = args.batch / seconds
    out[f"{tag}_supernet_train_peak_gb"] = peak_gb(device)
    xv = one_hot(args.score_rows, args.seq_len, device, seed=2)

    @torch.no_grad()
    def score(i: int) -> None:
        supernet.eval()
        for start in range(0, args.score_rows, args.batch):
            with autocast(device, bf16):
                supernet.forward_logits(xv[start : start + args.batch], archs[i])

    seconds = timed(score, args.score_archs, 1, device)
    out[f"{tag}_score_samples_per_s"] = args.score_rows / seconds
    out[f"{tag}_score_peak_gb"] = peak_gb(device)
    return out


def projected_hours(train_sps: float, score_sps: float) -> float:
    per_step = PAPER_CHILD_BATCHES * 1000 / train_sps + PAPER_ARCHS * PAPER_VALID / score_sps
    return (PAPER_TRAIN / train_sps + PAPER_STEPS * per_step) / 3600


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes per (layer, op): tune once
    result: dict = {"benchmark": "gpu_check", "batch": args.batch, "seq_len": args.seq_len}
    for bf16 in (False, True):
        result.update(measure(args, device, bf16))
        if device.type == "cuda":
            torch.cuda.empty_cache()
    hours = {
        tag: projected_hours(
            result[f"{tag}_supernet_train_samples_per_s"], result[f"{tag}_score_samples_per_s"]
        )
        for tag in ("fp32", "bf16")
    }
    result["paper_search_gpu_hours_projected_fp32"] = hours["fp32"]
    result["paper_search_gpu_hours_projected_bf16"] = hours["bf16"]
    result["paper_search_gpu_hours_projected"] = min(hours.values())
    result["paper_search_gpu_hours_paper_v100"] = 72.0
    result.update(
        device=str(device),
        gpu=torch.cuda.get_device_name(device) if device.type == "cuda" else "none",
        cuda_version=torch.version.cuda or "none",
        **machine_info(),
    )
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
