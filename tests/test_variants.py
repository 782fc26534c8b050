"""Variant scoring through selene-sdk's real code on a tiny model, FASTA and VCF.

The expected scores are computed here independently: the window is 0-based
[POS - L/2, POS + L/2) (variant at index L/2 - 1 for even L), one-hot A,C,G,T with N = 0.25.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from amber.variants.genome import prepare_genome
from amber.variants.score import ScoreConfig, score_variants
from amber.variants.scores import LOGFC_EPS, logit_fold_change, read_scores
from amber.variants.vcf import VcfError

FEATURES = ["zeta", "alpha", "mid"]  # deliberately unsorted: order must be kept
BASES = "ACGT"


class TinyNet(nn.Module):
    """Position-sensitive (flatten head): a window shifted by one base scores differently."""

    def __init__(self, seq_len: int, n_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 6, kernel_size=5, padding=2)
        self.head = nn.Linear(6 * seq_len, n_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(torch.relu(self.conv(x)).flatten(1)))


def make_genome(tmp_path: Path, seed: int = 0) -> tuple[Path, dict[str, str]]:
    rng = np.random.default_rng(seed)
    seqs = {c: "".join(rng.choice(list(BASES), n)) for c, n in (("chr1", 3000), ("chr2", 800))}
    chr1 = list(seqs["chr1"])
    chr1[1000:1010] = "N" * 10  # windows around 1000 contain N (Selene: 0.25 each)
    chr1[2000:2100] = [b.lower() for b in chr1[2000:2100]]  # soft-masked repeat
    seqs["chr1"] = "".join(chr1)
    path = tmp_path / "genome.fa"
    with open(path, "w") as handle:
        for name, seq in seqs.items():
            handle.write(f">{name}\n")
            handle.writelines(seq[i : i + 70] + "\n" for i in range(0, len(seq), 70))
    return path, {c: s.upper() for c, s in seqs.items()}


def other_base(base: str, shift: int = 1) -> str:
    return BASES[(BASES.index(base) + shift) % 4]


def write_vcf(path: Path, rows: list[str]) -> Path:
    header = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    path.write_text("\n".join(header + rows) + "\n")
    return path


def one_hot(seq: str) -> np.ndarray:
    out = np.full((4, len(seq)), 0.25, dtype=np.float32)
    for i, base in enumerate(seq):
        if base in BASES:
            out[:, i] = 0
            out[BASES.index(base), i] = 1
    return out


def own_prediction(
    model: nn.Module, genome: dict[str, str], chrom: str, pos: int, alt: str, L: int
):
    """The model's P(ref), P(alt) for the window we expect Selene to use (SNV)."""
    left = L // 2 - 1 if L % 2 == 0 else L // 2  # variant index inside the window
    start = pos - 1 - left
    window = genome[chrom][start : start + L]
    assert len(window) == L and window[left] == genome[chrom][pos - 1]
    alt_window = window[:left] + alt + window[left + 1 :]
    x = torch.from_numpy(np.stack([one_hot(window), one_hot(alt_window)]))
    with torch.no_grad():
        p = model.eval()(x).numpy()
    return p[0], p[1]


