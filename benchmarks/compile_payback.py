"""Would ``torch.compile`` pay back within a search step? Compile cost vs step-time gain.

A supernet step trains one freshly sampled architecture on one batch, and scoring runs
each architecture on a few batches, so compiling per architecture pays back only if
``compile_s < steps_per_arch * (eager_step_s - compiled_step_s)``. This measures one
child of the search benchmark's space (benchmarks/search_vs_original.py: 6 layers,
filters 16/32/64, 1000 bp, 8 outputs, batch 128, 1 thread) in the search's precision.

    .venv/bin/python benchmarks/compile_payback.py      # ~2 min

Writes flat JSON to benchmarks/results/compile_payback.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_info, write_result  # noqa: E402
from search_vs_original import SPACE_YAML  # noqa: E402

from amber.allocator import keep_freed_memory  # noqa: E402
from amber.device import autocast, native_bf16  # noqa: E402
from amber.nas.arch import sample_uniform  # noqa: E402
from amber.nas.child import build_child  # noqa: E402
from amber.nas.space import parse_space  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/compile_payback.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    import yaml

    args = parse_args(argv)
    torch.set_num_threads(1)
    keep_freed_memory()
    space = parse_space(yaml.safe_load(SPACE_YAML))
    arch = sample_uniform(space, np.random.default_rng(args.seed))
    torch.manual_seed(0)
    model = build_child(arch, space, 1000, 8).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    idx = torch.randint(0, 4, (args.batch, 1000))
    x = torch.nn.functional.one_hot(idx, 4).transpose(1, 2).float().contiguous()
    y = (torch.rand(args.batch, 8) < 0.3).float()
    device = torch.device("cpu")
    bf16 = native_bf16(device)

    def step_fn(forward):
        def step() -> None:
            opt.zero_grad(set_to_none=True)
            with autocast(device, bf16):
                logits = forward(x)
            torch.nn.functional.binary_cross_entropy_with_logits(logits, y).backward()
            opt.step()

        return step

    def median_time(step) -> float:
        times = []
        for _ in range(args.reps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    eager = step_fn(model.forward_logits)
    eager()
    eager_s = median_time(eager)
    compiled = step_fn(torch.compile(model.forward_logits))
    start = time.perf_counter()
    compiled()  # compiles forward and backward
    compile_s = time.perf_counter() - start
    compiled_s = median_time(compiled)
    gain = eager_s - compiled_s
    result = {
        "benchmark": "compile_payback",
        "arch": " ".join(arch.ops),
        "bf16": bf16,
        "batch": args.batch,
        "eager_step_s": eager_s,
        "compiled_step_s": compiled_s,
        "compile_s": compile_s,
        "compiled_over_eager_step": compiled_s / eager_s,
        # Steps the same architecture must run to repay its compilation (None: never).
        "steps_to_pay_back": compile_s / gain if gain > 0 else None,
        **machine_info(),
    }
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
