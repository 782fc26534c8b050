# Architecture search: N ENAS searches (seeds differ) and N uniformly sampled
# architectures (the paper's AMBER-Base comparison).


rule search_architecture:
    input:
        space=SEARCH["model_space"],
        train=f"{OUT}/data/train.h5",
        valid=f"{OUT}/data/valid.h5",
    output:
        arch=f"{OUT}/search/searched_{{i}}/arch.json",
        history=f"{OUT}/search/searched_{{i}}/history.csv",
        op_probs=f"{OUT}/search/searched_{{i}}/op_probs.tsv",
        embeddings=f"{OUT}/search/searched_{{i}}/op_embeddings.tsv",
        supernet=f"{OUT}/search/searched_{{i}}/supernet.pt",
        summary=f"{OUT}/search/searched_{{i}}/summary.json",
    log:
        f"{LOGS}/search_architecture/searched_{{i}}.log",
    benchmark:
        f"{LOGS}/benchmarks/search_architecture/searched_{{i}}.tsv",
    params:
        out=folder_of("arch"),
        seed=lambda wildcards: SEARCH["seed"] + int(wildcards.i),
        options=search_options(),
    threads: SEARCH["resources"]["threads"]
    resources:
        **gpu_resources(SEARCH["resources"]),
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} amber search --space {input.space} --train {input.train} --valid {input.valid}"
        " --out-dir {params.out} --seed {params.seed} --threads {threads} {params.options}"
        " > {log} 2>&1"


rule sample_architecture:
    input:
        space=SEARCH["model_space"],
    output:
        arch=f"{OUT}/search/sampled_{{i}}/arch.json",
    log:
        f"{LOGS}/sample_architecture/sampled_{{i}}.log",
    benchmark:
        f"{LOGS}/benchmarks/sample_architecture/sampled_{{i}}.tsv",
    params:
        seed=lambda wildcards: SEARCH["seed"] + 1000 + int(wildcards.i),
        skip_prob=SEARCH["controller"]["skip_target"],
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        ENV
    shell:
        "amber sample-arch --space {input.space} --seed {params.seed}"
        " --skip-prob {params.skip_prob} --out {output.arch} > {log} 2>&1"
