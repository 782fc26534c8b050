# Test-set AUROC/AUPR per feature for every trained model, then the searched-vs-sampled
# summary and t-tests (the paper's Fig. 2a numbers).


rule evaluate_model:
    wildcard_constraints:
        name=MODEL_NAME,
    input:
        model=f"{OUT}/models/{{name}}/model.pt",
        info=f"{OUT}/models/{{name}}/model.json",
        test=f"{OUT}/data/test.h5",
        features=f"{OUT}/data/features.tsv",
    output:
        table=f"{OUT}/evaluate/{{name}}.tsv",
    log:
        f"{LOGS}/evaluate_model/{{name}}.log",
    benchmark:
        f"{LOGS}/benchmarks/evaluate_model/{{name}}.tsv",
    params:
        model=folder_of("model", of="input"),
        batch_size=TRAIN["eval_batch_size"],
        device=TRAIN["device"],
    threads: TRAIN["resources"]["threads"]
    resources:
        **gpu_resources({**TRAIN["resources"], "runtime": TRAIN["resources"]["eval_runtime"]}),
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} amber evaluate --model {params.model} --test {input.test}"
        " --features {input.features} --out {output.table} --batch-size {params.batch_size}"
        " --device {params.device} --threads {threads} > {log} 2>&1"


rule compare_models:
    input:
        tables=expand(f"{OUT}/evaluate/{{name}}.tsv", name=model_names()),
        infos=expand(f"{OUT}/models/{{name}}/model.json", name=model_names()),
    output:
        summary=report(
            f"{OUT}/evaluate/summary.tsv", caption="../report/table_auroc.rst", category="Tables"
        ),
        ttests=report(
            f"{OUT}/evaluate/ttests.tsv", caption="../report/table_ttests.rst", category="Tables"
        ),
    log:
        f"{LOGS}/compare_models.log",
    benchmark:
        f"{LOGS}/benchmarks/compare_models.tsv",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "amber compare --evaluations {input.tables} --models {input.infos}"
        " --summary {output.summary} --ttests {output.ttests} > {log} 2>&1"
