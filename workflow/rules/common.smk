# Input functions and paths shared by the rule files. Logic that is not about file
# paths belongs in the `amber` package, not here.
import csv
import sys
from pathlib import Path

# Rules call the `amber` CLI installed beside the Python running Snakemake
# (.venv/bin), so the workflow works without activating the virtualenv first.
shell.prefix(f'export PATH="{Path(sys.executable).parent}:$PATH"; ')

RUN = config["run"]
ENV = "../../envs/amber.yaml"
OUT = f"results/{RUN}"
LOGS = f"logs/{RUN}"
DATA = config["data"]
DOWNLOADS = config["downloads"]
SEARCH = config["search"]
CLUSTER = config["cluster"]
# Keys of the search section that are workflow settings, not `amber search` options.
SEARCH_WORKFLOW_KEYS = {"model_space", "n_searched", "n_sampled", "seed", "resources"}


def folder_of(key, of="output"):
    """Params function: the folder holding the named input/output file of a rule."""

    def folder(wildcards, input, output):
        files = input if of == "input" else output
        return str(Path(files[key]).parent)

    return folder


def download_manifest():
    """name -> row of the download manifest (resources/downloads.tsv)."""
    with open(DOWNLOADS["manifest"], newline="") as handle:
        rows = csv.DictReader(
            (line for line in handle if not line.startswith("#")), delimiter="\t"
        )
        return {row["name"]: row for row in rows}


def downloaded(name):
    """Local path of a manifest entry once downloaded."""
    return f"{DOWNLOADS['dir']}/{name}"


def genome_fasta():
    """The run's genome FASTA: the simulated one, the user's (data.bed.fasta) or, for
    DeepSEA-style data, hg19 as prepared from its download."""
    source = DATA["source"]
    if source == "simulate":
        return f"{OUT}/genome/genome.fa"
    if source == "bed":
        return DATA["bed"]["fasta"]
    return f"{DOWNLOADS['dir']}/hg19.fa"


def genome_inputs(wildcards):
    """FASTA, feature table and peak folder for the configured data source."""
    source = DATA["source"]
    if source == "simulate":
        base = f"{OUT}/genome"
        return {
            "fasta": genome_fasta(),
            "features": f"{base}/features.tsv",
            "bed_dir": f"{base}/peaks",
        }
    if source == "bed":
        return dict(DATA["bed"])
    raise ValueError(f"data.source={source!r} has no genome FASTA/BED inputs")


def holdout_flags(data):
    """make-dataset's holdout options: a fraction, or valid/test chromosomes or regions."""
    if data.get("holdout_fraction") is not None:
        return f"--holdout-fraction {data['holdout_fraction']}"
    valid, test = ",".join(data["valid_chroms"]), ",".join(data["test_chroms"])
    return f"--valid-chroms '{valid}' --test-chroms '{test}'"


def rc_augment(config):
    """train.rc_augment; null means on for own data (source bed: TF peaks are
    strand-symmetric) and off for the simulated genome and DeepSEA (the paper's recipe)."""
    value = config["train"].get("rc_augment")
    return value if value is not None else config["data"]["source"] == "bed"


def dataset_files():
    return expand(f"{OUT}/data/{{split}}.h5", split=["train", "valid", "test"])


def cli_flags(options, prefix=""):
    """{"child_batches": 20} -> "--child-batches 20". None (null in the config: every
    sample) becomes the CLI's explicit "all"."""
    flags = []
    for key, value in options.items():
        if value is None:
            value = "all"
        flag = f"--{prefix}{key.replace('_', '-')}"
        if isinstance(value, bool):
            flags.append(flag if value else f"--no-{prefix}{key.replace('_', '-')}")
        else:
            flags.append(f"{flag} {value}")
    return " ".join(flags)


def search_options():
    options = {k: v for k, v in SEARCH.items() if k not in SEARCH_WORKFLOW_KEYS}
    controller = options.pop("controller", {})
    return f"{cli_flags(options)} {cli_flags(controller, prefix='controller-')}".strip()


def gpu_resources(section_resources):
    """mem_mb/runtime of a GPU-capable rule (a section's `resources`), plus gpu=1 (and
    gpu_model) when the config says the cluster has GPUs."""
    resources = {"mem_mb": section_resources["mem_mb"], "runtime": section_resources["runtime"]}
    if CLUSTER["gpu"]:
        resources["gpu"] = 1
        if CLUSTER.get("gpu_model"):
            resources["gpu_model"] = CLUSTER["gpu_model"]
    return resources


def search_targets():
    searched = expand(f"{OUT}/search/searched_{{i}}/arch.json", i=range(1, SEARCH["n_searched"] + 1))
    sampled = expand(f"{OUT}/search/sampled_{{i}}/arch.json", i=range(1, SEARCH["n_sampled"] + 1))
    return [*searched, *sampled]


def final_targets():
    """The default target's files: datasets, searches, evaluations, figures and each
    enabled downstream stage (the stage switches are defined in its rule file)."""
    searched = SEARCH["n_searched"] > 0
    figures = [
        name
        for name, wanted in (
            ("fig2a", bool(model_names())),
            ("fig3a", searched),
            ("fig3b", searched),
            ("search_progress", searched),
            ("fig4a", ASB_SIMULATED or bool(ASB["table"])),
            ("fig5", LDSC["enabled"]),
            ("interpret_recovery", INTERPRET["enabled"] and INTERPRET_TRUTH),
        )
        if wanted
    ]
    return [
        *dataset_files(),
        f"{OUT}/data/dataset.json",
        *search_targets(),
        *expand(f"{OUT}/evaluate/{{name}}.tsv", name=model_names()),
        f"{OUT}/evaluate/summary.tsv",
        f"{OUT}/evaluate/ttests.tsv",
        *(f"{OUT}/figures/{name}.png" for name in figures),
        *([f"{OUT}/asb/benchmark/asb_auroc.tsv"] if "fig4a" in figures else []),
        *([f"{OUT}/ldsc/summary/summary.json"] if LDSC["enabled"] else []),
        *(
            expand(f"{OUT}/interpret/{{name}}/summary.json", name=model_names())
            if INTERPRET["enabled"]
            else []
        ),
    ]


def model_names(kinds=("searched", "sampled", "baseline")):
    """Names of the trained models of this run: searched_<i>, sampled_<i>, baseline_<name>.
    Each lives in results/<run>/models/<name>/ (model.pt + model.json)."""
    names = []
    if "searched" in kinds:
        names += [f"searched_{i}" for i in range(1, SEARCH["n_searched"] + 1)]
    if "sampled" in kinds:
        names += [f"sampled_{i}" for i in range(1, SEARCH["n_sampled"] + 1)]
    if "baseline" in kinds:
        names += [f"baseline_{b}" for b in config["train"].get("baselines", [])]
    return names


# Variant sets that every model scores, by name -> VCF.
VARIANT_SETS = {
    "asb": f"{OUT}/asb/asb_variants.vcf",
    "gwas": f"{OUT}/ldsc/genotypes/snps.vcf",
}


def _ldsc_chromosomes():
    """Chromosome codes of the LD score jobs when they are split per chromosome."""
    if not LDSC_SIMULATED:
        return list(LDSC_REF["chromosomes"])
    if DATA["source"] == "simulate":
        return list(range(1, DATA["simulate"]["n_chroms"] + 1))
    raise ValueError(
        "ldsc.shard_chromosomes needs a known chromosome list (a simulated genome or the "
        "reference panel); set it to false for a BED genome"
    )
