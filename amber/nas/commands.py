"""`amber` subcommands of the search stage: search, sample-arch."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from amber.cliutil import add_out_dir, dataclass_flags, from_flags

log = logging.getLogger("amber")


def _cmd_search(args: argparse.Namespace) -> None:
    import torch

    from amber.nas.config import ControllerConfig, SearchConfig
    from amber.nas.loop import run_search

    torch.set_num_threads(args.threads)
    controller = from_flags(ControllerConfig, args, prefix="controller_")
    config = from_flags(SearchConfig, args, controller=controller)
    summary = run_search(args.space, args.train, args.valid, args.out_dir, config)
    log.info(
        "search finished: best reward %.4f, architecture in %s/arch.json",
        summary["best_reward"],
        args.out_dir,
    )


def _cmd_sample_arch(args: argparse.Namespace) -> None:
    import numpy as np

    from amber.nas.arch import sample_uniform
    from amber.nas.space import load_space

    space = load_space(args.space)
    arch = sample_uniform(space, np.random.default_rng(args.seed), skip_prob=args.skip_prob)
    arch.save(args.out)
    log.info("sampled architecture written to %s", args.out)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the search-stage subcommands to the `amber` parser."""
    from amber.nas.config import ControllerConfig, SearchConfig

    p = sub.add_parser(
        "search",
        help="ENAS architecture search (LSTM controller + weight-sharing supernet)",
        description=(
            "Search the model space SPACE on TRAIN/VALID (HDF5 datasets). Writes OUT/arch.json "
            "(best architecture of the last step), history.csv (one row per controller step), "
            "op_probs.tsv (op probability per layer and step), op_embeddings.tsv, supernet.pt "
            "(shared weights) and summary.json. OUT/checkpoint.pt is written after every step "
            "and removed at the end; rerunning the same command after a kill resumes from it."
        ),
    )
    p.add_argument("--space", type=Path, required=True, help="model space YAML")
    p.add_argument("--train", type=Path, required=True, help="train.h5")
    p.add_argument("--valid", type=Path, required=True, help="valid.h5")
    add_out_dir(p)
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    dataclass_flags(p, SearchConfig)
    dataclass_flags(p, ControllerConfig, prefix="controller-")
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser(
        "sample-arch",
        help="sample an architecture uniformly (ops uniform, skips Bernoulli)",
        description="The paper's AMBER-Base comparison: write a seeded uniform sample to OUT.",
    )
    p.add_argument("--space", type=Path, required=True, help="model space YAML")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--skip-prob", type=float, default=0.4, help="(default 0.4)")
    p.add_argument("--out", type=Path, required=True, help="architecture JSON")
    p.set_defaults(func=_cmd_sample_arch)
