# Stratified LD score regression of every model's variant annotations (Fig. 5).
# source simulate: msprime genotypes + simulated GWAS on the run's genome (default run);
# source reference: 1000 Genomes EUR, baselineLD v2.2 and UK Biobank sumstats (paper run).
LDSC = config["ldsc"]
LDSC_OUT = f"{OUT}/ldsc"
LDSC_SIMULATED = LDSC["source"] == "simulate" or (
    LDSC["source"] == "auto" and DATA["source"] != "deepsea"
)
LDSC_REF = LDSC["reference"]
LDSC_TRAITS = [
    t["name"] for t in (LDSC["gwas"]["traits"] if LDSC_SIMULATED else LDSC_REF["traits"])
]
# The simulated genome has motif instances and regulatory elements; a BED genome has not.
LDSC_SIM_GENOME = DATA["source"] == "simulate"
# Both routes write one layout; only the file prefixes differ (the simulator's own, or
# those inside the reference archives). @ = chromosome.
#   genotypes/reference/  PLINK panel and allele frequencies
#   genotypes/snps.vcf, genotypes.json  the panel's SNPs, scored by every model
#   ldscores/<set>/       LD scores: baseline and weights (simulated: computed here;
#                         reference: extracted), every model, the truth
#   gwas/<trait>.sumstats.gz  summary statistics (simulated, or munged downloads)
LDSC_PREFIX = (
    {"plink": "ref.", "frq": "ref.", "baseline": "baseline.", "weights": "weights."}
    if LDSC_SIMULATED
    else {part: LDSC_REF[f"{part}_prefix"] for part in ("plink", "frq", "baseline", "weights")}
)
LDSC_PANEL = f"{LDSC_OUT}/genotypes/reference"
LDSC_BFILE = f"{LDSC_PANEL}/{LDSC_PREFIX['plink']}@"
LDSC_FRQ = f"{LDSC_PANEL}/{LDSC_PREFIX['frq']}@"
LDSC_BASELINE = f"{LDSC_OUT}/ldscores/baseline/{LDSC_PREFIX['baseline']}@"
LDSC_WEIGHTS = f"{LDSC_OUT}/ldscores/weights/{LDSC_PREFIX['weights']}@"
LDSC_SUMSTATS = f"{LDSC_OUT}/gwas/{{trait}}.sumstats.gz"
# LD score sets this workflow computes (on the reference route baseline and weights are
# extracted into the same folders instead).
LDSC_COMPUTED_SET = (
    "[A-Za-z0-9_-]+" if LDSC_SIMULATED else "(?!(?:baseline|weights)$)[A-Za-z0-9_-]+"
)
# Annotation sets regressed against the baseline: every model, plus the truth if simulated.
LDSC_TESTED = [*model_names(), *(["truth"] if LDSC_SIMULATED else [])]


