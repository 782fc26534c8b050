"""`amber` subcommands of the asb stage: simulate-asb, convert-asb, import-asb, asb
(Fig. 4a is drawn by `amber plot fig4a`)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from amber.asb.config import AsbSimConfig, CallRules
from amber.cliutil import add_out_dir, dataclass_flags, from_flags

log = logging.getLogger("amber")


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def _cmd_simulate_asb(args: argparse.Namespace) -> None:
    from amber.asb.simulate import simulate_asb

    summary = simulate_asb(args.genome_dir, args.out_dir, from_flags(AsbSimConfig, args))
    log.info(
        "simulated ASB: %d rows, %d variants, true effects %s -> %s",
        summary["n_rows"],
        summary["n_variants"],
        summary["true_effect"],
        args.out_dir,
    )


def _cmd_convert_asb(args: argparse.Namespace) -> None:
    from amber.asb.convert import convert_table

    table = convert_table(args.input, args.out, args.format)
    log.info("converted %d rows (%d TFs) to %s", len(table), table["tf"].nunique(), args.out)


def _cmd_import_asb(args: argparse.Namespace) -> None:
    from amber.asb.convert import import_asb

    summary = import_asb(args.input, args.out_dir, fmt=args.format, vcf=args.vcf, fasta=args.fasta)
    log.info("imported ASB table into %s: %s", args.out_dir, summary)


def _cmd_asb(args: argparse.Namespace) -> None:
    from amber.asb.benchmark import run_benchmark

    models = dict(args.scores)
    if len(models) != len(args.scores):
        raise ValueError("--scores names a model twice")
    groups = {}
    for name, members in args.groups:
        names = [m for m in members.split(",") if m]
        if not names:
            log.warning("asb: group %s has no models; left out", name)
            continue
        groups[name] = names
    pwms = None
    if args.pwm or args.jaspar:
        from amber.asb.pwm import jaspar_pfms, motif_pwms, read_pfms

        pfms = read_pfms(args.pwm) if args.pwm else {}
        if args.jaspar:
            pfms.update(jaspar_pfms(dict(args.jaspar), args.jaspar_release))
        pwms = motif_pwms(pfms)
    summary = run_benchmark(
        args.table,
        args.features,
        models,
        groups,
        args.out_dir,
        from_flags(CallRules, args),
        pwms=pwms,
        fasta=args.fasta,
    )
    log.info(
        "ASB benchmark -> %s: calls %s; TFs with loss AUROC %s, gain AUROC %s, excluded %s",
        args.out_dir,
        summary["calls"],
        summary["tfs_loss"],
        summary["tfs_gain"],
        summary["tfs_excluded"],
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add the asb-stage subcommands to the `amber` parser."""
    p = sub.add_parser(
        "simulate-asb",
        help="simulate allele-specific binding on the simulated genome (ground truth)",
        description=(
            "Draw heterozygous SNVs in the TF peaks of a simulated genome (GENOME_DIR from "
            "`amber simulate`: genome.fa, features.tsv, peaks/, motif_instances.tsv, "
            "elements.tsv, motifs.json) with allelic read counts driven by the change in "
            "motif match, and write OUT_DIR/asb_table.tsv (chrom, pos (1-based), ref, alt, "
            "tf, ref_reads, alt_reads, cell_type + truth columns true_effect, mechanism, "
            "delta_pwm, delta_effective, expected_ref_fraction, site), OUT_DIR/"
            "asb_variants.vcf (unique variants, VCF 4.2) and OUT_DIR/simulation.json."
        ),
    )
    p.add_argument("--genome-dir", type=Path, required=True, help="simulated genome folder")
    add_out_dir(p)
    dataclass_flags(p, AsbSimConfig)
    p.set_defaults(func=_cmd_simulate_asb)

    p = sub.add_parser(
        "convert-asb",
        help="convert a published ASB table (Wagih et al. 2018) to the ASB table format",
        description=(
            "Read IN (format wagih: the supplementary table of Wagih et al. 2018 with columns "
            "chr, pos, ref, alt, tf, ref_reads, alt_reads[, p_binomial, fdr_binomial, "
            "deepsea_col, ds_logfc, deltasvm, deepbind_max_delta_raw, jaspar_max_delta_raw, "
            "best_meme_max_delta_raw]; gzip allowed) and write OUT in the workflow's ASB table "
            "format (chrom, pos, ref, alt, tf, ref_reads, alt_reads, cell_type, feature, "
            "pvalue, fdr, score_<method>)."
        ),
    )
    p.add_argument("--in", dest="input", type=Path, required=True, help="input table")
    p.add_argument("--out", type=Path, required=True, help="output asb_table.tsv")
    p.add_argument("--format", choices=("wagih", "amber"), default="wagih")
    p.set_defaults(func=_cmd_convert_asb)

    p = sub.add_parser(
        "import-asb",
        help="a user's ASB table (+ VCF) -> OUT_DIR/asb_table.tsv and asb_variants.vcf",
        description=(
            "Validate (and with --format wagih convert) an ASB table into "
            "OUT_DIR/asb_table.tsv and write OUT_DIR/asb_variants.vcf: a copy of --vcf (which "
            "must hold every variant of the table) or, without it, the table's unique "
            "variants. With --fasta every REF is checked against the genome."
        ),
    )
    p.add_argument("--in", dest="input", type=Path, required=True, help="ASB table")
    p.add_argument("--format", choices=("amber", "wagih"), default="amber")
    p.add_argument("--vcf", type=Path, default=None, help="VCF of the variants (optional)")
    p.add_argument("--fasta", type=Path, default=None, help="genome FASTA (optional)")
    add_out_dir(p)
    p.set_defaults(func=_cmd_import_asb)

    p = sub.add_parser(
        "asb",
        help="ASB benchmark: AUROC per TF, direction accuracy, Wilcoxon (Fig. 4a data)",
        description=(
            "Call loss/gain/neutral variants of an ASB table (binomial test, BH FDR, read "
            "filter), score them with each model (logfc at the TF's feature(s) from "
            "scores.h5), groups of models (mean rank-transformed score), the table's "
            "score_<method> columns and the PWM baseline, and write into OUT_DIR: "
            "asb_calls.tsv (per-variant calls and scores), asb_auroc.tsv (tf, class, method, "
            "kind, auroc, n_pos, n_neutral), asb_tfs.tsv (variants per class, TFs included), "
            "direction_accuracy.tsv, wilcoxon.tsv and asb_summary.json."
        ),
    )
    p.add_argument("--table", type=Path, required=True, help="asb_table.tsv")
    p.add_argument("--features", type=Path, required=True, help="features.tsv of the models")
    p.add_argument(
        "--scores",
        type=_pair,
        nargs="*",
        default=[],
        metavar="MODEL=SCORES_H5",
        help="variant scores of each model (scores.h5 of the variants stage)",
    )
    p.add_argument(
        "--groups",
        type=_pair,
        nargs="*",
        default=[],
        metavar="GROUP=MODEL,MODEL",
        help="model groups, e.g. searched=searched_1,searched_2 sampled=sampled_1,sampled_2",
    )
    p.add_argument("--pwm", type=Path, default=None, help="motifs.json (PFMs) for the baseline")
    p.add_argument(
        "--jaspar",
        type=_pair,
        nargs="*",
        default=[],
        metavar="TF=JASPAR_ID",
        help="PWM baseline motifs by JASPAR ID from pyjaspar (offline), e.g. CTCF=MA0139.2",
    )
    p.add_argument("--jaspar-release", default="JASPAR2024")
    p.add_argument("--fasta", type=Path, default=None, help="genome FASTA (PWM baseline)")
    add_out_dir(p)
    dataclass_flags(p, CallRules)
    p.set_defaults(func=_cmd_asb)
