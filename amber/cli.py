"""The ``amber`` command line: one subcommand per workflow step.

Every subcommand takes paths and values only (no Snakemake objects), writes its outputs
atomically, and reports errors as one line naming the file/key to fix (``--debug`` shows
the traceback).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger("amber")

Handler = Callable[[argparse.Namespace], None]


def _csv(text: str) -> list[str]:
    return [item for item in text.split(",") if item]


# --- data stage -----------------------------------------------------------------------


def _cmd_simulate(args: argparse.Namespace) -> None:
    from amber.data.simulate import SimConfig, simulate_genome

    cfg = SimConfig(seed=args.seed, n_chroms=args.n_chroms, chrom_length=args.chrom_length)
    stats = simulate_genome(cfg, args.out)
    log.info("simulated genome written to %s: %s", args.out, stats)


def _cmd_make_dataset(args: argparse.Namespace) -> None:
    from amber.data.dataset import make_dataset

    summary = make_dataset(
        args.fasta,
        args.features,
        args.bed_dir,
        args.out,
        bin_size=args.bin_size,
        seq_len=args.seq_len,
        valid_chroms=args.valid_chroms,
        test_chroms=args.test_chroms,
        negative_fraction=args.negative_fraction,
        seed=args.seed,
        chunk_size=args.chunk_size,
    )
    log.info("dataset written to %s: %s", args.out, _counts(summary))


def _cmd_import_deepsea(args: argparse.Namespace) -> None:
    from amber.data.deepsea import import_deepsea

    summary = import_deepsea(args.bundle_dir, args.out, args.features, chunk_size=args.chunk_size)
    log.info("DeepSEA bundle imported into %s: %s", args.out, _counts(summary))


def _cmd_download(args: argparse.Namespace) -> None:
    from amber.data.download import fetch

    fetch(args.manifest, args.name, args.out, allow_unpinned=args.allow_unpinned)
    log.info("downloaded %s to %s (checksum verified)", args.name, args.out)


def _cmd_extract(args: argparse.Namespace) -> None:
    from amber.data.download import extract_tar

    extract_tar(args.archive, args.out, members=args.members, flatten=args.flatten)
    log.info("extracted %s into %s", args.archive, args.out)


# --- search stage ---------------------------------------------------------------------


def _dataclass_flags(parser: argparse.ArgumentParser, cls: type, prefix: str = "") -> None:
    """One --flag per field of a config dataclass, typed from its default value."""
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING:  # nested configs get their own prefix
            continue
        default = f.default
        flag = f"--{prefix}{f.name.replace('_', '-')}"
        dest = f"{prefix.replace('-', '_')}{f.name}"
        if isinstance(default, bool):
            parser.add_argument(
                flag, dest=dest, action=argparse.BooleanOptionalAction, default=default
            )
        elif f.name == "valid_samples":
            parser.add_argument(
                flag, dest=dest, type=int, default=default, help=f"(default {default}; 0 = all)"
            )
        else:
            parser.add_argument(
                flag, dest=dest, type=type(default), default=default, help=f"(default {default})"
            )


def _from_flags(cls: type, args: argparse.Namespace, prefix: str = "", **extra: object):
    values = {
        f.name: getattr(args, f"{prefix}{f.name}")
        for f in dataclasses.fields(cls)
        if hasattr(args, f"{prefix}{f.name}")
    }
    return cls(**{**values, **extra})


def _cmd_search(args: argparse.Namespace) -> None:
    import torch

    from amber.nas.controller import ControllerConfig
    from amber.nas.search import SearchConfig, run_search

    torch.set_num_threads(args.threads)
    controller = _from_flags(ControllerConfig, args, prefix="controller_")
    config = _from_flags(SearchConfig, args, controller=controller)
    if config.valid_samples == 0:
        config = dataclasses.replace(config, valid_samples=None)
    summary = run_search(args.space, args.train, args.valid, args.out, config)
    log.info(
        "search finished: best reward %.4f, architecture in %s/arch.json",
        summary["best_reward"],
        args.out,
    )


def _cmd_sample_arch(args: argparse.Namespace) -> None:
    import numpy as np

    from amber.nas.arch import sample_uniform
    from amber.nas.space import load_space

    space = load_space(args.space)
    arch = sample_uniform(space, np.random.default_rng(args.seed), skip_prob=args.skip_prob)
    arch.save(args.out)
    log.info("sampled architecture written to %s", args.out)


def _add_search_commands(sub: argparse._SubParsersAction) -> None:
    from amber.nas.controller import ControllerConfig
    from amber.nas.search import SearchConfig

    p = sub.add_parser(
        "search",
        help="ENAS architecture search (LSTM controller + weight-sharing supernet)",
        description=(
            "Search the model space SPACE on TRAIN/VALID (HDF5 datasets). Writes OUT/arch.json "
            "(best architecture of the last step), history.csv (one row per controller step), "
            "op_probs.tsv (op probability per layer and step), op_embeddings.tsv, summary.json "
            "and checkpoint.pt; rerunning the same command resumes from the checkpoint."
        ),
    )
    p.add_argument("--space", type=Path, required=True, help="model space YAML")
    p.add_argument("--train", type=Path, required=True, help="train.h5")
    p.add_argument("--valid", type=Path, required=True, help="valid.h5")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    _dataclass_flags(p, SearchConfig)
    _dataclass_flags(p, ControllerConfig, prefix="controller-")
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


def _counts(summary: dict) -> str:
    counts = summary.get("counts") or summary.get("n_samples") or {}
    return ", ".join(f"{k}={v}" for k, v in counts.items()) if isinstance(counts, dict) else ""


# --- parser ---------------------------------------------------------------------------


def _add_data_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate a genome with planted JASPAR motifs, peaks and a truth table",
        description=(
            "Write a deterministic simulated genome into OUT: genome.fa(+.fai), features.tsv, "
            "peaks/<feature>.bed, motif_instances.tsv (ground truth), elements.tsv, "
            "motifs.json and simulation.json."
        ),
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--n-chroms", type=int, default=4, help="number of chromosomes (default 4)")
    p.add_argument(
        "--chrom-length", type=int, default=1_000_000, help="bp per chromosome (default 1e6)"
    )
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser(
        "make-dataset",
        help="FASTA + peak BEDs + features.tsv -> one-hot HDF5 train/valid/test",
        description=(
            "Tile the genome into bins, label each bin per feature (positive when at least "
            "half of it lies in a peak), keep positive bins plus a share of negatives, hold "
            "out whole chromosomes, and write OUT/{train,valid,test}.h5 (x: uint8 N x 4 x L, "
            "A,C,G,T; y: uint8 N x F), OUT/features.tsv and OUT/dataset.json."
        ),
    )
    p.add_argument("--fasta", type=Path, required=True, help="genome FASTA (plain text)")
    p.add_argument("--features", type=Path, required=True, help="features.tsv")
    p.add_argument("--bed-dir", type=Path, required=True, help="folder of <feature>.bed files")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--bin-size", type=int, default=200, help="label bin in bp (default 200)")
    p.add_argument("--seq-len", type=int, default=1000, help="input window in bp (default 1000)")
    p.add_argument("--valid-chroms", type=_csv, required=True, help="comma-separated")
    p.add_argument("--test-chroms", type=_csv, required=True, help="comma-separated")
    p.add_argument(
        "--negative-fraction",
        type=float,
        default=0.1,
        help="share of all-negative bins kept (default 0.1)",
    )
    p.add_argument("--chunk-size", type=int, default=256, help="HDF5 rows per chunk")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=_cmd_make_dataset)

    p = sub.add_parser(
        "import-deepsea",
        help="convert the DeepSEA bundle (train/valid/test.mat) to the HDF5 format",
        description=(
            "Stream BUNDLE_DIR/train.mat (HDF5) and valid.mat/test.mat (MATLAB v5) into "
            "OUT/{train,valid,test}.h5 with bases reordered to A,C,G,T, plus features.tsv."
        ),
    )
    p.add_argument("--bundle-dir", type=Path, required=True)
    p.add_argument("--features", type=Path, required=True, help="919 DeepSEA feature names")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--chunk-size", type=int, default=1024)
    p.set_defaults(func=_cmd_import_deepsea)

    p = sub.add_parser(
        "download",
        help="download one manifest entry and verify its checksum",
        description=(
            "Fetch entry NAME of the manifest (TSV: name, url, checksum, size_bytes, "
            "description) to OUT; a checksum or size mismatch leaves no file behind."
        ),
    )
    p.add_argument("--manifest", type=Path, default=Path("resources/downloads.tsv"))
    p.add_argument("--name", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--allow-unpinned",
        action="store_true",
        help="accept an entry without a published checksum (prints its sha256)",
    )
    p.set_defaults(func=_cmd_download)

    p = sub.add_parser("extract", help="safely extract members of a tar archive")
    p.add_argument("--archive", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--members", nargs="*", default=None, help="base names to extract")
    p.add_argument(
        "--flatten", action="store_true", help="drop folders inside the archive from the paths"
    )
    p.set_defaults(func=_cmd_extract)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amber",
        description="Automated design of deep CNNs for genomic sequences (AMBER).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_data_commands(sub)
    _add_search_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        args.func(args)
    except KeyboardInterrupt:
        print(f"amber {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one clear line unless --debug
        if args.debug:
            raise
        print(f"amber {args.command}: error: {exc}", file=sys.stderr)
        print("(rerun with --debug for the traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