if LDSC_SIMULATED:

    rule simulate_genotypes:
        input:
            fasta=lambda wildcards: genome_inputs(wildcards)["fasta"],
        output:
            reference=directory(LDSC_PANEL),
            panel=directory(f"{LDSC_OUT}/genotypes/panel"),
            vcf=f"{LDSC_OUT}/genotypes/snps.vcf",
            summary=f"{LDSC_OUT}/genotypes/genotypes.json",
        log:
            f"{LOGS}/simulate_genotypes.log",
        benchmark:
            f"{LOGS}/benchmarks/simulate_genotypes.tsv",
        params:
            out=folder_of("vcf"),
            margin=(DATA["seq_len"] + 1) // 2,
            n_reference=LDSC["genotypes"]["n_reference"],
            n_panel=LDSC["genotypes"]["n_panel"],
            min_maf=LDSC["genotypes"]["min_maf"],
            recombination_rate=LDSC["genotypes"]["recombination_rate"],
            mutation_rate=LDSC["genotypes"]["mutation_rate"],
            max_snps_per_mb=LDSC["genotypes"]["max_snps_per_mb"],
            seed=LDSC["genotypes"]["seed"],
        threads: 1
        resources:
            mem_mb=LDSC["resources"]["mem_mb"],
            runtime=LDSC["resources"]["runtime"],
        conda:
            ENV
        shell:
            "amber simulate-genotypes --fasta {input.fasta} --out-dir {params.out}"
            " --n-reference {params.n_reference} --n-panel {params.n_panel}"
            " --min-maf {params.min_maf} --margin {params.margin}"
            " --recombination-rate {params.recombination_rate}"
            " --mutation-rate {params.mutation_rate}"
            " --max-snps-per-mb {params.max_snps_per_mb} --seed {params.seed} > {log} 2>&1"

    rule simulate_gwas:
        input:
            unpack(genome_inputs),
            reference=LDSC_PANEL,
            panel=f"{LDSC_OUT}/genotypes/panel",
            summary=f"{LDSC_OUT}/genotypes/genotypes.json",
            motifs=[f"{OUT}/genome/motif_instances.tsv"] if LDSC_SIM_GENOME else [],
        output:
            sumstats=expand(LDSC_SUMSTATS, trait=LDSC_TRAITS),
            truth=directory(f"{LDSC_OUT}/gwas/truth"),
            truth_json=f"{LDSC_OUT}/gwas/truth.json",
        log:
            f"{LOGS}/simulate_gwas.log",
        benchmark:
            f"{LOGS}/benchmarks/simulate_gwas.tsv",
        params:
            genotypes=folder_of("summary", of="input"),
            out=folder_of("truth_json"),
            motifs=lambda wildcards, input: f"--motifs {input.motifs}" if input.motifs else "",
            functional=LDSC["gwas"]["functional"] if LDSC_SIM_GENOME else "peaks",
            traits=" ".join(
                f"--trait {t['name']}:{t['h2']}:{t['enrichment']}" for t in LDSC["gwas"]["traits"]
            ),
            n=LDSC["gwas"]["n"],
            window=LDSC["ld_window_cm"],
            seed=LDSC["gwas"]["seed"],
        threads: 1
        resources:
            mem_mb=LDSC["resources"]["mem_mb"],
            runtime=LDSC["resources"]["runtime"],
        conda:
            ENV
        shell:
            "amber simulate-gwas --genotypes {params.genotypes} {params.motifs}"
            " --features {input.features} --peaks {input.bed_dir} --out-dir {params.out}"
            " {params.traits} --n-gwas {params.n} --functional {params.functional}"
            " --window-cm {params.window} --seed {params.seed} > {log} 2>&1"

    rule ldsc_baseline_annot:
        input:
            reference=LDSC_PANEL,
            summary=f"{LDSC_OUT}/genotypes/genotypes.json",
            fasta=lambda wildcards: genome_inputs(wildcards)["fasta"],
            elements=[f"{OUT}/genome/elements.tsv"] if LDSC_SIM_GENOME else [],
        output:
            directory(f"{LDSC_OUT}/annot/baseline"),
        log:
            f"{LOGS}/ldsc_baseline_annot.log",
        benchmark:
            f"{LOGS}/benchmarks/ldsc_baseline_annot.tsv",
        params:
            bfile=LDSC_BFILE,
            elements=lambda wildcards, input: (
                f"--elements {input.elements}" if input.elements else ""
            ),
        threads: 1
        resources:
            mem_mb=LDSC["resources"]["mem_mb"],
            runtime=LDSC["resources"]["runtime"],
        conda:
            ENV
        shell:
            "amber ldsc-baseline --bfile {params.bfile} --genotypes-json {input.summary}"
            " --fasta {input.fasta} {params.elements} --out-dir {output} --name baseline"
            " > {log} 2>&1"

