# Data stage: simulated genome or downloads -> one-hot HDF5 datasets (train/valid/test).


rule simulate_genome:
    output:
        fasta=f"{OUT}/genome/genome.fa",
        fai=f"{OUT}/genome/genome.fa.fai",
        features=f"{OUT}/genome/features.tsv",
        peaks=directory(f"{OUT}/genome/peaks"),
        motifs=f"{OUT}/genome/motif_instances.tsv",
        elements=f"{OUT}/genome/elements.tsv",
        pfms=f"{OUT}/genome/motifs.json",
        summary=f"{OUT}/genome/simulation.json",
    log:
        f"{LOGS}/simulate_genome.log",
    benchmark:
        f"{LOGS}/benchmarks/simulate_genome.tsv",
    params:
        out=folder_of("fasta"),
        seed=DATA["simulate"]["seed"],
        n_chroms=DATA["simulate"]["n_chroms"],
        chrom_length=DATA["simulate"]["chrom_length"],
        densities=cli_flags(
            {k: v for k, v in DATA["simulate"].items() if k.endswith("_per_mb")}
        ),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    shell:
        "amber simulate --out-dir {params.out} --seed {params.seed}"
        " --n-chroms {params.n_chroms} --chrom-length {params.chrom_length} {params.densities}"
        " > {log} 2>&1"


rule download_input:
    output:
        f"{DOWNLOADS['dir']}/{{name}}",
    log:
        f"logs/downloads/{{name}}.log",
    benchmark:
        f"logs/benchmarks/downloads/{{name}}.tsv",
    params:
        manifest=DOWNLOADS["manifest"],
        unpinned="--allow-unpinned" if DOWNLOADS["allow_unpinned"] else "",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=240,
    conda:
        ENV
    shell:
        "amber download --manifest {params.manifest} --name {wildcards.name}"
        " --out {output} {params.unpinned} > {log} 2>&1"


# The simulated/BED route and the DeepSEA route write the same dataset files.
if DATA["source"] == "deepsea":

    rule extract_deepsea:
        input:
            downloaded(DATA["deepsea"]["bundle"]),
        output:
            expand(f"{OUT}/deepsea/{{split}}.mat", split=["train", "valid", "test"]),
        log:
            f"{LOGS}/extract_deepsea.log",
        benchmark:
            f"{LOGS}/benchmarks/extract_deepsea.tsv",
        params:
            out=folder_of(0),
        threads: 1
        resources:
            mem_mb=2000,
            runtime=120,
        conda:
            ENV
        shell:
            "amber extract --archive {input} --out-dir {params.out} --flatten"
            " --members train.mat valid.mat test.mat > {log} 2>&1"


    rule import_deepsea:
        input:
            mats=expand(f"{OUT}/deepsea/{{split}}.mat", split=["train", "valid", "test"]),
            features=DATA["deepsea"]["features"],
        output:
            h5=expand(f"{OUT}/data/{{split}}.h5", split=["train", "valid", "test"]),
            features=f"{OUT}/data/features.tsv",
            summary=f"{OUT}/data/dataset.json",
        log:
            f"{LOGS}/import_deepsea.log",
        benchmark:
            f"{LOGS}/benchmarks/import_deepsea.tsv",
        params:
            bundle_dir=lambda wildcards, input: str(Path(input.mats[0]).parent),
            out=folder_of("summary"),
            chunk_size=DATA["chunk_size"],
        threads: 2
        resources:
            mem_mb=16000,
            runtime=600,
        conda:
            ENV
        shell:
            "amber import-deepsea --bundle-dir {params.bundle_dir} --features {input.features}"
            " --out-dir {params.out} --chunk-size {params.chunk_size} > {log} 2>&1"

elif DATA["source"] == "npz":

    rule import_npz:
        input:
            downloaded(DATA["npz"]["file"]),
        output:
            h5=expand(f"{OUT}/data/{{split}}.h5", split=["train", "valid", "test"]),
            features=f"{OUT}/data/features.tsv",
            summary=f"{OUT}/data/dataset.json",
        log:
            f"{LOGS}/import_npz.log",
        benchmark:
            f"{LOGS}/benchmarks/import_npz.tsv",
        params:
            out=folder_of("summary"),
            base_order=DATA["npz"]["base_order"],
            chunk_size=DATA["chunk_size"],
        threads: 1
        resources:
            mem_mb=16000,
            runtime=120,
        conda:
            ENV
        shell:
            "amber import-npz --npz {input} --out-dir {params.out} --base-order {params.base_order}"
            " --chunk-size {params.chunk_size} > {log} 2>&1"

else:

    rule make_dataset:
        input:
            unpack(genome_inputs),
        output:
            h5=expand(f"{OUT}/data/{{split}}.h5", split=["train", "valid", "test"]),
            features=f"{OUT}/data/features.tsv",
            summary=f"{OUT}/data/dataset.json",
        log:
            f"{LOGS}/make_dataset.log",
        benchmark:
            f"{LOGS}/benchmarks/make_dataset.tsv",
        params:
            out=folder_of("summary"),
            bin_size=DATA["bin_size"],
            seq_len=DATA["seq_len"],
            holdouts=holdout_flags(DATA),
            negative_fraction=DATA["negative_fraction"],
            anchor=" ".join(
                ["--anchor-categories", ",".join(DATA["anchor_categories"])]
                if DATA["anchor_categories"]
                else []
            ),
            chunk_size=DATA["chunk_size"],
            seed=DATA["seed"],
        threads: 1
        resources:
            mem_mb=4000,
            runtime=60,
        conda:
            ENV
        shell:
            "amber make-dataset --fasta {input.fasta} --features {input.features}"
            " --bed-dir {input.bed_dir} --out-dir {params.out} --bin-size {params.bin_size}"
            " --seq-len {params.seq_len} {params.holdouts}"
            " --negative-fraction {params.negative_fraction} --chunk-size {params.chunk_size}"
            " {params.anchor} --seed {params.seed} > {log} 2>&1"
