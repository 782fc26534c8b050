"""Bad and odd inputs of the ldsc stage (summary statistics, LD score file sets, variant
scores), and the summary/figure layer on small hand-made tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from amber.ldsc.annot import match_scores, model_annotations, read_reference_snps, top_fraction
from amber.ldsc.plink import write_plink
from amber.ldsc.regression import fit_partitioned, load_regression_data, read_sumstats
from amber.ldsc.summary import read_auroc, summarise, write_summary
from amber.ldsc.sumstats import SumstatsError, munge
from amber.plots.enrichment import plot_fig5
from amber.plots.render import read_sidecar
from amber.stats import bh_fdr
from amber.variants.scores import create_scores

REFERENCE = pd.DataFrame(
    {
        "SNP": ["rs1", "rs2", "rs3", "rs4", "rs5"],
        "A1": ["A", "C", "G", "T", "A"],
        "A2": ["G", "T", "A", "C", "C"],
    }
)


def _raw(**columns) -> pd.DataFrame:
    base = {
        "SNP": ["rs1", "rs2", "rs3", "rs4", "rs5"],
        "A1": ["A", "C", "G", "T", "A"],
        "A2": ["G", "T", "A", "C", "C"],
        "Z": [1.0, -2.0, 0.5, 3.0, -1.0],
        "N": [1000.0] * 5,
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_munge_names_missing_columns() -> None:
    with pytest.raises(SumstatsError, match=r"gwas\.txt: missing column\(s\) A2"):
        munge(_raw().drop(columns="A2"), source="gwas.txt")
    with pytest.raises(SumstatsError, match=r"Z \(or BETA and SE"):
        munge(_raw().drop(columns="Z"), source="gwas.txt")
    with pytest.raises(SumstatsError, match=r"N \(a column"):
        munge(_raw().drop(columns="N"), source="gwas.txt")
    table, _ = munge(_raw().drop(columns="N"), source="gwas.txt", n=5000)
    assert (table["N"] == 5000).all()


def test_munge_counts_duplicates_mismatches_and_flips() -> None:
    raw = _raw(
        SNP=["rs1", "rs2", "rs2", "rs4", "rs5"],  # rs2 twice
        A1=["A", "C", "C", "C", "A"],  # rs4: C/T vs reference T/C -> swapped
        A2=["G", "T", "T", "T", "G"],  # rs5: A/G vs reference A/C -> mismatch
    )
    table, counts = munge(raw, reference=REFERENCE)
    assert counts["duplicated_snp"] == 1
    assert counts["allele_mismatch"] == 1
    assert counts["a1_swapped"] == 1
    assert table["SNP"].tolist() == ["rs1", "rs2", "rs4"]
    assert table.loc[table["SNP"] == "rs2", "Z"].item() == -2.0  # the first row is kept
    rs4 = table.loc[table["SNP"] == "rs4"].iloc[0]
    assert (rs4["A1"], rs4["A2"], rs4["Z"]) == ("T", "C", -3.0)  # turned to the reference A1


def test_munge_drops_ambiguous_missing_and_unknown_and_derives_z() -> None:
    raw = _raw(A1=["A", "C", "G", "T", "A"], A2=["T", "T", "A", "C", "C"])  # rs1 is A/T
    raw.loc[2, "Z"] = np.nan
    raw = pd.concat([raw, _raw(SNP=["rs9"] * 5).iloc[:1]], ignore_index=True)
    table, counts = munge(raw, reference=REFERENCE)
    assert counts["not_snp_or_ambiguous"] == 1
    assert counts["missing_value"] == 1
    assert counts["not_in_reference"] == 1
    assert table["SNP"].tolist() == ["rs2", "rs4", "rs5"]
    beta = _raw().drop(columns="Z").assign(BETA=[0.2, -0.4, 0.1, 0.6, -0.2], SE=0.2)
    table, _ = munge(beta)
    assert np.allclose(table["Z"], [1.0, -2.0, 0.5, 3.0, -1.0])
    with pytest.raises(SumstatsError, match="no SNP left"):
        munge(_raw(A1=["C"] * 5, A2=["A"] * 5), reference=REFERENCE.iloc[:4])


def test_munge_filters_info_and_maf_like_ldsc() -> None:
    raw = _raw(INFO=[0.95, 0.5, np.nan, 1.0, 0.99], A1FREQ=[0.3, 0.3, 0.2, 0.995, 0.5])
    table, counts = munge(raw)
    assert counts["low_info"] == 2  # 0.5 and a missing INFO
    assert counts["low_maf"] == 1  # A1FREQ 0.995 -> MAF 0.005
    assert table["SNP"].tolist() == ["rs1", "rs5"]


def test_munge_cli_writes_counts_and_fails_in_one_line(tmp_path: Path) -> None:
    raw = _raw(SNP=["rs1", "rs1", "rs3", "rs4", "rs5"])
    raw.to_csv(tmp_path / "gwas.txt", sep=" ", index=False)
    REFERENCE.to_csv(tmp_path / "ref.snplist", sep="\t", index=False)
    amber = [sys.executable, "-m", "amber.cli"]
    ok = subprocess.run(
        [
            *amber,
            "ldsc-munge",
            "--sumstats",
            str(tmp_path / "gwas.txt"),
            "--out",
            str(tmp_path / "t.sumstats.gz"),
            "--reference",
            str(tmp_path / "ref.snplist"),
            "--counts",
            str(tmp_path / "counts.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads((tmp_path / "counts.json").read_text())["duplicated_snp"] == 1
    assert read_sumstats(tmp_path / "t.sumstats.gz")["SNP"].tolist() == ["rs1", "rs3", "rs4", "rs5"]
    raw.drop(columns="Z").to_csv(tmp_path / "bad.txt", sep=" ", index=False)
    bad = subprocess.run(
        [
            *amber,
            "ldsc-munge",
            "--sumstats",
            str(tmp_path / "bad.txt"),
            "--out",
            str(tmp_path / "bad.sumstats.gz"),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert "bad.txt: missing column(s) Z" in bad.stderr
    assert not (tmp_path / "bad.sumstats.gz").exists()


def _ld_set(folder: Path, name: str, snps: list[str], columns: dict[str, np.ndarray]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame({"CHR": 1, "SNP": snps, "BP": np.arange(1, len(snps) + 1)})
    for col, values in columns.items():
        table[col] = values
    table.to_csv(folder / f"{name}.1.l2.ldscore.gz", sep="\t", index=False)
    m = " ".join(str(len(snps)) for _ in columns)
    (folder / f"{name}.1.l2.M_5_50").write_text(m + "\n")
    return str(folder / f"{name}.")


def test_regression_inputs_must_line_up(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    snps = [f"rs{i}" for i in range(300)]
    base = _ld_set(
        tmp_path / "b",
        "base",
        snps,
        {"baseL2": rng.uniform(1, 20, 300), "otherL2": rng.uniform(0, 5, 300)},
    )
    weights = _ld_set(tmp_path / "w", "w", snps, {"L2": rng.uniform(1, 20, 300)})
    other = _ld_set(tmp_path / "o", "o", snps[:-1], {"L2": rng.uniform(1, 20, 299)})
    stats = pd.DataFrame({"SNP": snps, "Z": rng.normal(0, 1.2, 300), "N": 1000.0})
    with pytest.raises(ValueError, match="identical SNP columns"):
        load_regression_data(stats, [base, other], weights)
    with pytest.raises(ValueError, match="no SNP in common"):
        load_regression_data(stats.assign(SNP=[f"x{i}" for i in range(300)]), [base], weights)
    single = _ld_set(tmp_path / "s", "s", snps, {"L2": rng.uniform(1, 20, 300)})
    with pytest.raises(ValueError, match="at least 2 LD score columns"):
        fit_partitioned(load_regression_data(stats, [single], weights))
    data = load_regression_data(stats, [base], weights, n_blocks=20)
    assert data.n_blocks == 20 and data.ref_ld.shape == (300, 2)
    stats.drop(columns="N").to_csv(tmp_path / "noN.sumstats", sep="\t", index=False)
    with pytest.raises(ValueError, match=r"noN\.sumstats: not an ldsc sumstats file"):
        read_sumstats(tmp_path / "noN.sumstats")


def test_scores_join_tolerates_naming_and_swapped_alleles(tmp_path: Path) -> None:
    bim = pd.DataFrame(
        {
            "CHR": 1,
            "SNP": ["chr1:101", "chr1:202", "chr1:303", "chr1:404"],
            "CM": 0.0,
            "BP": [101, 202, 303, 404],
            "A1": ["G", "T", "C", "A"],
            "A2": ["A", "C", "G", "T"],
        }
    )
    write_plink(tmp_path / "ref.1", np.zeros((4, 3), dtype=np.int8), bim, ["a", "b", "c"])
    snps = read_reference_snps(str(tmp_path / "ref.@"), {1: "chr1"})
    rows, counts = match_scores(
        snps,
        np.array(["1", "chr1", "chr1"]),
        np.array([101, 202, 303]),
        np.array(["A", "T", "G"]),
        np.array(["G", "C", "C"]),
    )
    assert rows.tolist() == [0, 1, 2, -1]
    assert counts == {"snps": 4, "matched": 3, "matched_swapped": 1, "unscored": 1}
    mask, threshold = top_fraction(np.array([0.1, 0.5, 0.5, 0.2, 0.0]), 0.4)
    assert mask.tolist() == [False, True, True, False, False] and threshold == 0.5

    features = pd.DataFrame(
        {
            "name": ["L|TF1|None", "L|DNase|None", "M|TF1|None"],
            "cell_type": ["L", "L", "M"],
            "assay": ["TF1", "DNase", "TF1"],
            "category": ["TF", "DNase", "TF"],
        }
    )
    features.to_csv(tmp_path / "features.tsv", sep="\t", index=False)
    labels = {
        "chrom": ["chr1"] * 3,
        "pos": [101, 202, 303],
        "id": ["a", "b", "c"],
        "ref_allele": ["A", "C", "G"],
        "alt_allele": ["G", "T", "C"],
        "vcf_line": [1, 2, 3],
    }
    with h5py.File(tmp_path / "scores.h5", "w") as handle:
        create_scores(handle, labels, list(features["name"]), {"model": "m"})
        handle["diff"][:] = np.array([[0.1, -0.5, 0.0], [0.0, 0.2, -0.3], [0.05, 0.0, 0.01]])
    matrix, described, counts = model_annotations(
        tmp_path / "scores.h5",
        tmp_path / "features.tsv",
        snps,
        group_types=["all", "cell_type", "feature"],
        kinds=["binary", "continuous"],
        fraction=0.25,
    )
    assert np.allclose(matrix["cont.all"], [0.5, 0.3, 0.05, 0.0])
    assert np.allclose(matrix["cont.ct.L"], [0.5, 0.2, 0.05, 0.0])
    assert np.allclose(matrix["cont.f.M_TF1_None"], [0.0, 0.3, 0.01, 0.0])
    assert matrix["bin.all"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert set(described["group_type"]) == {"all", "cell_type", "feature"}
    assert counts["unscored"] == 1
    features.iloc[::-1].to_csv(tmp_path / "reordered.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match="features differ"):
        model_annotations(tmp_path / "scores.h5", tmp_path / "reordered.tsv", snps)


def test_bh_fdr_skips_nan_and_matches_hand_values() -> None:
    """BH by hand on 4 finite p-values: q_i = min_{j >= i} p_(j) m / j, capped at 1; NaN
    entries keep NaN and do not count as tests."""
    q = bh_fdr([0.01, np.nan, 0.04, 0.03, 0.9, np.nan])
    np.testing.assert_allclose(q[[0, 2, 3, 4]], [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.9])
    assert np.isnan(q[[1, 5]]).all()
    assert np.isnan(bh_fdr([np.nan])).all() and bh_fdr([]).shape == (0,)


def test_read_auroc_is_tolerant(tmp_path: Path) -> None:
    pd.DataFrame(
        {
            "model": ["searched_1", "searched_1", "sampled_1"],
            "category": ["all", "TF", "all"],
            "auroc": [0.8, 0.7, 0.75],
        }
    ).to_csv(tmp_path / "summary.tsv", sep="\t", index=False)
    assert read_auroc(tmp_path / "summary.tsv") == {"searched_1": 0.8, "sampled_1": 0.75}
    assert read_auroc(tmp_path / "missing.tsv") == {}
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "odd.tsv", sep="\t", index=False)
    assert read_auroc(tmp_path / "odd.tsv") == {}


def test_summary_and_figure_on_small_tables(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    annotations = [f"bin.f.F{i}" for i in range(8)]
    tables, described = {}, {}
    for model, boost in (
        ("searched_1", 2.0),
        ("searched_2", 1.8),
        ("sampled_1", 1.0),
        ("sampled_2", 1.1),
    ):
        folder = tmp_path / "h2" / model
        folder.mkdir(parents=True)
        for trait in ("t1", "t2"):
            enrichment = boost * rng.uniform(0.8, 1.5, len(annotations))
            pd.DataFrame(
                {
                    "trait": trait,
                    "annotation": annotations,
                    "set": "tested",
                    "enrichment": enrichment,
                    "enrichment_se": 0.3,
                    "enrichment_p": np.where(enrichment > 2.2, 1e-6, 0.5),
                    "coef": 1e-6,
                    "coef_p": 0.5,
                    "h2": 0.1,
                }
            ).to_csv(folder / f"{trait}.tsv", sep="\t", index=False)
        tables[model] = sorted(folder.glob("*.tsv"))
        described[model] = tmp_path / f"{model}_annotations.tsv"
        pd.DataFrame(
            {
                "annotation": annotations,
                "kind": "binary",
                "group_type": "feature",
                "group": annotations,
            }
        ).to_csv(described[model], sep="\t", index=False)
    baseline, truth = {}, {}
    for trait in ("t1", "t2"):
        baseline[trait] = tmp_path / f"base_{trait}.tsv"
        pd.DataFrame(
            {
                "annotation": ["base", "a", "b"],
                "enrichment_p": [0.5, 0.001, 0.5],
                "h2": 0.1,
                "h2_se": 0.01,
                "intercept": 1.0,
                "mean_chisq": 2.0,
                "ratio": [0.02 if trait == "t1" else 0.3] * 3,
            }
        ).to_csv(baseline[trait], sep="\t", index=False)
        truth[trait] = tmp_path / f"truth_{trait}.tsv"
        pd.DataFrame({"enrichment": [4.8], "enrichment_se": [0.9], "enrichment_p": [1e-5]}).to_csv(
            truth[trait], sep="\t", index=False
        )
    from amber.ldsc.summary import combine

    results = combine(tables, described)
    summary = summarise(
        results,
        baseline,
        truth=truth,
        max_ratio=0.1,
        auroc={"searched_1": 0.8, "searched_2": 0.78, "sampled_1": 0.7, "sampled_2": 0.72},
    )
    traits = summary["traits"].set_index("trait")
    assert traits.loc["t1", "kept"] and not traits.loc["t2", "kept"]  # ratio 0.3 >= 0.1
    assert traits.loc["t1", "n_sig_searched"] > traits.loc["t1", "n_sig_sampled"]
    assert traits.loc["t1", "median_log_fc"] > 0
    assert traits.loc["t1", "baseline_prop_significant"] == 0.5
    models = summary["models"].set_index("model")
    assert summary["headline"]["reference_model"] == "searched_1"
    assert models.loc["searched_1", "fold_change"] == 1.0
    assert models.loc["sampled_1", "fold_change"] < 1.0
    write_summary(summary, tmp_path / "summary")
    png = plot_fig5(tmp_path / "summary", tmp_path / "fig" / "fig5.png")
    assert png.exists() and png.with_suffix(".pdf").exists()
    sidecar = read_sidecar(png)
    assert sidecar["traits"] == ["t1"]
    series = {s["label"]: s for s in sidecar["panels"][0]["series"]}
    assert series["truth annotation"]["y"] == [4.8]
    assert len(series["searched"]["y"][0]) == 2 * len(annotations)
    points = sidecar["panels"][2]["series"]
    assert {p for s in points for p in s["models"]} == set(tables)


def test_munge_drops_infinite_z_and_zero_se() -> None:
    """Z = inf (or BETA / SE with SE = 0) would dominate the regression: dropped, counted."""
    raw = _raw()
    raw.loc[1, "Z"] = np.inf
    raw.loc[3, "Z"] = -np.inf
    table, counts = munge(raw)
    assert counts["non_finite"] == 2
    assert table["SNP"].tolist() == ["rs1", "rs3", "rs5"]
    beta = (
        _raw()
        .drop(columns="Z")
        .assign(BETA=[0.2, -0.4, 0.1, 0.6, -0.2], SE=[0.2, 0, 0.2, 0.2, 0.2])
    )
    table, counts = munge(beta)
    assert counts["non_finite"] == 1 and "rs2" not in table["SNP"].tolist()


def test_parquet_sumstats_are_read_and_a_damaged_one_is_named(tmp_path: Path) -> None:
    """Parquet summary statistics (found by their magic bytes, whatever the name) read as
    the same strings as text; a damaged Parquet file is named, not a parser error."""
    from amber.ldsc.sumstats import read_table

    raw = _raw().assign(INFO=[0.9, None, 1.0, 0.95, 0.99])
    raw.to_parquet(tmp_path / "gwas.pq")
    raw.to_csv(tmp_path / "gwas.txt", sep=" ", index=False, na_rep="NA")
    pd.testing.assert_frame_equal(
        read_table(tmp_path / "gwas.pq").astype(object),
        read_table(tmp_path / "gwas.txt").astype(object),
    )
    assert munge(read_table(tmp_path / "gwas.pq"))[0].equals(
        munge(read_table(tmp_path / "gwas.txt"))[0]
    )
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x04\x15\x00\x12\x00\x00PAR1")
    with pytest.raises(SumstatsError, match=f"{path}: cannot read this Parquet file"):
        read_table(path)