else:

    # Archives extracted into each folder of the layout above.
    LDSC_ARCHIVES = {
        "genotypes/reference": ["plink", "frq"],
        "ldscores/baseline": ["baseline"],
        "ldscores/weights": ["weights"],
    }

    rule ldsc_extract_reference:
        input:
            lambda wildcards: [
                downloaded(LDSC_REF[part]) for part in LDSC_ARCHIVES[wildcards.folder]
            ],
        output:
            directory(f"{LDSC_OUT}/{{folder}}"),
        log:
            f"{LOGS}/ldsc_extract_reference/{{folder}}.log",
        benchmark:
            f"{LOGS}/benchmarks/ldsc_extract_reference/{{folder}}.tsv",
        wildcard_constraints:
            folder="|".join(LDSC_ARCHIVES),
        threads: 1
        resources:
            mem_mb=2000,
            runtime=120,
        conda:
            ENV
        shell:
            "amber extract --archive {input} --out-dir {output} --flatten > {log} 2>&1"

    rule ldsc_reference_vcf:
        input:
            panel=LDSC_PANEL,
            fasta=genome_fasta(),
        output:
            vcf=f"{LDSC_OUT}/genotypes/snps.vcf",
            summary=f"{LDSC_OUT}/genotypes/genotypes.json",
        log:
            f"{LOGS}/ldsc_reference_vcf.log",
        benchmark:
            f"{LOGS}/benchmarks/ldsc_reference_vcf.tsv",
        params:
            bfile=LDSC_BFILE,
            out=folder_of("vcf"),
        threads: 1
        resources:
            mem_mb=16000,
            runtime=240,
        conda:
            ENV
        shell:
            "amber ldsc-reference-vcf --bfile {params.bfile} --fasta {input.fasta}"
            " --out-dir {params.out} > {log} 2>&1"

    rule ldsc_munge:
        input:
            sumstats=lambda wildcards: downloaded(
                {t["name"]: t["file"] for t in LDSC_REF["traits"]}[wildcards.trait]
            ),
            panel=LDSC_PANEL,
        output:
            sumstats=LDSC_SUMSTATS,
            counts=f"{LDSC_OUT}/gwas/{{trait}}.json",
        log:
            f"{LOGS}/ldsc_munge/{{trait}}.log",
        benchmark:
            f"{LOGS}/benchmarks/ldsc_munge/{{trait}}.tsv",
        params:
            reference=LDSC_BFILE,
            n=lambda wildcards: next(
                (f"--n {t['n']}" for t in LDSC_REF["traits"]
                 if t["name"] == wildcards.trait and t.get("n")),
                "",
            ),
        threads: 1
        resources:
            mem_mb=16000,
            runtime=120,
        conda:
            ENV
        shell:
            "amber ldsc-munge --sumstats {input.sumstats} --out {output.sumstats}"
            " --reference {params.reference} {params.n} --counts {output.counts} > {log} 2>&1"


rule ldsc_annot:
    input:
        scores=f"{OUT}/variants/gwas/{{model}}/scores.h5",
        features=f"{OUT}/data/features.tsv",
        reference=LDSC_PANEL,
        summary=f"{LDSC_OUT}/genotypes/genotypes.json",
    output:
        directory(f"{LDSC_OUT}/annot/{{model}}"),
    log:
        f"{LOGS}/ldsc_annot/{{model}}.log",
    benchmark:
        f"{LOGS}/benchmarks/ldsc_annot/{{model}}.tsv",
    wildcard_constraints:
        model="|".join(model_names()) or "no_model",
    params:
        bfile=LDSC_BFILE,
        groups=",".join(LDSC["annot"]["groups"]),
        kinds=",".join(LDSC["annot"]["kinds"]),
        top=LDSC["annot"]["top_fraction"],
    threads: 1
    resources:
        mem_mb=LDSC["resources"]["mem_mb"],
        runtime=LDSC["resources"]["runtime"],
    conda:
        ENV
    shell:
        "amber ldsc-annot --scores {input.scores} --features {input.features}"
        " --bfile {params.bfile} --genotypes-json {input.summary} --out-dir {output}"
        " --name {wildcards.model} --groups {params.groups} --kinds {params.kinds}"
        " --top-fraction {params.top} > {log} 2>&1"


