# Allele-specific binding benchmark (paper Fig. 4a): an ASB table (simulated on the
# simulated genome, or the user's) -> its variants scored by every model (variants stage)
# -> AUROC per TF, direction accuracy, Wilcoxon -> Fig. 4a.
ASB = config["asb"]
ASB_RULE_KEYS = ("min_reads", "loss_ratio", "gain_ratio", "fdr_allelic", "fdr_neutral", "min_per_class")
ASB_SIMULATED = DATA["source"] == "simulate" and not ASB["table"]
# Genome of the variants (PWM baseline, REF check); DeepSEA data is hg19.
ASB_FASTA = ASB["fasta"] or genome_fasta()
# PFMs of the PWM baseline: the simulated genome's motifs.json; JASPAR IDs (asb.jaspar) add to it.
ASB_MOTIFS = f"{OUT}/genome/motifs.json" if DATA["source"] == "simulate" else None
ASB_HAS_PWM = bool(ASB_MOTIFS or ASB["jaspar"])


if ASB_SIMULATED:

    rule simulate_asb:
        input:
            fasta=f"{OUT}/genome/genome.fa",
            features=f"{OUT}/genome/features.tsv",
            peaks=f"{OUT}/genome/peaks",
            instances=f"{OUT}/genome/motif_instances.tsv",
            elements=f"{OUT}/genome/elements.tsv",
            motifs=f"{OUT}/genome/motifs.json",
        output:
            table=f"{OUT}/asb/asb_table.tsv",
            vcf=VARIANT_SETS["asb"],
            summary=f"{OUT}/asb/simulation.json",
        log:
            f"{LOGS}/simulate_asb.log",
        benchmark:
            f"{LOGS}/benchmarks/simulate_asb.tsv",
        params:
            genome=folder_of("fasta", of="input"),
            out=folder_of("table"),
            options=cli_flags(ASB["simulate"]),
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        conda:
            ENV
        shell:
            "amber simulate-asb --genome-dir {params.genome} --out-dir {params.out}"
            " {params.options} > {log} 2>&1"

elif ASB["table"]:

    rule import_asb:
        input:
            table=ASB["table"],
            vcf=ASB["vcf"] or [],
            fasta=ASB_FASTA,
        output:
            table=f"{OUT}/asb/asb_table.tsv",
            vcf=VARIANT_SETS["asb"],
        log:
            f"{LOGS}/import_asb.log",
        benchmark:
            f"{LOGS}/benchmarks/import_asb.tsv",
        params:
            out=folder_of("table"),
            format=ASB["table_format"],
            vcf=lambda wildcards, input: f"--vcf {input.vcf}" if input.vcf else "",
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        conda:
            ENV
        shell:
            "amber import-asb --in {input.table} --format {params.format} {params.vcf}"
            " --fasta {input.fasta} --out-dir {params.out} > {log} 2>&1"


rule asb_benchmark:
    input:
        table=f"{OUT}/asb/asb_table.tsv",
        features=f"{OUT}/data/features.tsv",
        scores=expand(f"{OUT}/variants/asb/{{model}}/scores.h5", model=model_names()),
        motifs=ASB_MOTIFS or [],
        fasta=ASB_FASTA if ASB_HAS_PWM else [],
    output:
        auroc=report(
            f"{OUT}/asb/benchmark/asb_auroc.tsv",
            caption="../report/table_asb.rst",
            category="Tables",
        ),
        calls=f"{OUT}/asb/benchmark/asb_calls.tsv",
        tfs=f"{OUT}/asb/benchmark/asb_tfs.tsv",
        direction=f"{OUT}/asb/benchmark/direction_accuracy.tsv",
        wilcoxon=f"{OUT}/asb/benchmark/wilcoxon.tsv",
        summary=f"{OUT}/asb/benchmark/asb_summary.json",
    log:
        f"{LOGS}/asb_benchmark.log",
    benchmark:
        f"{LOGS}/benchmarks/asb_benchmark.tsv",
    params:
        out=folder_of("auroc"),
        scores=lambda wildcards, input: " ".join(
            f"{name}={path}" for name, path in zip(model_names(), input.scores)
        ),
        groups=" ".join(
            f"{kind}={','.join(model_names((kind,)))}"
            for kind in ("searched", "sampled")
            if model_names((kind,))
        ),
        pwm=lambda wildcards, input: (
            (f"--pwm {input.motifs} " if input.motifs else "")
            + (f"--fasta {input.fasta} " if input.fasta else "")
            + " ".join(f"--jaspar {tf}={mid}" for tf, mid in ASB["jaspar"].items())
            + f" --jaspar-release {ASB['jaspar_release']}"
        ),
        rules=cli_flags({key: ASB[key] for key in ASB_RULE_KEYS}),
    threads: 1
    resources:
        mem_mb=ASB["resources"]["mem_mb"],
        runtime=ASB["resources"]["runtime"],
    conda:
        ENV
    shell:
        "amber asb --table {input.table} --features {input.features}"
        " --scores {params.scores} --groups {params.groups} {params.pwm} {params.rules}"
        " --out-dir {params.out} > {log} 2>&1"


rule plot_fig4a:
    input:
        auroc=f"{OUT}/asb/benchmark/asb_auroc.tsv",
        wilcoxon=f"{OUT}/asb/benchmark/wilcoxon.tsv",
    output:
        png=report(f"{OUT}/figures/fig4a.png", caption="../report/fig4a.rst", category="Figures"),
        pdf=f"{OUT}/figures/fig4a.pdf",
        json=f"{OUT}/figures/fig4a.json",
    log:
        f"{LOGS}/plot_fig4a.log",
    benchmark:
        f"{LOGS}/benchmarks/plot_fig4a.tsv",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "amber plot fig4a --auroc {input.auroc} --wilcoxon {input.wilcoxon}"
        " --out {output.png} > {log} 2>&1"
