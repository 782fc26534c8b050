"""Own data, one factor: does the workflow build a model better than a small hand-made
CNN and than the factor's motif alone?

    .venv/bin/python benchmarks/own_data.py            # ~15 min on 2 cores

The common real case, simulated so that the truth is known: one chromosome
(``--chrom-length``, default 6 Mb) of the simulated genome, the peaks of one TF feature
(``--factor``), validation and test held out as the last two 15 % blocks
(``holdout_fraction``). The workflow runs on it as a user would (``source: bed``, so
reverse-complement augmentation is on; ``config/model_spaces/small_data.yaml``, whose
search also chooses the stem kernel and the head) with the demo's search and training
settings, and trains ``--seeds`` searched and as many uniformly sampled architectures
plus the hand-made ``conv_globalmax`` baseline (config/baselines/). The motif baseline
scores each test window by its best JASPAR log-odds match (both strands; the matrix by
its JASPAR ID from pyjaspar's offline database).

The default factor, ``liver|CEBPB``, binds only next to a FOXA1 or HNF4A motif (the
simulator's cooperative rule), so, as for most real factors (the issue's real ChIP-seq:
PWM AUROC 0.77), its motif alone is a weak predictor. ``--factor 'myeloid|SPI1'`` is the
other extreme: every planted SPI1 site in an element is bound, so the motif is nearly
an oracle and no model can beat it by much.

Allele-specific binding, the variants a user cares about: ``amber simulate-asb`` draws
heterozygous SNVs with allelic read counts in the simulated peaks (its truth is the
change in motif match), and the workflow's ASB stage (``asb.table``, as for a user's own
table) scores them with every model and with the factor's PWM: AUROC of separating
loss-of-binding (and gain-of-binding) variants from neutral ones.

Writes benchmarks/results/own_data.json: ``own_data_searched_auroc`` (mean over seeds,
and each seed), ``own_data_sampled_auroc``, ``own_data_baseline_auroc``,
``own_data_pwm_auroc`` (test AUROC), ``own_data_asb_auroc`` (per class: each model, the
searched and sampled means, the PWM), dataset counts, wall time, machine and versions.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_info, write_result  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", default="bench_own_data", help="results/<run>, logs/<run>")
    p.add_argument("--seed", type=int, default=3, help="simulation seed (default 3)")
    p.add_argument("--chrom-length", type=int, default=6_000_000)
    p.add_argument("--factor", default="liver|CEBPB", help="TF feature cell|TF|None prefix")
    p.add_argument(
        "--space", default="config/model_spaces/small_data.yaml", help="model space to search"
    )
    p.add_argument("--seeds", type=int, default=3, help="searched (and sampled) models")
    p.add_argument(
        "--decoys-per-mb",
        type=float,
        default=1500,
        help="unbound motif sites per Mb, all TFs (default 1500; the simulator's is 120)",
    )
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/own_data.json")
    return p.parse_args(argv)


def make_inputs(
    folder: Path, seed: int, chrom_length: int, decoys_per_mb: float, factor: str
) -> tuple[str, str, int]:
    """Simulate one chromosome; keep the peaks of TF feature ``factor`` (``cell|TF``).
    Returns (TF, motif ID, number of peaks). Decoys are motif sites in closed chromatin,
    never bound: as in real data, a motif match alone does not make a peak."""
    sim = folder / "sim"
    subprocess.run(
        [str(ROOT / ".venv/bin/amber"), "simulate", "--out", str(sim), "--seed", str(seed),
         "--n-chroms", "1", "--chrom-length", str(chrom_length), "--promoters-per-mb", "120",
         "--enhancers-per-mb", "400", "--insulators-per-mb", "120",
         "--decoys-per-mb", str(decoys_per_mb), "--quiet"],
        check=True,
    )  # fmt: skip
    with open(sim / "features.tsv", newline="") as handle:
        tfs = [r for r in csv.DictReader(handle, delimiter="\t") if r["category"] == "TF"]
    motifs = json.loads((sim / "motifs.json").read_text())

    def peaks(row: dict) -> int:
        bed = sim / "peaks" / f"{row['name'].replace('|', '_')}.bed"
        return sum(1 for line in bed.read_text().splitlines() if line and line[0] != "#")

    chosen = [r for r in tfs if r["name"].startswith(factor) and r["assay"] in motifs]
    if len(chosen) != 1:
        raise SystemExit(f"--factor {factor!r} matches {len(chosen)} TF features")
    best = chosen[0]
    (folder / "peaks").mkdir()
    stem = best["name"].replace("|", "_")
    shutil.copy(sim / "peaks" / f"{stem}.bed", folder / "peaks" / f"{stem}.bed")
    shutil.copy(sim / "genome.fa", folder / "genome.fa")
    header = "name\tcell_type\tassay\tcategory\n"
    row = "\t".join(best[k] for k in ("name", "cell_type", "assay", "category"))
    (folder / "features.tsv").write_text(header + row + "\n")
    return best["assay"], motifs[best["assay"]]["motif_id"], peaks(best)


def pwm_auroc(test_h5: Path, motif_id: str, factor: str) -> float:
    """Test AUROC of the best JASPAR log-odds match in each window (both strands)."""
    import h5py
    from sklearn.metrics import roc_auc_score

    from amber.asb.pwm import jaspar_pfms
    from amber.data.motifs import JASPAR_RELEASE, pwm_log_odds, scan_pwm

    pwm = pwm_log_odds(jaspar_pfms({factor: motif_id}, JASPAR_RELEASE)[factor])
    with h5py.File(test_h5) as h5:
        x, y = h5["x"][:], h5["y"][:, 0]
    codes = np.where(x.any(axis=1), x.argmax(axis=1), 4)
    scores = np.array([scan_pwm(pwm, row).max() for row in codes])
    return float(roc_auc_score(y, scores))


def asb_aurocs(path: Path, factor: str) -> dict[str, dict[str, float]]:
    """Class (loss, gain) -> method (each model, the searched/sampled groups, pwm) ->
    AUROC against neutral variants, for the factor's rows of asb_auroc.tsv."""
    out: dict[str, dict[str, float]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["tf"] == factor and row["auroc"] not in ("", "nan"):
                out.setdefault(row["class"], {})[row["method"]] = float(row["auroc"])
                out[row["class"]]["n_pos"] = int(row["n_pos"])
                out[row["class"]]["n_neutral"] = int(row["n_neutral"])
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    t0 = time.monotonic()
    out = ROOT / "results" / args.run
    for folder in (out, ROOT / "logs" / args.run):
        shutil.rmtree(folder, ignore_errors=True)
    inputs = out / "input"
    inputs.mkdir(parents=True)
    factor, motif_id, n_peaks = make_inputs(
        inputs, args.seed, args.chrom_length, args.decoys_per_mb, args.factor
    )
    asb_dir = inputs / "asb"
    subprocess.run(
        [str(ROOT / ".venv/bin/amber"), "simulate-asb", "--genome-dir", str(inputs / "sim"),
         "--out-dir", str(asb_dir), "--seed", str(args.seed), "--quiet"],
        check=True,
    )  # fmt: skip
    config = {
        "run": args.run,
        "asb": {
            "table": str(asb_dir / "asb_table.tsv"),
            "vcf": str(asb_dir / "asb_variants.vcf"),
            "jaspar": {factor: motif_id},
        },
        "data": {
            "source": "bed",
            "bed": {
                "fasta": str(inputs / "genome.fa"),
                "features": str(inputs / "features.tsv"),
                "bed_dir": str(inputs / "peaks"),
            },
            "holdout_fraction": 0.15,
            "negative_fraction": 0.2,
            "anchor_categories": [],
        },
        "search": {
            "model_space": args.space,
            "n_searched": args.seeds,
            "n_sampled": args.seeds,
        },
        # The hand-made CNN at its own size (the demo shrinks baselines 8x for its budget).
        "train": {"baselines": ["conv_globalmax"], "baseline_width": 1.0},
    }
    config_path = out / "config.yaml"
    config_path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    names = [f"searched_{i}" for i in range(1, args.seeds + 1)]
    names += [f"sampled_{i}" for i in range(1, args.seeds + 1)] + ["baseline_conv_globalmax"]
    targets = [f"results/{args.run}/evaluate/{name}.tsv" for name in names]
    targets.append(f"results/{args.run}/asb/benchmark/asb_auroc.tsv")
    subprocess.run(
        [str(ROOT / ".venv/bin/snakemake"), "--configfile", str(config_path),
         "--cores", str(args.cores), "--quiet", "rules", "--", *targets],
        cwd=ROOT, check=True,
    )  # fmt: skip

    def auroc(name: str) -> float:
        with open(out / "evaluate" / f"{name}.tsv", newline="") as handle:
            return float(next(csv.DictReader(handle, delimiter="\t"))["auroc"])

    searched = [auroc(f"searched_{i}") for i in range(1, args.seeds + 1)]
    sampled = [auroc(f"sampled_{i}") for i in range(1, args.seeds + 1)]
    dataset = json.loads((out / "data" / "dataset.json").read_text())
    result = {
        "benchmark": "own_data",
        "factor": factor,
        "feature": args.factor,
        "model_space": args.space,
        "motif_id": motif_id,
        "peaks": n_peaks,
        "chrom_length": args.chrom_length,
        "simulation_seed": args.seed,
        "decoys_per_mb": args.decoys_per_mb,
        "rows": dataset["counts"],
        "positives": {s: sum(v.values()) for s, v in dataset["positives"].items()},
        "own_data_searched_auroc": float(np.mean(searched)),
        "own_data_searched_auroc_per_seed": searched,
        "own_data_sampled_auroc": float(np.mean(sampled)),
        "own_data_sampled_auroc_per_seed": sampled,
        "own_data_baseline_auroc": auroc("baseline_conv_globalmax"),
        "own_data_pwm_auroc": pwm_auroc(out / "data" / "test.h5", motif_id, factor),
        "own_data_asb_auroc": asb_aurocs(out / "asb" / "benchmark" / "asb_auroc.tsv", factor),
        "wall_s": round(time.monotonic() - t0, 1),
        **machine_info(),
    }
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
