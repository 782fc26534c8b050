"""`amber` subcommands of the ldsc stage (stratified LD score regression, Fig. 5):
simulate-genotypes, simulate-gwas, ldsc-reference-vcf, ldsc-munge, ldsc-baseline,
ldsc-annot, ldsc-l2, ldsc-h2, ldsc-summarize (Fig. 5 is drawn by `amber plot fig5`).

File sets split by chromosome are named with ``@`` for the chromosome code, as ldsc's
``--bfile ref.@`` (without ``@`` the code is appended: ``ref.`` -> ``ref.1``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from amber.cliutil import add_out_dir

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("amber")


def _quiet_msprime() -> None:
    logging.getLogger("msprime").setLevel(logging.WARNING)


def _cmd_simulate_genotypes(args: argparse.Namespace) -> None:
    from amber.ldsc.genotypes import GenotypeConfig, simulate_genotypes

    _quiet_msprime()
    cfg = GenotypeConfig(
        n_reference=args.n_reference,
        n_panel=args.n_panel,
        min_maf=args.min_maf,
        margin=args.margin,
        recombination_rate=args.recombination_rate,
        mutation_rate=args.mutation_rate,
        max_snps_per_mb=args.max_snps_per_mb,
        seed=args.seed,
    )
    summary = simulate_genotypes(args.fasta, args.out_dir, cfg)
    log.info(
        "%d SNPs on %d chromosomes written to %s",
        summary["n_snps"],
        len(summary["chromosomes"]),
        args.out_dir,
    )


def _cmd_simulate_gwas(args: argparse.Namespace) -> None:
    from amber.ldsc.gwas import parse_trait, simulate_gwas

    traits = [parse_trait(t) for t in args.trait]
    truth = simulate_gwas(
        args.genotypes,
        args.out_dir,
        traits,
        n_gwas=args.n_gwas,
        motifs=args.motifs,
        features=args.features,
        peaks_dir=args.peaks,
        functional=args.functional,
        window_cm=args.window_cm,
        seed=args.seed,
    )
    f = truth["functional"]
    log.info(
        "%d traits; %d functional SNPs (%.2f%% of common SNPs) written to %s",
        len(traits),
        f["n_functional"],
        100 * f["fraction_common"],
        args.out_dir,
    )


def _cmd_reference_vcf(args: argparse.Namespace) -> None:
    from amber.ldsc.genotypes import reference_vcf

    reference_vcf(args.bfile, args.fasta, args.out_dir)


def _reference_alleles(path: str) -> pd.DataFrame:
    """SNP/A1/A2 of a .bim pattern (with @) or a table with a header (w_hm3.snplist)."""
    import pandas as pd

    from amber.ldsc.plink import chromosome_prefixes, read_bim

    if "@" in path or path.endswith(".bim"):
        prefixes = chromosome_prefixes(path.removesuffix(".bim"))
        return pd.concat([read_bim(f"{p}.bim") for p in prefixes.values()])[["SNP", "A1", "A2"]]
    table = pd.read_csv(path, sep=r"\s+", dtype=str)
    missing = [c for c in ("SNP", "A1", "A2") if c not in table.columns]
    if missing:
        raise ValueError(f"{path}:1: missing column(s) {', '.join(missing)}")
    return table


def _cmd_munge(args: argparse.Namespace) -> None:
    from amber.ldsc.sumstats import munge_file

    reference = _reference_alleles(args.reference) if args.reference else None
    counts = munge_file(args.sumstats, args.out, n=args.n, reference=reference)
    if args.counts:
        import json

        from amber.fileio import atomic_path

        with atomic_path(args.counts) as tmp:
            tmp.write_text(json.dumps(counts, indent=1) + "\n")


def _code_names(path: Path | None) -> dict[int, str] | None:
    if path is None:
        return None
    import json

    codes = json.loads(Path(path).read_text())["chromosome_codes"]
    return {int(code): name for name, code in codes.items()}


def _cmd_baseline(args: argparse.Namespace) -> None:
    from amber.ldsc.annot import read_reference_snps, simulated_baseline, write_annotation_set

    snps = read_reference_snps(args.bfile, _code_names(args.genotypes_json))
    matrix = simulated_baseline(snps, args.elements, args.fasta, args.bfile)
    write_annotation_set(snps, matrix, args.out_dir, args.name)
    log.info(
        "baseline annotations %s for %d SNPs written to %s",
        ", ".join(matrix.columns),
        len(matrix),
        args.out_dir,
    )


def _cmd_annot(args: argparse.Namespace) -> None:
    from amber.ldsc.annot import model_annotations, read_reference_snps, write_annotation_set

    snps = read_reference_snps(args.bfile, _code_names(args.genotypes_json))
    matrix, described, counts = model_annotations(
        args.scores,
        args.features,
        snps,
        group_types=args.groups,
        kinds=args.kinds,
        fraction=args.top_fraction,
    )
    write_annotation_set(snps, matrix, args.out_dir, args.name, described)
    log.info(
        "%d annotations of %s written to %s (SNPs: %s)",
        matrix.shape[1],
        args.scores,
        args.out_dir,
        counts,
    )


def _cmd_l2(args: argparse.Namespace) -> None:
    from amber.ldsc.fsutil import staged_files
    from amber.ldsc.ldscore import Window, compute_ldscores
    from amber.ldsc.plink import chromosome_prefixes

    window = Window(*args.window)
    chroms = list(chromosome_prefixes(args.bfile))
    if args.chroms:
        missing = sorted(set(args.chroms) - set(chroms))
        if missing:
            raise ValueError(
                f"{args.bfile}: no PLINK files for chromosome(s) {missing} (the workflow "
                "takes the list from ldsc.reference.chromosomes)"
            )
        chroms = [c for c in chroms if c in args.chroms]
    extract = set(Path(args.extract).read_text().split()) if args.extract else None
    print_snps = set(Path(args.print_snps).read_text().split()) if args.print_snps else None
    out = Path(args.out)
    with staged_files(out.parent) as tmp:
        counts = compute_ldscores(
            args.bfile,
            str(tmp / out.name),
            chroms,
            annot=args.annot,
            window=window,
            chunk=args.chunk_size,
            maf_min=args.maf,
            extract=extract,
            print_snps=print_snps,
            float_format=args.float_format,
        )
    log.info(
        "LD scores (%s %s window) for chromosomes %s written to %s",
        window.size,
        window.unit,
        ",".join(map(str, counts)),
        out.parent,
    )


def _cmd_h2(args: argparse.Namespace) -> None:
    from amber.ldsc.fsutil import write_table
    from amber.ldsc.sldsc import regress

    if len(args.sumstats) != len(args.trait) or len(args.out) != len(args.trait):
        raise ValueError("give one --sumstats and one --out per --trait, in the same order")
    if len(set(args.trait)) != len(args.trait):
        raise ValueError("a trait is named twice in --trait")
    tables = regress(
        dict(zip(args.trait, args.sumstats, strict=True)),
        args.baseline,
        args.weights,
        tested=args.tested,
        frq=args.frq,
        n_blocks=args.n_blocks,
        chisq_max=args.chisq_max,
        m_5_50=not args.not_M_5_50,
    )
    for trait, out in zip(args.trait, args.out, strict=True):
        table = tables[trait]
        write_table(table, out, float_format="%.8g")
        first = table.iloc[0]
        log.info(
            "%s: h2 %.4g (%.2g), intercept %.4g, %d annotation rows -> %s",
            trait,
            first["h2"],
            first["h2_se"],
            first["intercept"],
            len(table),
            out,
        )


def _cmd_summarize(args: argparse.Namespace) -> None:
    from amber.ldsc.summary import combine, read_auroc, summarise, write_summary

    tables: dict[str, list[Path]] = {}
    for path in args.tables:
        tables.setdefault(path.parent.name, []).append(path)
    annotations = {p.parent.name: p for p in args.annotations}
    missing = sorted(set(tables) - set(annotations))
    if missing:
        raise ValueError(f"no annotations.tsv for model(s) {', '.join(missing)}")
    results = combine(tables, annotations)
    summary = summarise(
        results,
        {p.name.removesuffix(".tsv"): p for p in args.baseline},
        truth={p.name.removesuffix(".tsv"): p for p in args.truth} if args.truth else None,
        truth_json=args.truth_json,
        auroc=read_auroc(args.evaluation),
        fdr=args.fdr,
        max_ratio=args.max_ratio,
        reference_model=args.reference_model,
    )
    write_summary(summary, args.out_dir)
    log.info("S-LDSC summary written to %s: %s", args.out_dir, summary["headline"])


def _csv(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def _window(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--ld-wind-cm",
        dest="window",
        type=lambda v: (float(v), "cm"),
        default=(1.0, "cm"),
        help="LD window in cM (default 1)",
    )
    group.add_argument("--ld-wind-kb", dest="window", type=lambda v: (float(v), "kb"))
    group.add_argument("--ld-wind-snps", dest="window", type=lambda v: (float(v), "snps"))


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the `amber` parser."""
    p = sub.add_parser(
        "simulate-genotypes",
        help="msprime genotypes (out-of-Africa, CEU) on the simulated genome -> PLINK + VCF",
        description=(
            "Simulate SNP genotypes on every chromosome of FASTA with msprime (Gutenkunst "
            "2009 three-population out-of-Africa model, CEU sampled; uniform recombination). "
            "Writes OUT/reference/ref.<c>.{bed,bim,fam,frq} (the LD reference panel), "
            "OUT/panel/panel.<c>.{bed,bim,fam} (the GWAS panel whose LD generates the "
            "simulated z-scores), OUT/snps.vcf (REF = the genome's base) and "
            "OUT/genotypes.json."
        ),
    )
    p.add_argument("--fasta", type=Path, required=True, help="genome FASTA (+ .fai)")
    add_out_dir(p)
    p.add_argument("--n-reference", type=int, default=500, help="reference individuals (500)")
    p.add_argument("--n-panel", type=int, default=3000, help="GWAS-panel individuals (3000)")
    p.add_argument("--min-maf", type=float, default=0.05, help="MAF filter (0.05)")
    p.add_argument(
        "--margin",
        type=int,
        default=500,
        help="bp kept free at chromosome ends, >= seq_len/2 (500)",
    )
    p.add_argument(
        "--recombination-rate",
        type=float,
        default=1e-8,
        help="per bp per generation (1e-8 = 1 cM/Mb)",
    )
    p.add_argument(
        "--mutation-rate",
        type=float,
        default=2.35e-8,
        help="per bp per generation (2.35e-8, Gutenkunst 2009)",
    )
    p.add_argument(
        "--max-snps-per-mb",
        type=float,
        default=0.0,
        help="thin to at most this many SNPs per Mb (0 = keep all)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=_cmd_simulate_genotypes)

    p = sub.add_parser(
        "simulate-gwas",
        help="simulated GWAS summary statistics with a planted enrichment in functional SNPs",
        description=(
            "Functional SNPs: inside bound motif instances and/or TF/DNase/Pol peaks of the "
            "simulated genome. Per trait NAME:H2:E, effects with total SNP heritability H2 "
            "and S-LDSC enrichment E of the functional SNPs; z = sqrt(N) R beta + MVN(0, R) "
            "from the GWAS panel's LD. Writes OUT/<trait>.sumstats.gz (SNP A1 A2 Z N), "
            "OUT/truth/truth.<c>.annot.gz and OUT/truth.json."
        ),
    )
    p.add_argument("--genotypes", type=Path, required=True, help="folder of simulate-genotypes")
    p.add_argument("--motifs", type=Path, help="genome/motif_instances.tsv")
    p.add_argument("--features", type=Path, help="genome/features.tsv")
    p.add_argument("--peaks", type=Path, help="genome/peaks folder")
    add_out_dir(p)
    p.add_argument(
        "--trait",
        action="append",
        required=True,
        help="NAME:H2:ENRICHMENT, repeatable (e.g. t1:0.1:5)",
    )
    p.add_argument("--n-gwas", type=float, default=100_000, help="GWAS sample size (1e5)")
    p.add_argument("--functional", choices=("motifs", "peaks", "both"), default="both")
    p.add_argument(
        "--window-cm",
        type=float,
        default=1.0,
        help="LD window of the simulated signal, the LD-score window (1 cM)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=_cmd_simulate_gwas)

    p = sub.add_parser(
        "ldsc-reference-vcf",
        help="sites VCF of a reference panel's SNPs (REF from the genome), for scoring",
        description=(
            "For an existing panel such as 1000 Genomes EUR (BFILE with @ for the "
            "chromosome): write OUT/snps.vcf with REF = the genome base (alleles matching "
            "neither strand are dropped and counted) and OUT/genotypes.json."
        ),
    )
    p.add_argument("--bfile", required=True, help="PLINK prefix with @, e.g. .../1000G.EUR.QC.@")
    p.add_argument("--fasta", type=Path, required=True)
    add_out_dir(p)
    p.set_defaults(func=_cmd_reference_vcf)

    p = sub.add_parser(
        "ldsc-munge",
        help="summary statistics -> ldsc .sumstats.gz, with ldsc munge's checks",
        description=(
            "Find SNP, A1, A2, Z (or BETA+SE, or P + sign) and N columns by name; drop and "
            "count rows with missing values, SNPs outside the reference, non-SNP or "
            "strand-ambiguous alleles, bad P, duplicated SNP IDs (first kept), low N and "
            "alleles not matching the reference. Writes OUT (SNP A1 A2 Z N)."
        ),
    )
    p.add_argument("--sumstats", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="output .sumstats.gz")
    p.add_argument("--n", type=float, default=None, help="sample size when there is no N column")
    p.add_argument(
        "--reference",
        default=None,
        help="reference alleles: a .bim pattern with @ or a SNP A1 A2 table",
    )
    p.add_argument("--counts", type=Path, default=None, help="write the drop counts (JSON)")
    p.set_defaults(func=_cmd_munge)

    p = sub.add_parser(
        "ldsc-baseline",
        help="baseline annotations of the simulated genome (ldsc .annot.gz per chromosome)",
        description=(
            "base, promoter/enhancer/insulator/CpG-island elements, 1-kb flanks, GC of the "
            "surrounding 1 kb and MAF quintiles for the SNPs of BFILE. Writes "
            "OUT/<name>.<c>.annot.gz and OUT/annotations.tsv."
        ),
    )
    p.add_argument("--bfile", required=True, help="reference PLINK prefix with @")
    p.add_argument(
        "--genotypes-json", type=Path, default=None, help="genotypes.json (chromosome code -> name)"
    )
    p.add_argument(
        "--elements",
        type=Path,
        default=None,
        help="genome/elements.tsv of a simulated genome (else no element columns)",
    )
    p.add_argument("--fasta", type=Path, required=True)
    add_out_dir(p)
    p.add_argument("--name", default="baseline", help="file prefix (baseline)")
    p.set_defaults(func=_cmd_baseline)

    p = sub.add_parser(
        "ldsc-annot",
        help="a model's variant annotations: max |P(alt) - P(ref)| over feature groups",
        description=(
            "From scores.h5 (diff), per feature group (all, category, cell_type, feature): "
            "each SNP's largest |diff| over the group's features, as a continuous annotation "
            "and/or binary (top fraction of SNPs). Unscored SNPs get 0. Writes "
            "OUT/<name>.<c>.annot.gz and OUT/annotations.tsv (one row per column)."
        ),
    )
    p.add_argument("--scores", type=Path, required=True, help="variants/gwas/<model>/scores.h5")
    p.add_argument("--features", type=Path, required=True, help="data/features.tsv")
    p.add_argument("--bfile", required=True, help="reference PLINK prefix with @")
    p.add_argument("--genotypes-json", type=Path, default=None)
    add_out_dir(p)
    p.add_argument("--name", default="annot", help="file prefix (annot)")
    p.add_argument(
        "--groups",
        type=_csv,
        default=["all", "cell_type", "category", "feature"],
        help="comma-separated group types (all,cell_type,category,feature)",
    )
    p.add_argument(
        "--kinds",
        type=_csv,
        default=["binary", "continuous"],
        help="binary and/or continuous (both)",
    )
    p.add_argument(
        "--top-fraction",
        type=float,
        default=0.05,
        help="share of SNPs in a binary annotation (0.05)",
    )
    p.set_defaults(func=_cmd_annot)

    p = sub.add_parser(
        "ldsc-l2",
        help="partitioned LD scores (ldsc --l2) for every chromosome",
        description=(
            "ldsc's LD scores: sum of unbiased r2 x annotation within the window, with "
            "ldsc's chunked window. Writes OUT.<c>.l2.ldscore.gz, .l2.M, .l2.M_5_50 (and "
            "a copy of the .annot.gz), all moved into place once every chromosome is done."
        ),
    )
    p.add_argument("--bfile", required=True, help="PLINK prefix with @")
    p.add_argument("--annot", default=None, help="annotation prefix with @ (none: one L2)")
    p.add_argument("--out", required=True, help="output prefix with @, e.g. ld/baseline.@")
    _window(p)
    p.add_argument("--chunk-size", type=int, default=50, help="ldsc's chunk size (50)")
    p.add_argument(
        "--chroms",
        type=lambda text: [int(c) for c in _csv(text)],
        default=None,
        help="only these chromosome codes, comma-separated (default: every one of --bfile)",
    )
    p.add_argument("--maf", type=float, default=0.0, help="keep SNPs with MAF > this (0)")
    p.add_argument("--extract", type=Path, default=None, help="SNP IDs to use (no --annot)")
    p.add_argument("--print-snps", type=Path, default=None, help="SNP IDs to write scores for")
    p.add_argument(
        "--float-format",
        default=None,
        help="printf-style number format such as %%.6g (default: full precision, so "
        "nothing is lost before the regression)",
    )
    p.set_defaults(func=_cmd_l2)

    p = sub.add_parser(
        "ldsc-h2",
        help="S-LDSC regression: baseline alone, or each tested annotation + baseline",
        description=(
            "ldsc's --h2 --overlap-annot estimator (see amber.ldsc.regression), for one or "
            "more traits (LD scores are read once). Without --tested: one row per baseline "
            "annotation. With --tested: one fit per tested annotation jointly with the "
            "baseline, one row each. Writes one TSV per trait (--out, in --trait order)."
        ),
    )
    p.add_argument(
        "--sumstats", type=Path, nargs="+", required=True, help="ldsc .sumstats.gz per trait"
    )
    p.add_argument("--trait", nargs="+", required=True, help="trait names (table column)")
    p.add_argument("--baseline", required=True, help="baseline LD score prefix (@)")
    p.add_argument("--weights", required=True, help="regression weight LD score prefix (@)")
    p.add_argument("--tested", default=None, help="tested annotations' LD score prefix (@)")
    p.add_argument("--frq", default=None, help="PLINK .frq prefix (@) for common SNPs")
    p.add_argument(
        "--not-M-5-50",
        action="store_true",
        help="count annotation SNPs from .l2.M (all SNPs) instead of .l2.M_5_50 (MAF > 5%%), "
        "as ldsc's --not-M-5-50; for LD scores shipped without .l2.M_5_50",
    )
    p.add_argument("--n-blocks", type=int, default=200, help="jackknife blocks (200)")
    p.add_argument(
        "--chisq-max",
        type=float,
        default=None,
        help="drop SNPs with chi2 >= this (default max(0.001 N, 80))",
    )
    p.add_argument("--out", type=Path, nargs="+", required=True, help="output TSV per trait")
    p.set_defaults(func=_cmd_h2)

    p = sub.add_parser(
        "ldsc-summarize",
        help="FDR and searched-vs-sampled comparison across models and traits",
        description=(
            "Inputs: ldsc-h2 tables h2/<model>/<trait>.tsv, annot/<model>/annotations.tsv, "
            "baseline-only tables h2/baseline/<trait>.tsv (and truth ones). Writes "
            "OUT_DIR/enrichment.tsv (every row + q), traits.tsv, models.tsv, summary.json."
        ),
    )
    p.add_argument("--tables", type=Path, nargs="+", required=True)
    p.add_argument("--annotations", type=Path, nargs="+", required=True)
    p.add_argument("--baseline", type=Path, nargs="+", required=True)
    p.add_argument("--truth", type=Path, nargs="*", default=None)
    p.add_argument("--truth-json", type=Path, default=None)
    p.add_argument("--evaluation", type=Path, default=None, help="evaluate/summary.tsv")
    p.add_argument("--fdr", type=float, default=0.05)
    p.add_argument(
        "--max-ratio",
        type=float,
        default=None,
        help="leave out traits with LDSC ratio >= this (paper: 0.1)",
    )
    p.add_argument(
        "--reference-model",
        default=None,
        help="fold changes over this model (default: best-AUROC searched model)",
    )
    add_out_dir(p)
    p.set_defaults(func=_cmd_summarize)