# ldsc.shard_chromosomes: one LD score job per (set, chromosome) into ldscore_shards/,
# then merge_ldscores copies them into the folder one job per set writes otherwise.
LDSC_SHARDED = LDSC["shard_chromosomes"]
LDSC_SCORE_DIR = (
    f"{LDSC_OUT}/ldscore_shards/{{aset}}/{{chrom}}"
    if LDSC_SHARDED
    else f"{LDSC_OUT}/ldscores/{{aset}}"
)
LDSC_SCORE_LOG = "{aset}/{chrom}" if LDSC_SHARDED else "{aset}"


rule ldsc_scores:
    input:
        reference=LDSC_PANEL,
        annot=lambda wildcards: (
            []
            if wildcards.aset == "weights"
            else f"{LDSC_OUT}/gwas/truth"
            if wildcards.aset == "truth"
            else f"{LDSC_OUT}/annot/{wildcards.aset}"
        ),
        print_snps=[] if LDSC_SIMULATED else [downloaded(LDSC_REF["print_snps"])],
    output:
        directory(LDSC_SCORE_DIR),
    log:
        f"{LOGS}/ldsc_scores/{LDSC_SCORE_LOG}.log",
    benchmark:
        f"{LOGS}/benchmarks/ldsc_scores/{LDSC_SCORE_LOG}.tsv",
    wildcard_constraints:
        aset=LDSC_COMPUTED_SET,
        chrom="[0-9]+",
    params:
        bfile=LDSC_BFILE,
        annot=lambda wildcards, input: f"--annot {input.annot}/{wildcards.aset}.@" if input.annot else "",
        print_snps=lambda wildcards, input: (
            f"--print-snps {input.print_snps}" if input.print_snps else ""
        ),
        chroms=lambda wildcards: f"--chroms {wildcards.chrom}" if LDSC_SHARDED else "",
        window=LDSC["ld_window_cm"],
        chunk=LDSC["chunk_size"],
    threads: LDSC["resources"]["threads"]
    resources:
        mem_mb=LDSC["resources"]["mem_mb"],
        runtime=LDSC["resources"]["runtime"],
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} amber ldsc-l2 --bfile {params.bfile} {params.annot} --out {output}/{wildcards.aset}.@"
        " {params.chroms} --ld-wind-cm {params.window} --chunk-size {params.chunk}"
        " {params.print_snps} > {log} 2>&1"


if LDSC_SHARDED:

    rule merge_ldscores:
        input:
            expand(
                f"{LDSC_OUT}/ldscore_shards/{{{{aset}}}}/{{chrom}}",
                chrom=_ldsc_chromosomes(),
            ),
        output:
            directory(f"{LDSC_OUT}/ldscores/{{aset}}"),
        log:
            f"{LOGS}/merge_ldscores/{{aset}}.log",
        benchmark:
            f"{LOGS}/benchmarks/merge_ldscores/{{aset}}.tsv",
        wildcard_constraints:
            aset=LDSC_COMPUTED_SET,
        threads: 1
        resources:
            mem_mb=1000,
            runtime=LDSC["resources"]["runtime"],
        conda:
            ENV
        shell:
            "(mkdir -p {output} && for shard in {input}; do cp -p $shard/* {output}/; done)"
            " > {log} 2>&1"


# One job per annotation set writes the tables of every trait (the LD scores are read once).
rule ldsc_h2:
    input:
        sumstats=expand(LDSC_SUMSTATS, trait=LDSC_TRAITS),
        baseline=f"{LDSC_OUT}/ldscores/baseline",
        weights=f"{LDSC_OUT}/ldscores/weights",
        frq=LDSC_PANEL,
        tested=lambda wildcards: (
            [] if wildcards.aset == "baseline" else f"{LDSC_OUT}/ldscores/{wildcards.aset}"
        ),
    output:
        expand(f"{LDSC_OUT}/h2/{{{{aset}}}}/{{trait}}.tsv", trait=LDSC_TRAITS),
    log:
        f"{LOGS}/ldsc_h2/{{aset}}.log",
    benchmark:
        f"{LOGS}/benchmarks/ldsc_h2/{{aset}}.tsv",
    wildcard_constraints:
        aset="[A-Za-z0-9_-]+",
    params:
        traits=" ".join(LDSC_TRAITS),
        baseline=LDSC_BASELINE,
        weights=LDSC_WEIGHTS,
        frq=LDSC_FRQ,
        tested=lambda wildcards, input: (
            f"--tested {input.tested}/{wildcards.aset}.@" if input.tested else ""
        ),
        n_blocks=LDSC["n_blocks"],
    threads: LDSC["resources"]["threads"]
    resources:
        mem_mb=LDSC["resources"]["mem_mb"],
        runtime=LDSC["resources"]["runtime"],
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} amber ldsc-h2 --sumstats {input.sumstats} --trait {params.traits}"
        " --baseline {params.baseline} --weights {params.weights} --frq {params.frq}"
        " {params.tested} --n-blocks {params.n_blocks} --out {output} > {log} 2>&1"


