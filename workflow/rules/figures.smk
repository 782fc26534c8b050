# Figures of the paper: PNG (in the Snakemake report), PDF and a JSON sidecar with the
# plotted numbers, all under results/<run>/figures/.


rule plot_fig2a:
    input:
        evaluations=expand(f"{OUT}/evaluate/{{model}}.tsv", model=model_names()),
    output:
        png=report(
            f"{OUT}/figures/fig2a.png",
            caption="../report/fig2a.rst",
            category="Figures",
            labels={"figure": "Fig. 2a", "content": "test AUROC/AUPR per category"},
        ),
        pdf=f"{OUT}/figures/fig2a.pdf",
        sidecar=f"{OUT}/figures/fig2a.json",
    log:
        f"{LOGS}/plot_fig2a.log",
    benchmark:
        f"{LOGS}/benchmarks/plot_fig2a.tsv",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "amber plot fig2a --evaluations {input.evaluations} --out {output.png} > {log} 2>&1"


rule plot_fig3a:
    input:
        op_probs=expand(
            f"{OUT}/search/searched_{{i}}/op_probs.tsv", i=range(1, SEARCH["n_searched"] + 1)
        ),
    output:
        png=report(
            f"{OUT}/figures/fig3a.png",
            caption="../report/fig3a.rst",
            category="Figures",
            labels={"figure": "Fig. 3a", "content": "op selection probability per layer"},
        ),
        pdf=f"{OUT}/figures/fig3a.pdf",
        sidecar=f"{OUT}/figures/fig3a.json",
    log:
        f"{LOGS}/plot_fig3a.log",
    benchmark:
        f"{LOGS}/benchmarks/plot_fig3a.tsv",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "amber plot fig3a --op-probs {input.op_probs} --out {output.png} > {log} 2>&1"


rule plot_fig3b:
    input:
        embeddings=expand(
            f"{OUT}/search/searched_{{i}}/op_embeddings.tsv", i=range(1, SEARCH["n_searched"] + 1)
        ),
    output:
        png=report(
            f"{OUT}/figures/fig3b.png",
            caption="../report/fig3b.rst",
            category="Figures",
            labels={"figure": "Fig. 3b", "content": "PCA of op embeddings"},
        ),
        pdf=f"{OUT}/figures/fig3b.pdf",
        sidecar=f"{OUT}/figures/fig3b.json",
    log:
        f"{LOGS}/plot_fig3b.log",
    benchmark:
        f"{LOGS}/benchmarks/plot_fig3b.tsv",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "amber plot fig3b --embeddings {input.embeddings} --out {output.png} > {log} 2>&1"


rule plot_search_progress:
    input:
        history=expand(
            f"{OUT}/search/searched_{{i}}/history.csv", i=range(1, SEARCH["n_searched"] + 1)
        ),
    output:
        png=report(
            f"{OUT}/figures/search_progress.png",
            caption="../report/search_progress.rst",
            category="Figures",
            labels={"figure": "Search progress", "content": "reward and skip density per step"},
        ),
        pdf=f"{OUT}/figures/search_progress.pdf",
        sidecar=f"{OUT}/figures/search_progress.json",
    log:
        f"{LOGS}/plot_search_progress.log",
    benchmark:
        f"{LOGS}/benchmarks/plot_search_progress.tsv",
    params:
        skip_target=SEARCH["controller"]["skip_target"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "amber plot search-progress --history {input.history}"
        " --skip-target {params.skip_target} --out {output.png} > {log} 2>&1"