def tiny_model(seq_len: int, seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet(seq_len, len(FEATURES)).eval()


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.parametrize("seq_len", [200, 201])
def test_selene_scores_equal_the_models_own_predictions(tmp_path: Path, seq_len: int) -> None:
    fasta, genome = make_genome(tmp_path)
    model = tiny_model(seq_len)
    rng = np.random.default_rng(1)
    # Random SNVs plus the exact edges of where a window still fits, N-containing
    # windows (around 1000) and soft-masked bases (2000-2100, REF given in upper case).
    positions = [("chr1", int(p)) for p in rng.integers(110, 2890, size=25)]
    first, last = seq_len // 2 + seq_len % 2, 3000 - seq_len // 2  # windows at 0 and at the end
    positions += [("chr1", first), ("chr1", last), ("chr2", 400), ("chr1", 995), ("chr1", 2050)]
    positions = [(c, p) for c, p in positions if genome[c][p - 1] != "N"]
    rows = [
        f"{c}\t{p}\trs{i}\t{genome[c][p - 1]}\t{other_base(genome[c][p - 1], 1 + i % 3)}"
        for i, (c, p) in enumerate(positions, start=1)
    ]
    vcf = write_vcf(tmp_path / "in.vcf", rows)
    summary = score_variants(
        model,
        FEATURES,
        vcf,
        fasta,
        tmp_path / "out",
        seq_len=seq_len,
        config=ScoreConfig(batch_size=7, chunk_size=11),  # several batches and chunks
        model_name="tiny",
    )
    scores = read_scores(tmp_path / "out" / "scores.h5")
    assert summary["counts"]["scored"] == len(positions)
    assert summary["windows_with_unknown_bases"] >= 1
    assert scores["features"].tolist() == FEATURES
    assert str(scores["model"]) == "tiny"
    assert scores["pos"].dtype == np.int64
    assert list(zip(scores["chrom"], scores["pos"], strict=True)) == positions
    for i, (chrom, pos) in enumerate(positions):
        alt = str(scores["alt_allele"][i])
        p_ref, p_alt = own_prediction(model, genome, chrom, pos, alt, seq_len)
        np.testing.assert_allclose(scores["ref"][i], p_ref, atol=1e-6, rtol=0)
        np.testing.assert_allclose(scores["alt"][i], p_alt, atol=1e-6, rtol=0)
        np.testing.assert_allclose(scores["diff"][i], p_alt - p_ref, atol=1e-6, rtol=0)
    assert np.abs(scores["diff"]).max() > 1e-4  # the test would notice swapped alleles
    r, a = scores["ref"].astype(np.float64), scores["alt"].astype(np.float64)
    expected = np.log(a / (1 - a)) - np.log(r / (1 - r))
    np.testing.assert_allclose(scores["logfc"], expected, atol=1e-5, rtol=1e-5)


def test_bad_records_are_counted_and_never_scored(tmp_path: Path) -> None:
    fasta, genome = make_genome(tmp_path)
    g = genome["chr1"]

    def ref(p: int) -> str:
        return g[p - 1]

    def alt(p: int, k: int = 1) -> str:
        return other_base(g[p - 1], k)

    rows = [
        f"chr1\t500\tgood1\t{ref(500)}\t{alt(500)}\t.\tPASS\t.",
        f"chr1\t600\twrongref\t{alt(600)}\t{alt(600, 2)}",
        "chrZ\t500\tunkchrom\tA\tG",
        f"chr1\t99\tnearstart\t{ref(99)}\t{alt(99)}",  # window would start at 0-based -1
        f"chr2\t790\tnearend\t{genome['chr2'][789]}\t{other_base(genome['chr2'][789])}",
        f"chr1\t700\tnonacgt\t{ref(700)}\tN",
        f"chr1\t800\tstar\t{ref(800)}\t*",
        f"chr1\t900\tmulti\t{ref(900)}\t{alt(900)},{alt(900, 2)}",
        f"chr1\t950\tmultibad\t{ref(950)}\t{alt(950)},<DEL>",
        "chr1\tnotanumber\tbadpos\tA\tG",
        "just some garbage",
        f"chr1\t1100\tsameref\t{ref(1100)}\t{ref(1100)}",
        "chr1\t1200",
        "chr1\t5000\tbeyond\tA\tG",
        f"chr1\t1300\tgood2\t{ref(1300)}\t{alt(1300)}",
    ]
    vcf = write_vcf(tmp_path / "bad.vcf", rows)
    out = tmp_path / "out"
    summary = score_variants(
        tiny_model(200), FEATURES, vcf, fasta, out, seq_len=200, model_name="tiny"
    )
    scores = read_scores(out / "scores.h5")
    assert scores["id"].tolist() == ["good1", "multi", "multi", "multibad", "good2"]
    assert scores["alt_allele"].tolist() == [alt(500), alt(900), alt(900, 2), alt(950), alt(1300)]
    assert scores["ref"].shape == (5, len(FEATURES))

    skipped = read_tsv(out / "skipped.tsv")
    reasons = {(r["id"], r["alt"]): r["reason"] for r in skipped if r["id"]}
    assert reasons == {
        ("wrongref", alt(600, 2)): "ref_mismatch",
        ("unkchrom", "G"): "unknown_chromosome",
        ("nearstart", alt(99)): "too_close_to_end",
        ("nearend", other_base(genome["chr2"][789])): "too_close_to_end",
        ("nonacgt", "N"): "non_acgt_allele",
        ("star", "*"): "non_acgt_allele",
        ("multibad", "<DEL>"): "non_acgt_allele",
        ("badpos", "G"): "malformed_line",
        ("sameref", ref(1100)): "alt_equals_ref",
        ("beyond", "G"): "too_close_to_end",
    }
    malformed = [r for r in skipped if r["reason"] == "malformed_line"]
    assert sorted(int(r["line"]) for r in malformed) == [12, 13, 15]  # VCF line numbers
    assert all(f"line {r['line']}" in r["detail"] for r in skipped)
    assert "genome has" in next(r["detail"] for r in skipped if r["reason"] == "ref_mismatch")

    # Every data line is accounted for: scored or listed as skipped.
    data_lines = set(range(3, 3 + len(rows)))
    assert set(scores["vcf_line"].tolist()) | {int(r["line"]) for r in skipped} == data_lines

    counts = json.loads((out / "summary.json").read_text())["counts"]
    assert counts == summary["counts"]
    assert counts == {
        "scored": 5,
        "malformed_line": 3,
        "unknown_chromosome": 1,
        "non_acgt_allele": 3,
        "alt_equals_ref": 1,
        "allele_too_long": 0,
        "ref_mismatch": 1,
        "too_close_to_end": 3,
        "multiallelic": 0,
    }
    assert summary["records"] == len(rows)
    assert summary["multiallelic_records_split"] == 2


def test_multiallelic_records_can_be_skipped_instead(tmp_path: Path) -> None:
    fasta, genome = make_genome(tmp_path)
    g = genome["chr1"]
    rows = [
        f"chr1\t900\tmulti\t{g[899]}\t{other_base(g[899])},{other_base(g[899], 2)}",
        f"chr1\t1300\tgood\t{g[1299]}\t{other_base(g[1299])}",
    ]
    vcf = write_vcf(tmp_path / "m.vcf", rows)
    config = ScoreConfig(multiallelic="skip")
    summary = score_variants(
        tiny_model(200), FEATURES, vcf, fasta, tmp_path / "o", seq_len=200, config=config
    )
    assert read_scores(tmp_path / "o" / "scores.h5")["id"].tolist() == ["good"]
    assert summary["counts"]["multiallelic"] == 1
    assert [r["reason"] for r in read_tsv(tmp_path / "o" / "skipped.tsv")] == ["multiallelic"]


def test_bgzipped_vcf_gives_the_same_scores(tmp_path: Path) -> None:
    fasta, genome = make_genome(tmp_path)
    g = genome["chr1"]
    rows = [f"chr1\t{p}\tv{p}\t{g[p - 1]}\t{other_base(g[p - 1])}" for p in range(300, 2700, 97)]
    rows = [r for r in rows if "\tN\t" not in r]
    plain = write_vcf(tmp_path / "v.vcf", rows)
    text = plain.read_bytes()
    # bgzip writes a series of gzip members; Python's gzip reads them all.
    half = len(text) // 2
    (tmp_path / "v.vcf.gz").write_bytes(gzip.compress(text[:half]) + gzip.compress(text[half:]))
    model = tiny_model(200)
    for name in ("v.vcf", "v.vcf.gz"):
        score_variants(model, FEATURES, tmp_path / name, fasta, tmp_path / f"o_{name}", seq_len=200)
    a = read_scores(tmp_path / "o_v.vcf" / "scores.h5")
    b = read_scores(tmp_path / "o_v.vcf.gz" / "scores.h5")
    assert len(a["pos"]) == len(rows)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_vcf_chromosome_names_without_chr_prefix(tmp_path: Path) -> None:
    fasta, genome = make_genome(tmp_path)
    g = genome["chr1"]
    vcf = write_vcf(tmp_path / "v.vcf", [f"1\t500\tx\t{g[499]}\t{other_base(g[499])}"])
    score_variants(tiny_model(200), FEATURES, vcf, fasta, tmp_path / "o", seq_len=200)
    scores = read_scores(tmp_path / "o" / "scores.h5")
    assert scores["chrom"].tolist() == ["1"]  # as written in the VCF


def test_weights_that_selene_maps_differently_are_refused(tmp_path: Path) -> None:
    fasta, genome = make_genome(tmp_path)
    g = genome["chr1"]
    vcf = write_vcf(tmp_path / "v.vcf", [f"chr1\t500\tx\t{g[499]}\t{other_base(g[499])}"])
    other = tmp_path / "other.pt"
    torch.save(tiny_model(200, seed=5).state_dict(), other)
    with pytest.raises(ValueError, match="weights Selene loaded differ"):
        score_variants(
            tiny_model(200), FEATURES, vcf, fasta, tmp_path / "o", seq_len=200, weights=other
        )
    assert not (tmp_path / "o" / "scores.h5").exists()


def test_model_and_features_must_agree(tmp_path: Path) -> None:
    fasta, _ = make_genome(tmp_path)
    vcf = write_vcf(tmp_path / "v.vcf", [])
    with pytest.raises(ValueError, match="expected \\(2, 4\\) for the 4 features"):
        score_variants(tiny_model(200), [*FEATURES, "x"], vcf, fasta, tmp_path / "o", seq_len=200)


def test_bad_vcf_header_names_file_and_line(tmp_path: Path) -> None:
    fasta, _ = make_genome(tmp_path)
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##x\n#CHROM\tPOS\tREF\tALT\tID\nchr1\t5\t.\tA\tG\n")
    with pytest.raises(VcfError, match=f"{vcf}:2: header columns"):
        score_variants(tiny_model(200), FEATURES, vcf, fasta, tmp_path / "o", seq_len=200)


def test_logfc_is_finite_for_saturated_predictions() -> None:
    ref = np.array([[0.0, 1.0, 0.5]], dtype=np.float32)
    alt = np.array([[1.0, 0.0, 0.5]], dtype=np.float32)
    lfc = logit_fold_change(ref, alt)
    bound = 2 * np.log((1 - LOGFC_EPS) / LOGFC_EPS)
    np.testing.assert_allclose(lfc, [[bound, -bound, 0.0]], rtol=1e-9)


def test_cli_scores_a_saved_nas_model(tmp_path: Path) -> None:
    from amber.cli import main
    from amber.data.features import Feature, write_features
    from amber.nas.arch import sample_uniform
    from amber.nas.child import build_child
    from amber.nas.space import load_space
    from amber.train.model_io import load_model, nas_description, plain_state_dict, save_model

    root = Path(__file__).resolve().parents[1]
    space = load_space(root / "config/model_spaces/demo.yaml")
    arch = sample_uniform(space, np.random.default_rng(3))
    torch.manual_seed(0)
    model = build_child(arch, space, 1000, len(FEATURES))
    desc = nas_description(arch, space, 1000, len(FEATURES), width_multiplier=1.0, pool_dropout=0.0)
    save_model(tmp_path / "searched_1", plain_state_dict(model), {**desc, "features": FEATURES})
    write_features([Feature(n, "cell", "CTCF", "TF") for n in FEATURES], tmp_path / "f.tsv")
    fasta, genome = make_genome(tmp_path)
    g = genome["chr1"]
    rows = [f"chr1\t{p}\tv{p}\t{g[p - 1]}\t{other_base(g[p - 1])}" for p in (600, 1500, 2400)]
    vcf = tmp_path / "v.vcf.gz"
    vcf.write_bytes(gzip.compress(write_vcf(tmp_path / "v.vcf", rows).read_bytes()))
    out = tmp_path / "variants"
    argv = ["score-variants", "--model", str(tmp_path / "searched_1"), "--vcf", str(vcf)]
    argv += ["--fasta", str(fasta), "--features", str(tmp_path / "f.tsv"), "--out-dir", str(out)]
    assert main([*argv, "--device", "cpu", "--batch-size", "2"]) == 0
    scores = read_scores(out / "scores.h5")
    assert str(scores["model"]) == "searched_1"
    assert scores["features"].tolist() == FEATURES
    loaded = load_model(tmp_path / "searched_1")
    for i, p in enumerate((600, 1500, 2400)):
        p_ref, p_alt = own_prediction(loaded, genome, "chr1", p, str(scores["alt_allele"][i]), 1000)
        np.testing.assert_allclose(scores["diff"][i], p_alt - p_ref, atol=1e-6, rtol=0)
    assert json.loads((out / "summary.json").read_text())["counts"]["scored"] == 3
    assert read_tsv(out / "skipped.tsv") == []
    # Without --features the model's own list (model.json) is used: the same scores.
    without = [a for a in argv if a not in ("--features", str(tmp_path / "f.tsv"))]
    without[without.index(str(out))] = str(tmp_path / "again")
    assert main([*without, "--device", "cpu", "--batch-size", "2"]) == 0
    again = read_scores(tmp_path / "again" / "scores.h5")
    np.testing.assert_array_equal(again["diff"], scores["diff"])
    assert again["features"].tolist() == FEATURES


def test_prepare_genome_decompresses_and_indexes(tmp_path: Path) -> None:
    fasta, genome = make_genome(tmp_path)
    gz = tmp_path / "g.fa.gz"
    gz.write_bytes(gzip.compress(fasta.read_bytes()))
    out = tmp_path / "prepared" / "g.fa"
    assert prepare_genome(gz, out) == 2
    assert out.read_bytes() == fasta.read_bytes()
    fai = (tmp_path / "prepared" / "g.fa.fai").read_text().splitlines()
    assert [line.split("\t")[:2] for line in fai] == [["chr1", "3000"], ["chr2", "800"]]
    with pytest.raises(ValueError, match="not a valid FASTA|no sequences"):
        (tmp_path / "bad.fa").write_text("not a fasta\n")
        prepare_genome(tmp_path / "bad.fa", tmp_path / "prepared" / "bad.fa")


def test_indels_near_the_ends_are_scored_or_reported(tmp_path: Path) -> None:
    """Selene centres indels on POS + len(REF) // 2; our window check must agree with it
    (a variant Selene could not fetch would raise), also right at the chromosome ends."""
    fasta, genome = make_genome(tmp_path)
    g = genome["chr1"]
    rows = []
    for p in (100, 101, 500, 2896, 2899, 2900):
        rows.append(f"chr1\t{p}\tdel{p}\t{g[p - 1 : p + 3]}\t{g[p - 1]}")
        rows.append(f"chr1\t{p}\tins{p}\t{g[p - 1]}\t{g[p - 1]}ACGTA")
        rows.append(f"chr1\t{p}\tmnv{p}\t{g[p - 1 : p + 1]}\t{other_base(g[p - 1])}{g[p]}")
    vcf = write_vcf(tmp_path / "indels.vcf", rows)
    out = tmp_path / "o"
    summary = score_variants(tiny_model(200), FEATURES, vcf, fasta, out, seq_len=200)
    skipped = {r["id"] for r in read_tsv(out / "skipped.tsv")}
    assert skipped == {"del2899", "del2900", "mnv2900"}  # windows reach past base 3000
    assert summary["counts"]["too_close_to_end"] == 3
    scores = read_scores(out / "scores.h5", fields=["id", "diff"])
    assert set(scores) == {"id", "diff", "features", "model"}
    assert len(scores["id"]) == len(rows) - 3
    assert np.isfinite(scores["diff"]).all()


def test_vcf_with_no_scorable_record_is_an_error(tmp_path: Path) -> None:
    """All records malformed (e.g. a BED given as VCF): an error naming the file and the
    first record's problem, not an empty scores.h5 with exit 0."""
    from amber.variants.vcf import VcfError

    fasta, _ = make_genome(tmp_path)
    vcf = write_vcf(tmp_path / "peaks.vcf", ["chr1\t100\t200", "chr1\tnotanumber\tx\tA\tG"])
    with pytest.raises(VcfError, match=r"peaks\.vcf: none of its 2 records can be scored; the "
                       r"first, line 3: malformed_line"):  # fmt: skip
        score_variants(tiny_model(200), FEATURES, vcf, fasta, tmp_path / "o", seq_len=200)
    assert not (tmp_path / "o" / "scores.h5").exists()


def test_gzipped_fasta_is_named_before_selene_reads_it(tmp_path: Path) -> None:
    fasta, genome = make_genome(tmp_path)
    gz = tmp_path / "genome.fa.gz"
    gz.write_bytes(gzip.compress(fasta.read_bytes()))
    g = genome["chr1"]
    vcf = write_vcf(tmp_path / "v.vcf", [f"chr1\t500\tv\t{g[499]}\t{other_base(g[499])}"])
    with pytest.raises(ValueError, match=re.escape(f"{gz}: the FASTA is gzip-compressed")):
        score_variants(tiny_model(200), FEATURES, vcf, gz, tmp_path / "o", seq_len=200)


def test_rc_averaged_model_scores_both_strands_alike(tmp_path: Path) -> None:
    """Selene scoring with a reverse-complement-averaged model: a variant and the same
    variant on the reverse-complemented genome get the same scores (odd window: the
    windows are exact reverse complements). The bare model, position-sensitive, differs."""
    from amber.train.model_io import ReverseComplementAverage

    fasta, genome = make_genome(tmp_path)
    comp = str.maketrans("ACGTN", "TGCAN")
    mirrored = {c: s.translate(comp)[::-1] for c, s in genome.items()}
    rc_dir = tmp_path / "rc"
    rc_dir.mkdir()
    rc_fasta = rc_dir / "genome.fa"
    rc_fasta.write_text("".join(f">{c}\n{s}\n" for c, s in mirrored.items()))
    n = len(genome["chr1"])
    picks = [p for p in range(300, 2700, 211) if genome["chr1"][p - 1] != "N"]
    rows, rc_rows = [], []
    for i, p in enumerate(picks):
        ref = genome["chr1"][p - 1]
        alt = other_base(ref, 1 + i % 3)
        rows.append(f"chr1\t{p}\tv{i}\t{ref}\t{alt}")
        rc_rows.append(f"chr1\t{n - p + 1}\tv{i}\t{ref.translate(comp)}\t{alt.translate(comp)}")
    vcf, rc_vcf = write_vcf(tmp_path / "v.vcf", rows), write_vcf(rc_dir / "v.vcf", rc_rows)
    scores = {}
    for name, model in (
        ("bare", tiny_model(201)),
        ("rc", ReverseComplementAverage(tiny_model(201))),
    ):
        for strand, (f, v) in {"+": (fasta, vcf), "-": (rc_fasta, rc_vcf)}.items():
            out = tmp_path / f"{name}{strand}"
            score_variants(model.eval(), FEATURES, v, f, out, seq_len=201, model_name=name)
            scores[name, strand] = read_scores(out / "scores.h5")
    for field in ("ref", "alt", "diff"):
        np.testing.assert_allclose(scores["rc", "+"][field], scores["rc", "-"][field], atol=1e-6)
    assert np.abs(scores["bare", "+"]["ref"] - scores["bare", "-"]["ref"]).max() > 1e-3


@pytest.mark.parametrize("n_shards", [3, 7])
def test_sharded_scoring_merges_into_the_unsharded_files(tmp_path: Path, n_shards: int) -> None:
    """score-variants --shard i/n for every i, then merge-shards: the same
    scores.h5 (datasets and attributes, bit for bit), skipped.tsv and summary.json (timing
    aside) as one job over the whole VCF; with more shards than chunks some are empty."""
    from amber.variants.shards import merge_shards, parse_shard

    fasta, genome = make_genome(tmp_path)
    g = genome["chr1"]
    rows = [
        f"chr1\t{p}\tv{p}\t{g[p - 1]}\t{other_base(g[p - 1])}" for p in (300, 420, 510, 640)
    ] + [
        f"chr1\t700\tmulti\t{g[699]}\t{other_base(g[699])},{other_base(g[699], 2)}",
        "chrZ\t500\tunkchrom\tA\tG",
        "just some garbage",
    ]
    vcf = write_vcf(tmp_path / "v.vcf", rows)
    model = tiny_model(200)
    whole = tmp_path / "whole"
    config = ScoreConfig(batch_size=2, chunk_size=4)  # 2 chunks, 2 batches each
    score_variants(
        model, FEATURES, vcf, fasta, whole, seq_len=200, model_name="tiny", config=config
    )
    shards = [tmp_path / "shards" / str(i) for i in range(1, n_shards + 1)]
    for i, folder in enumerate(shards, start=1):
        score_variants(
            model, FEATURES, vcf, fasta, folder, seq_len=200, model_name="tiny",
            config=config, shard=parse_shard(f"{i}/{n_shards}"),
        )  # fmt: skip
    merged = tmp_path / "merged"
    merge_shards(shards, merged)
    a, b = read_scores(whole / "scores.h5"), read_scores(merged / "scores.h5")
    assert sorted(a) == sorted(b) and len(a["pos"]) == 6
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    with h5py.File(whole / "scores.h5") as x, h5py.File(merged / "scores.h5") as y:
        assert {k: str(v) for k, v in x.attrs.items()} == {k: str(v) for k, v in y.attrs.items()}
    assert (whole / "skipped.tsv").read_bytes() == (merged / "skipped.tsv").read_bytes()
    s1, s2 = (json.loads((d / "summary.json").read_text()) for d in (whole, merged))
    assert {k: v for k, v in s1.items() if k != "seconds"} == {
        k: v for k, v in s2.items() if k != "seconds"
    }
    with pytest.raises(ValueError, match="shards"):
        merge_shards(shards[:-1], tmp_path / "bad")  # one missing
    with pytest.raises(ValueError, match="I/N"):
        parse_shard("3/2")
