"""ASB stage: allelic-imbalance calls, AUROC per TF, rank transform, direction accuracy,
the PWM baseline, the simulated ASB table, the Wagih converter and Fig. 4a."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from amber.asb.benchmark import (
    Method,
    auroc_table,
    direction_accuracy,
    group_scores,
    rank_transform,
    run_benchmark,
    tf_counts,
)
from amber.asb.config import AsbSimConfig, CallRules
from amber.asb.convert import convert_table, import_asb
from amber.asb.pwm import best_match_pairs, pwm_delta_scores
from amber.asb.stats import call_classes
from amber.asb.table import AsbTableError, read_asb_table, read_vcf_variants
from amber.cli import main
from amber.data.motifs import encode_sequence, scan_pwm
from amber.data.simulate import SimConfig, simulate_genome
from amber.plots.asb import plot_fig4a


def exact_binom_p(k: int, n: int) -> float:
    """Two-sided exact binomial p (p = 0.5), written out: sum of P(j) <= P(k)."""
    probs = [math.comb(n, j) / 2**n for j in range(n + 1)]
    return min(1.0, sum(p for p in probs if p <= probs[k] * (1 + 1e-7)))


def bh_by_hand(p: list[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        q[i] = running
    return q


def table(rows: list[tuple]) -> pd.DataFrame:
    cols = ["chrom", "pos", "ref", "alt", "tf", "ref_reads", "alt_reads"]
    return pd.DataFrame(rows, columns=cols)


def test_binomial_bh_and_classes_match_hand_computation() -> None:
    reads = [(30, 5), (5, 30), (20, 20), (13, 4), (8, 2), (2, 14), (19, 21), (40, 0)]
    t = table([("chr1", i + 1, "A", "C", "TF1", r, a) for i, (r, a) in enumerate(reads)])
    out = call_classes(t, CallRules())
    p = [exact_binom_p(r, r + a) for r, a in reads]
    q = bh_by_hand(p)
    np.testing.assert_allclose(out["pvalue"], p, rtol=1e-9)
    np.testing.assert_allclose(out["fdr"], q, rtol=1e-9)
    expected = []
    for (r, a), qi in zip(reads, q, strict=True):
        ratio = r / (r + a)
        if not (r > 10 or a > 10):
            expected.append("low_reads")
        elif qi < 0.01 and ratio > 0.6:
            expected.append("loss")
        elif qi < 0.01 and ratio < 0.4:
            expected.append("gain")
        elif qi > 0.9:
            expected.append("neutral")
        else:
            expected.append("unclassified")
    assert out["call"].tolist() == expected
    # the hand computation is not vacuous: every class occurs
    every = ["loss", "gain", "neutral", "unclassified", "low_reads", "gain", "neutral", "loss"]
    assert expected == every
    # stricter thresholds move calls
    strict = call_classes(t, CallRules(min_reads=15, loss_ratio=0.9)).call.tolist()
    assert strict[3] == "low_reads" and strict[0] == "unclassified" and strict[7] == "loss"


def test_given_pvalue_and_fdr_columns_are_used() -> None:
    t = table([("chr1", 1, "A", "C", "TF1", 30, 5), ("chr1", 2, "A", "C", "TF1", 30, 5)])
    t["pvalue"] = [0.5, 0.5]
    t["fdr"] = [0.95, 0.001]
    out = call_classes(t, CallRules())
    assert out["call"].tolist() == ["neutral", "loss"]


def test_rank_transform_keeps_zero_order_and_range() -> None:
    x = np.array([3.0, -1.0, 0.0, 1.0, -5.0, np.nan, 1.0])
    r = rank_transform(x)
    np.testing.assert_allclose(r, [1.0, -0.5, 0.0, 0.5, -1.0, np.nan, 0.5])
    # groups average their members' transformed scores, ignoring missing members
    g = group_scores([np.array([2.0, -1.0, np.nan]), np.array([1.0, np.nan, np.nan])])
    np.testing.assert_allclose(g, [1.0, -1.0, np.nan])


def calls_frame(tfs: list[str], calls: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"tf": tfs, "call": calls, "benchmarked": True})


def test_direction_accuracy_on_disagreeing_variants() -> None:
    calls = calls_frame(["T"] * 6, ["loss", "loss", "gain", "gain", "neutral", "loss"])
    a = Method("searched", "group", np.array([-1.0, -2.0, 1.0, -1.0, 5.0, 0.0]))
    b = Method("sampled", "group", np.array([1.0, -1.0, -1.0, 2.0, -5.0, -1.0]))
    out = direction_accuracy(calls, [a, b], ["searched", "sampled"]).set_index(["scope", "method"])
    # disagreeing allelic rows: 0 (a right), 2 (a right), 3 (b right), 5 (sign 0 vs -: b right)
    assert out.loc[("disagree", "searched"), "n"] == 4
    assert out.loc[("disagree", "searched"), "accuracy"] == pytest.approx(0.5)
    assert out.loc[("disagree", "sampled"), "accuracy"] == pytest.approx(0.5)
    assert out.loc[("all", "searched"), "n_correct"] == 3  # rows 0, 1, 2 of 5
    assert out.loc[("all", "sampled"), "n_correct"] == 3  # rows 1, 3, 5


def test_auroc_per_tf_known_answer_and_exclusion_below_min() -> None:
    n = 20
    # TF A: 20 losses with negative scores, 20 gains of which half beat every neutral,
    # 20 neutrals in (-0.5, 0.5). TF B: same but only 19 gains -> no gain AUROC.
    neutral = np.linspace(-0.4, 0.4, n)
    loss = np.linspace(-3, -1, n)
    gain = np.concatenate([np.linspace(1, 2, n // 2), np.linspace(-2, -1, n // 2)])
    scores = np.concatenate([loss, gain, neutral, loss, gain[:19], neutral])
    tfs = ["A"] * 60 + ["B"] * 59
    labels = (["loss"] * n + ["gain"] * n + ["neutral"] * n) * 1 + (
        ["loss"] * n + ["gain"] * 19 + ["neutral"] * n
    )
    calls = calls_frame(tfs, labels)
    counts = tf_counts(calls, CallRules()).set_index("tf")
    assert counts.loc["B", "n_gain"] == 19
    assert bool(counts.loc["A", "gain_included"]) and not bool(counts.loc["B", "gain_included"])
    assert bool(counts.loc["B", "loss_included"])
    res = auroc_table(calls, [Method("m", "model", scores)], counts.reset_index())
    got = {(r.tf, r["class"]): r.auroc for _, r in res.iterrows()}
    assert got == {("A", "loss"): 1.0, ("A", "gain"): 0.5, ("B", "loss"): 1.0}
    assert set(res["n_pos"]) == {20} and set(res["n_neutral"]) == {20}
    # a lower threshold lets B in
    counts = tf_counts(calls, CallRules(min_per_class=19)).reset_index()
    res = auroc_table(calls, [Method("m", "model", scores)], counts)
    assert ("B", "gain") in set(zip(res["tf"], res["class"], strict=True))


def test_pwm_baseline_sign_and_strands() -> None:
    # A sharp motif ACGTTG; background of As (never matches well).
    pfm = np.full((6, 4), 0.01)
    for k, b in enumerate("ACGTTG"):
        pfm[k, "ACGT".index(b)] = 0.97
    pfm /= pfm.sum(axis=1, keepdims=True)
    from amber.data.motifs import pwm_log_odds

    pwm = pwm_log_odds(pfm)
    seq = "A" * 30 + "ACCTTG" + "A" * 30 + "CAACGT" + "A" * 30 + "ACGTTG" + "A" * 30
    # site 1 (plus strand) has C instead of G at offset 2; site 2 is the minus-strand
    # site CAACGT (= revcomp ACGTTG) with one mismatch: CAAAGT; site 3 is perfect.
    seq = seq[:66] + "CAAAGT" + seq[72:]
    genome = {"chrZ": encode_sequence(seq)}
    t = pd.DataFrame(
        {
            "chrom": "chrZ",
            "pos": [30 + 2 + 1, 66 + 3 + 1, 102 + 1 + 1],
            "ref": ["C", "A", "C"],
            "alt": ["G", "C", "A"],
            "tf": ["motif"] * 3,
        }
    )
    d = pwm_delta_scores(t, {"MOTIF": pwm}, genome)
    assert d[0] > 5 and d[1] > 5  # restore the site on either strand: better match
    assert d[2] < -5  # break the perfect site
    # the vectorised scan agrees with a brute-force scan of the whole region
    codes = genome["chrZ"]
    pos0 = np.array([32, 69, 103])
    alt = encode_sequence("GCA")
    s_ref, s_alt = best_match_pairs(pwm, codes, pos0, codes[pos0], alt)
    for i, p in enumerate(pos0):
        lo, hi = p - 5, p + 6
        ref_scan = scan_pwm(pwm, codes[lo:hi]).max()
        mutated = codes.copy()
        mutated[p] = alt[i]
        assert s_ref[i] == pytest.approx(ref_scan)
        assert s_alt[i] == pytest.approx(scan_pwm(pwm, mutated[lo:hi]).max())
    # unknown TF -> no score
    assert np.isnan(pwm_delta_scores(t.assign(tf="other"), {"MOTIF": pwm}, genome)).all()


@pytest.fixture(scope="module")
def small_genome(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("genome")
    simulate_genome(SimConfig(seed=3, n_chroms=3, chrom_length=300_000), out)
    return out


SMALL_ASB = AsbSimConfig(n_loss=15, n_gain=15, n_neutral=30)


def test_simulated_asb_is_deterministic_and_truthful(small_genome: Path, tmp_path: Path) -> None:
    from amber.asb.simulate import simulate_asb

    simulate_asb(small_genome, tmp_path / "a", SMALL_ASB)
    simulate_asb(small_genome, tmp_path / "b", SMALL_ASB)
    for name in ("asb_table.tsv", "asb_variants.vcf", "simulation.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = simulate_asb(
        small_genome, tmp_path / "c", AsbSimConfig(**{**SMALL_ASB.__dict__, "seed": 2})
    )
    assert (tmp_path / "c" / "asb_table.tsv").read_bytes() != (
        tmp_path / "a" / "asb_table.tsv"
    ).read_bytes()
    assert other["n_rows"] > 0

    t = read_asb_table(tmp_path / "a" / "asb_table.tsv")
    assert set(t["true_effect"]) == {"gain", "loss", "neutral"}
    assert set(t["mechanism"]) >= {"direct", "none"}
    direct = t[t["mechanism"] == "direct"]
    assert (np.sign(direct.loc[direct["true_effect"] == "gain", "delta_pwm"]) > 0).all()
    assert (np.sign(direct.loc[direct["true_effect"] == "loss", "delta_pwm"]) < 0).all()
    assert (t.loc[t["true_effect"] == "gain", "expected_ref_fraction"] < 0.5).all()
    assert (t.loc[t["true_effect"] == "loss", "expected_ref_fraction"] > 0.5).all()
    assert (t.loc[t["mechanism"] == "none", "expected_ref_fraction"] == 0.5).all()
    ratio = t["ref_reads"] / (t["ref_reads"] + t["alt_reads"])
    assert ratio[t["true_effect"] == "gain"].mean() < 0.4
    assert ratio[t["true_effect"] == "loss"].mean() > 0.6
    assert abs(ratio[t["true_effect"] == "neutral"].mean() - 0.5) < 0.05
    total = t["ref_reads"] + t["alt_reads"]
    assert (total <= 10).any() and (total > 60).any() and 25 < total.mean() < 55
    # every row sits in a peak of its TF in its cell type
    for (tf, cell), rows in t.groupby(["tf", "cell_type"]):
        bed = pd.read_csv(small_genome / "peaks" / f"{cell}_{tf}_None.bed", sep="\t", header=None)
        for chrom, pos in zip(rows["chrom"], rows["pos"], strict=True):
            on = bed[bed[0] == chrom]
            assert ((on[1] < pos) & (pos <= on[2])).any(), (tf, cell, chrom, pos)

    # the VCF: unique, sorted, REF from genome.fa (read independently with pyfaidx)
    import pyfaidx

    v = read_vcf_variants(tmp_path / "a" / "asb_variants.vcf")
    assert len(v) == len(t[["chrom", "pos", "ref", "alt"]].drop_duplicates())
    fasta = pyfaidx.Fasta(str(small_genome / "genome.fa"), as_raw=True)
    assert all(
        fasta[c][p - 1].upper() == r for c, p, r in zip(v["chrom"], v["pos"], v["ref"], strict=True)
    )
    order = [(int(c[3:]), p) for c, p in zip(v["chrom"], v["pos"], strict=True)]
    assert order == sorted(order)
    header = (tmp_path / "a" / "asb_variants.vcf").read_text().splitlines()[0]
    assert header == "##fileformat=VCFv4.2"


def write_scores(path: Path, keys: pd.DataFrame, logfc: np.ndarray, features: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        h5["logfc"] = logfc.astype(np.float32)
        h5["chrom"] = keys["chrom"].to_numpy().astype("S")
        h5["pos"] = keys["pos"].to_numpy(dtype=np.int64)
        h5["ref_allele"] = keys["ref"].to_numpy().astype("S")
        h5["alt_allele"] = keys["alt"].to_numpy().astype("S")
        h5.attrs["features"] = np.array(features, dtype=h5py.string_dtype())


def test_benchmark_end_to_end_and_figure(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = []
    truth = []
    for k in range(90):  # TF "ctcf" (lower case in the table), 30 per class
        cls = ("loss", "gain", "neutral")[k % 3]
        ref, alt = {"loss": (40, 5), "gain": (5, 40), "neutral": (20, 20)}[cls]
        rows.append(("chr1", 100 + k, "A", "G", "ctcf", ref, alt, "liver" if k % 2 else ""))
        truth.append(cls)
    rows.append(("chr1", 5000, "A", "G", "NOPE", 40, 1, "liver"))  # TF no model predicts
    t = pd.DataFrame(
        rows, columns=["chrom", "pos", "ref", "alt", "tf", "ref_reads", "alt_reads", "cell_type"]
    )
    t.to_csv(tmp_path / "asb.tsv", sep="\t", index=False)
    features = ["liver|CTCF|None", "blood|CTCF|None", "liver|DNase|None"]
    pd.DataFrame(
        {
            "name": features,
            "cell_type": ["liver", "blood", "liver"],
            "assay": ["CTCF", "CTCF", "DNase"],
            "category": ["TF", "TF", "DNase"],
        }
    ).to_csv(tmp_path / "features.tsv", sep="\t", index=False)
    direction = np.array([{"loss": -1.0, "gain": 1.0, "neutral": 0.0}[c] for c in truth])
    keys = t[["chrom", "pos", "ref", "alt"]].iloc[:90]
    good = np.column_stack([direction + rng.normal(0, 0.1, 90), 3 * direction, rng.normal(size=90)])
    bad = np.column_stack([-direction, -direction, rng.normal(size=90)])
    write_scores(tmp_path / "good.h5", keys, good, features)
    write_scores(tmp_path / "bad.h5", keys.iloc[::-1], bad[::-1], features)  # other row order
    summary = run_benchmark(
        tmp_path / "asb.tsv",
        tmp_path / "features.tsv",
        {"good": tmp_path / "good.h5", "bad": tmp_path / "bad.h5"},
        {"searched": ["good"], "sampled": ["bad"]},
        tmp_path / "out",
        CallRules(),
    )
    assert summary["tfs_loss"] == ["ctcf"] and summary["tfs_gain"] == ["ctcf"]
    calls = pd.read_csv(tmp_path / "out" / "asb_calls.tsv", sep="\t")
    calls["cell_type"] = calls["cell_type"].fillna("")
    # liver rows use the liver feature only; rows without cell type average both CTCF features
    liver = calls["cell_type"] == "liver"
    assert set(calls.loc[liver & (calls["tf"] == "ctcf"), "features"]) == {"liver|CTCF|None"}
    assert set(calls.loc[~liver, "mapping"]) == {"all_cell_types"}
    assert calls.loc[calls["tf"] == "NOPE", "mapping"].item() == "unmapped"
    np.testing.assert_allclose(
        calls.loc[~liver, "score_good"], (good[~liver[:90].to_numpy(), :2]).mean(axis=1), rtol=1e-5
    )
    auc = pd.read_csv(tmp_path / "out" / "asb_auroc.tsv", sep="\t")
    got = auc.set_index(["class", "method"])["auroc"]
    # good model: negative for losses (flipped sign -> 1), positive for gains
    assert got[("loss", "searched")] == pytest.approx(1.0)
    assert got[("gain", "good")] == pytest.approx(1.0)
    assert got[("loss", "sampled")] < 0.5 and got[("gain", "bad")] < 0.5
    acc = pd.read_csv(tmp_path / "out" / "direction_accuracy.tsv", sep="\t")
    dis = acc[acc["scope"] == "disagree"].set_index("method")
    assert dis.loc["searched", "accuracy"] == 1.0 and dis.loc["sampled", "accuracy"] == 0.0
    assert (tmp_path / "out" / "wilcoxon.tsv").exists()

    side = plot_fig4a(
        tmp_path / "out" / "asb_auroc.tsv", tmp_path / "fig.png", tmp_path / "out" / "wilcoxon.tsv"
    )
    assert (tmp_path / "fig.pdf").stat().st_size > 0
    assert json.loads((tmp_path / "fig.json").read_text()) == side
    assert set(side["panels"]) == {"loss", "gain"}
    loss = side["panels"]["loss"]
    assert loss["methods"] == ["searched", "sampled"]  # members are not drawn
    assert loss["series"]["searched"] == {"tf": ["ctcf"], "auroc": [pytest.approx(1.0)]}
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "fig.pdf").read_bytes()[:4] == b"%PDF"


WAGIH = (
    "chr\tpos\tref\talt\ttf\tref_reads\talt_reads\ttotal_reads\tp_binomial\tfdr_binomial"
    "\tdeepsea_col\tds_logfc\tdeltasvm\tdeepbind_max_delta_raw\tjaspar_max_delta_raw"
    "\tbest_meme_max_delta_raw\n"
    "chr1\t1000\tA\tG\tCTCF\t30\t5\t35\t1e-5\t1e-4\tGM12878|CTCF|None\t-1.5\t-2\t-0.3\t-4\t-1\n"
    "chr1\t2000\tC\tT\tSPI1\t10\t12\t22\t0.83\t0.95\tGM12878|PU.1|None\t0.1\tNA\t0.0\t0\t0\n"
    "chr2\t300\tAT\tA\tCTCF\t10\t10\t20\t1\t1\tGM12878|CTCF|None\t0\t0\t0\t0\t0\n"
)


def test_convert_wagih_table(tmp_path: Path) -> None:
    src = tmp_path / "Frey-2018-Supp1.gz"
    with gzip.open(src, "wt") as handle:
        handle.write(WAGIH)
    t = convert_table(src, tmp_path / "asb_table.tsv", "wagih")
    assert len(t) == 2  # the indel is dropped
    row = t.iloc[0]
    assert (row["chrom"], row["pos"], row["ref"], row["alt"], row["tf"]) == (
        "chr1",
        1000,
        "A",
        "G",
        "CTCF",
    )
    assert (row["ref_reads"], row["alt_reads"], row["cell_type"]) == (30, 5, "GM12878")
    assert row["feature"] == "GM12878|CTCF|None"
    assert (row["pvalue"], row["fdr"]) == (1e-5, 1e-4)
    assert row["score_deepsea"] == -1.5 and row["score_jaspar"] == -4
    assert np.isnan(t.iloc[1]["score_deltasvm"])
    # the given FDR decides the calls
    calls = call_classes(t, CallRules())
    assert calls["call"].tolist() == ["loss", "neutral"]
    # the CLI does the same, and a table lacking a column is refused naming it
    assert main(["convert-asb", "--in", str(src), "--out", str(tmp_path / "cli.tsv")]) == 0
    assert (tmp_path / "cli.tsv").read_text() == (tmp_path / "asb_table.tsv").read_text()
    (tmp_path / "bad.tsv").write_text(WAGIH.replace("ref_reads", "refreads"))
    with pytest.raises(AsbTableError, match="ref_reads"):
        convert_table(tmp_path / "bad.tsv", tmp_path / "x.tsv", "wagih")
    assert not (tmp_path / "x.tsv").exists()


def test_import_asb_checks_vcf_and_reference(tmp_path: Path) -> None:
    (tmp_path / "g.fa").write_text(">chr1\nACGTACGTAC\n")
    t = table([("chr1", 2, "C", "T", "TF1", 10, 3), ("chr1", 5, "A", "G", "TF1", 4, 9)])
    t.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    summary = import_asb(tmp_path / "t.tsv", tmp_path / "out", fasta=tmp_path / "g.fa")
    assert summary["n_variants"] == 2
    v = read_vcf_variants(tmp_path / "out" / "asb_variants.vcf")
    assert v.values.tolist() == [["chr1", 2, "C", "T"], ["chr1", 5, "A", "G"]]
    t.assign(ref=["G", "A"]).to_csv(tmp_path / "wrong.tsv", sep="\t", index=False)
    with pytest.raises(AsbTableError, match="does not match the genome"):
        import_asb(tmp_path / "wrong.tsv", tmp_path / "out2", fasta=tmp_path / "g.fa")
    assert not (tmp_path / "out2" / "asb_table.tsv").exists()
    (tmp_path / "v.vcf").write_text("##fileformat=VCFv4.2\nchr1\t2\t.\tC\tT\t.\t.\t.\n")
    with pytest.raises(AsbTableError, match="not in the VCF"):
        import_asb(tmp_path / "t.tsv", tmp_path / "out3", vcf=tmp_path / "v.vcf")


def test_bad_table_names_file_and_line(tmp_path: Path) -> None:
    t = table([("chr1", 2, "C", "T", "TF1", 10, 3), ("chr1", 5, "A", "AG", "TF1", 4, 9)])
    t.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    with pytest.raises(AsbTableError, match=r"t\.tsv:3: alt 'AG'"):
        read_asb_table(tmp_path / "t.tsv")
