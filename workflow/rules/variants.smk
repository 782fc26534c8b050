# Variant-effect scoring: every trained model scores every variant set (VARIANT_SETS)
# with Selene; results/<run>/variants/<vset>/<model>/{scores.h5,skipped.tsv,summary.json}.
VARIANTS = config["variants"]


if DATA["source"] == "deepsea":

    ruleorder: prepare_genome > download_input

    rule prepare_genome:
        input:
            downloaded("hg19.fa.gz"),
        output:
            fasta=f"{DOWNLOADS['dir']}/hg19.fa",
            fai=f"{DOWNLOADS['dir']}/hg19.fa.fai",
        log:
            "logs/downloads/prepare_genome_hg19.log",
        benchmark:
            "logs/benchmarks/downloads/prepare_genome_hg19.tsv",
        threads: 1
        resources:
            mem_mb=1000,
            runtime=60,
        conda:
            ENV
        shell:
            "amber prepare-genome --input {input} --out {output.fasta} > {log} 2>&1"


# With variants.shards > 1 each (set, model) is scored by that many jobs, one block of
# whole chunks each, into shards/<i>/, and merge_variant_scores writes the usual files.
SHARDS = VARIANTS["shards"]
SCORE_DIR = (
    f"{OUT}/variants/{{vset}}/{{model}}/shards/{{shard}}"
    if SHARDS > 1
    else f"{OUT}/variants/{{vset}}/{{model}}"
)
SCORE_LOG = "{vset}/{model}/{shard}" if SHARDS > 1 else "{vset}/{model}"


rule score_variants:
    input:
        model=f"{OUT}/models/{{model}}/model.pt",
        sidecar=f"{OUT}/models/{{model}}/model.json",
        vcf=lambda wildcards: VARIANT_SETS[wildcards.vset],
        fasta=genome_fasta(),
        features=f"{OUT}/data/features.tsv",
    output:
        scores=f"{SCORE_DIR}/scores.h5",
        skipped=f"{SCORE_DIR}/skipped.tsv",
        summary=f"{SCORE_DIR}/summary.json",
    log:
        f"{LOGS}/score_variants/{SCORE_LOG}.log",
    benchmark:
        f"{LOGS}/benchmarks/score_variants/{SCORE_LOG}.tsv",
    params:
        model_dir=folder_of("model", of="input"),
        out=folder_of("scores"),
        batch_size=VARIANTS["batch_size"],
        chunk_size=VARIANTS["chunk_size"],
        multiallelic=VARIANTS["multiallelic"],
        device=VARIANTS["device"],
        shard=lambda wildcards: f"--shard {wildcards.shard}/{SHARDS}" if SHARDS > 1 else "",
    threads: VARIANTS["resources"]["threads"]
    resources:
        **gpu_resources(VARIANTS["resources"]),
    wildcard_constraints:
        vset="|".join(VARIANT_SETS),
        model="[A-Za-z0-9_]+",
        shard="[0-9]+",
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} amber score-variants --model {params.model_dir}"
        " --vcf {input.vcf} --fasta {input.fasta} --features {input.features}"
        " --out-dir {params.out} --batch-size {params.batch_size}"
        " --chunk-size {params.chunk_size} --multiallelic {params.multiallelic}"
        " --device {params.device} --threads {threads} {params.shard} > {log} 2>&1"


if SHARDS > 1:

    rule merge_variant_scores:
        input:
            expand(
                f"{OUT}/variants/{{{{vset}}}}/{{{{model}}}}/shards/{{shard}}/scores.h5",
                shard=range(1, SHARDS + 1),
            ),
        output:
            scores=f"{OUT}/variants/{{vset}}/{{model}}/scores.h5",
            skipped=f"{OUT}/variants/{{vset}}/{{model}}/skipped.tsv",
            summary=f"{OUT}/variants/{{vset}}/{{model}}/summary.json",
        log:
            f"{LOGS}/merge_variant_scores/{{vset}}/{{model}}.log",
        benchmark:
            f"{LOGS}/benchmarks/merge_variant_scores/{{vset}}/{{model}}.tsv",
        params:
            shards=lambda wildcards, input: " ".join(str(Path(p).parent) for p in input),
            out=folder_of("scores"),
        threads: 1
        resources:
            mem_mb=VARIANTS["resources"]["mem_mb"],
            runtime=VARIANTS["resources"]["runtime"],
        wildcard_constraints:
            vset="|".join(VARIANT_SETS),
            model="[A-Za-z0-9_]+",
        conda:
            ENV
        shell:
            "amber merge-shards --shards {params.shards} --out-dir {params.out}"
            " > {log} 2>&1"