rule ldsc_summarize:
    input:
        tables=expand(f"{LDSC_OUT}/h2/{{model}}/{{trait}}.tsv", model=model_names(),
                      trait=LDSC_TRAITS),
        annotations=expand(f"{LDSC_OUT}/annot/{{model}}", model=model_names()),
        baseline=expand(f"{LDSC_OUT}/h2/baseline/{{trait}}.tsv", trait=LDSC_TRAITS),
        truth=expand(f"{LDSC_OUT}/h2/truth/{{trait}}.tsv", trait=LDSC_TRAITS)
        if LDSC_SIMULATED
        else [],
        truth_json=[f"{LDSC_OUT}/gwas/truth.json"] if LDSC_SIMULATED else [],
        evaluation=f"{OUT}/evaluate/summary.tsv",
    output:
        enrichment=report(
            f"{LDSC_OUT}/summary/enrichment.tsv",
            caption="../report/table_ldsc.rst",
            category="Tables",
        ),
        traits=f"{LDSC_OUT}/summary/traits.tsv",
        models=f"{LDSC_OUT}/summary/models.tsv",
        summary=f"{LDSC_OUT}/summary/summary.json",
    log:
        f"{LOGS}/ldsc_summarize.log",
    benchmark:
        f"{LOGS}/benchmarks/ldsc_summarize.tsv",
    params:
        annotations=lambda wildcards, input: " ".join(
            f"{a}/annotations.tsv" for a in input.annotations
        ),
        truth=lambda wildcards, input: (
            f"--truth {' '.join(input.truth)} --truth-json {input.truth_json}"
            if input.truth
            else ""
        ),
        out=folder_of("summary"),
        fdr=LDSC["fdr"],
        max_ratio=f"--max-ratio {LDSC['max_ratio']}" if LDSC["max_ratio"] is not None else "",
        reference_model=(
            f"--reference-model {LDSC['reference_model']}" if LDSC["reference_model"] else ""
        ),
    threads: 1
    resources:
        mem_mb=LDSC["resources"]["mem_mb"],
        runtime=LDSC["resources"]["runtime"],
    conda:
        ENV
    shell:
        "amber ldsc-summarize --tables {input.tables} --annotations {params.annotations}"
        " --baseline {input.baseline} {params.truth} --evaluation {input.evaluation}"
        " --fdr {params.fdr} {params.max_ratio} {params.reference_model}"
        " --out-dir {params.out} > {log} 2>&1"


rule plot_fig5:
    input:
        f"{LDSC_OUT}/summary/summary.json",
        f"{LDSC_OUT}/summary/enrichment.tsv",
        f"{LDSC_OUT}/summary/traits.tsv",
        f"{LDSC_OUT}/summary/models.tsv",
    output:
        png=report(f"{OUT}/figures/fig5.png", caption="../report/fig5.rst", category="Figures"),
        pdf=f"{OUT}/figures/fig5.pdf",
        json=f"{OUT}/figures/fig5.json",
    log:
        f"{LOGS}/plot_fig5.log",
    benchmark:
        f"{LOGS}/benchmarks/plot_fig5.tsv",
    params:
        summary=folder_of(0, of="input"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    shell:
        "amber plot fig5 --summary-dir {params.summary} --out {output.png} > {log} 2>&1"
