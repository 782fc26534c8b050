"""`amber` subcommands of the variants stage: score-variants, prepare-genome."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from amber.cliutil import add_out_dir
from amber.train.commands import add_rc_average_flag

log = logging.getLogger("amber")


def _cmd_score_variants(args: argparse.Namespace) -> None:
    import torch

    from amber.data.features import read_features
    from amber.train.model_io import load_model, read_model_info
    from amber.variants.score import ScoreConfig, score_variants
    from amber.variants.shards import parse_shard

    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    info = read_model_info(args.model)
    if args.features is None:  # the model's own list (model.json) is the one to use
        features = list(info.get("features") or [])
        if not features:
            raise ValueError(f"{args.model}/model.json lists no features; give --features")
    else:
        features = [f.name for f in read_features(args.features)]
        _check_model_features(info.get("features"), features, args.model, args.features)
    model = load_model(args.model, rc_average=args.rc_average)
    config = ScoreConfig(
        batch_size=args.batch_size,
        chunk_size=args.chunk_size,
        multiallelic=args.multiallelic,
        use_cuda=use_cuda,
    )
    score_variants(
        model,
        features,
        args.vcf,
        args.fasta,
        args.out_dir,
        seq_len=int(info["seq_len"]),
        config=config,
        model_name=args.model.name,
        weights=args.model / "model.pt",
        shard=parse_shard(args.shard) if args.shard else None,
    )
    log.info("variant scores written to %s", args.out_dir / "scores.h5")


def _cmd_merge_variant_scores(args: argparse.Namespace) -> None:
    from amber.variants.shards import merge_shards

    summary = merge_shards(args.shards, args.out_dir)
    log.info(
        "merged %d shards: %d variants -> %s",
        len(args.shards),
        summary["counts"]["scored"],
        args.out_dir,
    )


def _check_model_features(
    trained: list[str] | None, features: list[str], model_dir: Path, table: Path
) -> None:
    """The model's own feature list (model.json), when it has one, must be features.tsv's."""
    if trained is None or list(trained) == features:
        return
    if sorted(trained) == sorted(features):
        raise ValueError(f"{table}: features are in another order than in {model_dir}/model.json")
    raise ValueError(
        f"{table}: lists {len(features)} features that differ from the {len(trained)} the "
        f"model in {model_dir} was trained on (model.json)"
    )


def _cmd_prepare_genome(args: argparse.Namespace) -> None:
    from amber.variants.genome import prepare_genome

    n = prepare_genome(args.input, args.out)
    log.info("genome FASTA written to %s (+ .fai, %d sequences)", args.out, n)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the variants-stage subcommands to the `amber` parser."""
    p = sub.add_parser(
        "score-variants",
        help="score VCF variants with a trained model through Selene (ref/alt/diff/logfc)",
        description=(
            "Score every biallelic variant of VCF (plain or .vcf.gz) with the model in "
            "MODEL (model.pt + model.json) using selene-sdk's variant_effect_prediction, "
            "one input window per allele centred on the variant. Records are checked "
            "against FASTA first. Writes OUT_DIR/scores.h5 (datasets ref, alt, diff = "
            "alt - ref, logfc = logit(alt) - logit(ref): float32 variants x features in "
            "FEATURES order; chrom, pos (1-based), id, ref_allele, alt_allele, vcf_line; "
            "attrs features, model), OUT_DIR/skipped.tsv (chrom pos id ref alt reason line "
            "detail; reasons: malformed_line, unknown_chromosome, non_acgt_allele, "
            "alt_equals_ref, allele_too_long, ref_mismatch, too_close_to_end, multiallelic) "
            "and OUT_DIR/summary.json (counts per outcome)."
        ),
    )
    p.add_argument("--model", type=Path, required=True, help="model folder (model.pt, model.json)")
    p.add_argument("--vcf", type=Path, required=True, help="VCF (.vcf or bgzip/gzip .vcf.gz)")
    p.add_argument("--fasta", type=Path, required=True, help="genome FASTA (plain text, .fai)")
    p.add_argument(
        "--features",
        type=Path,
        default=None,
        help="features.tsv of the model (default: the feature list in its model.json)",
    )
    add_out_dir(p)
    p.add_argument("--batch-size", type=int, default=128, help="sequences per batch (default 128)")
    add_rc_average_flag(p)
    p.add_argument(
        "--chunk-size", type=int, default=20000, help="variants per Selene call (default 20000)"
    )
    p.add_argument(
        "--multiallelic",
        choices=("split", "skip"),
        default="split",
        help="split multi-ALT records into biallelic variants (default) or skip them",
    )
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto = the GPU when torch sees one (default auto)",
    )
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    p.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="score only the I-th of N blocks of the variants (merge with merge-shards)",
    )
    p.set_defaults(func=_cmd_score_variants)

    p = sub.add_parser(
        "merge-shards",
        help="merge the shards of score-variants --shard into one scores.h5",
        description=(
            "Merge the OUT_DIRs of score-variants --shard 1/N .. N/N (given in shard order) "
            "into OUT_DIR/scores.h5, skipped.tsv and summary.json, as one unsharded run "
            "writes them (its timing fields are the shards' sums)."
        ),
    )
    p.add_argument("--shards", type=Path, nargs="+", required=True, help="shard folders, in order")
    add_out_dir(p)
    p.set_defaults(func=_cmd_merge_variant_scores)

    p = sub.add_parser(
        "prepare-genome",
        help="decompress a (b)gzipped genome FASTA and index it (.fai)",
        description=(
            "Write the plain-text FASTA OUT (+ OUT.fai) from INPUT (.fa, .fa.gz or bgzip), "
            "as Selene's Genome and pyfaidx need."
        ),
    )
    p.add_argument("--input", type=Path, required=True, help="genome FASTA, optionally gzipped")
    p.add_argument("--out", type=Path, required=True, help="plain FASTA to write")
    p.set_defaults(func=_cmd_prepare_genome)
