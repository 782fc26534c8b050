"""`amber` subcommands of the data stage: simulate, make-dataset, import-deepsea,
download, extract."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from amber.cliutil import add_out_dir

log = logging.getLogger("amber")


# Element densities of the simulator exposed on the command line (per Mb of sequence).
DENSITY_FLAGS = ("promoters_per_mb", "enhancers_per_mb", "insulators_per_mb", "decoys_per_mb")


def _csv(text: str) -> list[str]:
    return [item for item in text.split(",") if item]


def _cmd_simulate(args: argparse.Namespace) -> None:
    from amber.data.simulate import SimConfig, simulate_genome

    cfg = SimConfig(
        seed=args.seed,
        n_chroms=args.n_chroms,
        chrom_length=args.chrom_length,
        **{n: getattr(args, n) for n in DENSITY_FLAGS if getattr(args, n) is not None},
    )
    stats = simulate_genome(cfg, args.out_dir)
    log.info("simulated genome written to %s: %s", args.out_dir, stats)


def _cmd_make_dataset(args: argparse.Namespace) -> None:
    from amber.data.dataset import make_dataset

    summary = make_dataset(
        args.fasta,
        args.features,
        args.bed_dir,
        args.out_dir,
        bin_size=args.bin_size,
        seq_len=args.seq_len,
        valid_chroms=args.valid_chroms,
        test_chroms=args.test_chroms,
        holdout_fraction=args.holdout_fraction,
        negative_fraction=args.negative_fraction,
        seed=args.seed,
        chunk_size=args.chunk_size,
        anchor_categories=args.anchor_categories,
    )
    log.info("dataset written to %s: %s", args.out_dir, _counts(summary))


def _cmd_import_deepsea(args: argparse.Namespace) -> None:
    from amber.data.deepsea import import_deepsea

    summary = import_deepsea(
        args.bundle_dir, args.out_dir, args.features, chunk_size=args.chunk_size
    )
    log.info("DeepSEA bundle imported into %s: %s", args.out_dir, _counts(summary))


def _cmd_import_npz(args: argparse.Namespace) -> None:
    from amber.data.deepsea import import_npz

    summary = import_npz(
        args.npz, args.out_dir, base_order=args.base_order, chunk_size=args.chunk_size
    )
    log.info(".npz imported into %s: %s", args.out_dir, _counts(summary))


def _cmd_download(args: argparse.Namespace) -> None:
    from amber.data.download import fetch

    fetch(args.manifest, args.name, args.out, allow_unpinned=args.allow_unpinned)
    log.info("downloaded %s to %s (checksum verified)", args.name, args.out)


def _cmd_extract(args: argparse.Namespace) -> None:
    from amber.data.download import extract_tar

    for archive in args.archive:  # in order: a later archive's file replaces an earlier's
        extract_tar(archive, args.out_dir, members=args.members, flatten=args.flatten)
        log.info("extracted %s into %s", archive, args.out_dir)


def _counts(summary: dict) -> str:
    counts = summary.get("counts") or summary.get("n_samples") or {}
    return ", ".join(f"{k}={v}" for k, v in counts.items()) if isinstance(counts, dict) else ""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the data-stage subcommands to the `amber` parser."""
    p = sub.add_parser(
        "simulate",
        help="simulate a genome with planted JASPAR motifs, peaks and a truth table",
        description=(
            "Write a deterministic simulated genome into OUT: genome.fa(+.fai), features.tsv, "
            "peaks/<feature>.bed, motif_instances.tsv (ground truth), elements.tsv, "
            "motifs.json and simulation.json."
        ),
    )
    add_out_dir(p)
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--n-chroms", type=int, default=12, help="number of chromosomes (default 12)")
    p.add_argument(
        "--chrom-length", type=int, default=1_000_000, help="bp per chromosome (default 1e6)"
    )
    for name in DENSITY_FLAGS:
        p.add_argument(
            "--" + name.replace("_", "-"),
            type=float,
            default=None,
            help=f"{name.removesuffix('_per_mb')} per Mb of sequence (default: the "
            "simulator's, recorded in simulation.json)",
        )
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser(
        "make-dataset",
        help="FASTA + peak BEDs + features.tsv -> one-hot HDF5 train/valid/test",
        description=(
            "Tile the genome into bins, label each bin per feature (positive when at least "
            "half of it lies in a peak), keep positive bins plus a share of negatives, hold "
            "out chromosomes or regions for valid/test (no input window crosses a holdout "
            "boundary), and write OUT/{train,valid,test}.h5 (x: uint8 N x 4 x L, A,C,G,T; "
            "y: uint8 N x F), OUT/features.tsv and OUT/dataset.json (rows, positives and "
            "positive rate per split and feature). A split with no rows or with no positive "
            "of a feature is an error."
        ),
    )
    p.add_argument("--fasta", type=Path, required=True, help="genome FASTA (plain text)")
    p.add_argument("--features", type=Path, required=True, help="features.tsv")
    p.add_argument("--bed-dir", type=Path, required=True, help="folder of <feature>.bed files")
    add_out_dir(p)
    p.add_argument("--bin-size", type=int, default=200, help="label bin in bp (default 200)")
    p.add_argument("--seq-len", type=int, default=1000, help="input window in bp (default 1000)")
    holdout = (
        "comma-separated chromosomes (chr11), regions chrom:start-end (1-based, inclusive, "
        "as samtools writes them) or BED files of regions"
    )
    p.add_argument("--valid-chroms", type=_csv, default=[], help=f"validation: {holdout}")
    p.add_argument("--test-chroms", type=_csv, default=[], help=f"test: {holdout}")
    p.add_argument(
        "--holdout-fraction",
        type=float,
        default=None,
        help=(
            "instead of --valid-chroms/--test-chroms: hold out two contiguous blocks of this "
            "fraction of the genome each, at its end (valid, then test); for a genome with "
            "too few chromosomes, e.g. 0.1"
        ),
    )
    p.add_argument(
        "--negative-fraction",
        type=float,
        default=0.1,
        help="share of the other (negative) bins kept (default 0.1)",
    )
    p.add_argument(
        "--anchor-categories",
        type=_csv,
        default=[],
        help=(
            "comma-separated feature categories (features.tsv) whose positives keep a bin, "
            "e.g. TF as DeepSEA did; other bins count as negatives (default: every feature)"
        ),
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
    add_out_dir(p)
    p.add_argument("--chunk-size", type=int, default=1024)
    p.set_defaults(func=_cmd_import_deepsea)

    p = sub.add_parser(
        "import-npz",
        help="convert a NAS-Bench-360 style .npz (x/y_train, _val, _test) to HDF5",
        description=(
            "Write OUT_DIR/{train,valid,test}.h5, features.tsv (label_00 ...) and "
            "dataset.json from NPZ: x_train (N, L, 4) one-hot and y_train (N, F) 0/1, and "
            "the same for _val and _test (the layout of NAS-Bench-360's DeepSEA task)."
        ),
    )
    p.add_argument("--npz", type=Path, required=True, help="the .npz file")
    add_out_dir(p)
    p.add_argument(
        "--base-order",
        default="AGCT",
        help="one-hot channel order of the file (default AGCT, DeepSEA's, from which "
        "NAS-Bench-360's file is cut)",
    )
    p.add_argument("--chunk-size", type=int, default=1024)
    p.set_defaults(func=_cmd_import_npz)

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

    p = sub.add_parser("extract", help="safely extract members of tar archives into one folder")
    p.add_argument("--archive", type=Path, nargs="+", required=True, help="one or more archives")
    add_out_dir(p)
    p.add_argument(
        "--members", nargs="*", default=None, help="base names to extract (from every archive)"
    )
    p.add_argument(
        "--flatten", action="store_true", help="drop folders inside the archive from the paths"
    )
    p.set_defaults(func=_cmd_extract)
