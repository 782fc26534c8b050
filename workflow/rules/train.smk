# Final training from scratch by one trainer: every searched and sampled architecture
# (filters x train.width_multiplier, dropout after pooling) and the baselines.
TRAIN = config["train"]
# Keys of the train section that are workflow settings, not `amber train` options.
TRAIN_WORKFLOW_KEYS = {"baselines", "baseline_dir", "baseline_width", "width_multiplier", "resources"}
TRAIN_OPTIONS = cli_flags(
    {k: v for k, v in TRAIN.items() if k not in TRAIN_WORKFLOW_KEYS}
    | {"rc_augment": rc_augment(config)}
)
# Every model of this run: searched_<i>, sampled_<i>, baseline_<name> (see model_names()).
MODEL_NAME = r"(searched|sampled)_[0-9]+|baseline_[A-Za-z0-9_-]+"

# The trained models (for the Snakefile's `rule all`).


rule train_model:
    wildcard_constraints:
        name=r"(searched|sampled)_[0-9]+",
    input:
        arch=f"{OUT}/search/{{name}}/arch.json",
        space=SEARCH["model_space"],
        train=f"{OUT}/data/train.h5",
        valid=f"{OUT}/data/valid.h5",
    output:
        model=f"{OUT}/models/{{name}}/model.pt",
        info=f"{OUT}/models/{{name}}/model.json",
        epochs=f"{OUT}/models/{{name}}/epochs.csv",
    log:
        f"{LOGS}/train_model/{{name}}.log",
    benchmark:
        f"{LOGS}/benchmarks/train_model/{{name}}.tsv",
    params:
        out=folder_of("model"),
        width=TRAIN["width_multiplier"],
        options=TRAIN_OPTIONS,
    threads: TRAIN["resources"]["threads"]
    resources:
        **gpu_resources(TRAIN["resources"]),
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} amber train --arch {input.arch} --space {input.space}"
        " --train {input.train} --valid {input.valid} --out-dir {params.out} --name {wildcards.name}"
        " --width-multiplier {params.width} --threads {threads} {params.options}"
        " > {log} 2>&1"


rule train_baseline:
    wildcard_constraints:
        baseline=r"[A-Za-z0-9_-]+",
    input:
        arch=f"{TRAIN['baseline_dir']}/{{baseline}}.json",
        train=f"{OUT}/data/train.h5",
        valid=f"{OUT}/data/valid.h5",
    output:
        model=f"{OUT}/models/baseline_{{baseline}}/model.pt",
        info=f"{OUT}/models/baseline_{{baseline}}/model.json",
        epochs=f"{OUT}/models/baseline_{{baseline}}/epochs.csv",
    log:
        f"{LOGS}/train_baseline/{{baseline}}.log",
    benchmark:
        f"{LOGS}/benchmarks/train_baseline/{{baseline}}.tsv",
    params:
        out=folder_of("model"),
        width=TRAIN["baseline_width"],
        options=TRAIN_OPTIONS,
    threads: TRAIN["resources"]["threads"]
    resources:
        **gpu_resources(TRAIN["resources"]),
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} amber train --arch {input.arch}"
        " --train {input.train} --valid {input.valid} --out-dir {params.out}"
        " --name baseline_{wildcards.baseline} --width-multiplier {params.width}"
        " --threads {threads} {params.options} > {log} 2>&1"
