# What each trained model learned: attributions (DeepLIFT/SHAP, ISM), TF-MoDISco motifs,
# first-layer filter motifs and their JASPAR matches, under results/<run>/interpret/<model>/;
# on the simulated genome also truth.tsv (planted TFs recovered, attribution AUROC) and the
# recovery figure. Opt-in (interpret.enabled): ~0.5-1 minute per model on 2 cores.

INTERPRET = config["interpret"]
# Only the simulated genome knows where its motifs are.
INTERPRET_TRUTH = DATA["source"] == "simulate"
# Output name -> file of rule interpret_model (logos.png is added as a report item).
INTERPRET_FILES = {
    "attributions": "attributions.h5",
    "motifs": "motifs.h5",
    "meme": "motifs.meme",
    "matches": "matches.tsv",
    "summary": "summary.json",
    **({"truth": "truth.tsv"} if INTERPRET_TRUTH else {}),
}


rule interpret_model:
    wildcard_constraints:
        name=MODEL_NAME,
    input:
        model=f"{OUT}/models/{{name}}/model.pt",
        info=f"{OUT}/models/{{name}}/model.json",
        test=f"{OUT}/data/test.h5",
        features=f"{OUT}/data/features.tsv",
        instances=[f"{OUT}/genome/motif_instances.tsv"] if INTERPRET_TRUTH else [],
    output:
        **{key: f"{OUT}/interpret/{{name}}/{f}" for key, f in INTERPRET_FILES.items()},
        logos=report(
            f"{OUT}/interpret/{{name}}/logos.png",
            caption="../report/interpret_logos.rst",
            category="Interpretation",
            labels={"model": "{name}", "content": "discovered motifs"},
        ),
    log:
        f"{LOGS}/interpret_model/{{name}}.log",
    benchmark:
        f"{LOGS}/benchmarks/interpret_model/{{name}}.tsv",
    params:
        model=folder_of("model", of="input"),
        out_dir=folder_of("summary"),
        instances=lambda wildcards, input: (
            f"--instances {input.instances}" if INTERPRET_TRUTH else ""
        ),
        options=cli_flags(
            {
                k: INTERPRET[k]
                for k in ("n_shuffles", "max_per_feature", "ism_sequences", "q_threshold")
            }
        ),
        device=config["train"]["device"],
    threads: INTERPRET["resources"]["threads"]
    resources:
        **gpu_resources(INTERPRET["resources"]),
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} amber interpret --model {params.model} --dataset {input.test}"
        " --features {input.features} {params.instances} --out-dir {params.out_dir}"
        " {params.options} --device {params.device} --threads {threads} > {log} 2>&1"


rule plot_interpret_recovery:
    input:
        truth=expand(f"{OUT}/interpret/{{name}}/truth.tsv", name=model_names()),
    output:
        png=report(
            f"{OUT}/figures/interpret_recovery.png",
            caption="../report/interpret_recovery.rst",
            category="Figures",
            labels={"figure": "Interpretation", "content": "planted TFs recovered per model"},
        ),
        pdf=f"{OUT}/figures/interpret_recovery.pdf",
        sidecar=f"{OUT}/figures/interpret_recovery.json",
    log:
        f"{LOGS}/plot_interpret_recovery.log",
    benchmark:
        f"{LOGS}/benchmarks/plot_interpret_recovery.tsv",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "amber plot interpret-recovery --truth {input.truth} --out {output.png} > {log} 2>&1"
