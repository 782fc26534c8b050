"""make_dataset: hand-checked labels, windows and one-hot; holdouts; negatives; determinism."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from amber.data import genome
from amber.data.dataset import DatasetError, make_dataset, window_n_counts
from amber.data.features import Feature, bed_stem, read_features, write_features
from amber.data.splits import SplitError

REF = {"A": 0, "C": 1, "G": 2, "T": 3}


def ref_one_hot(seq: str) -> np.ndarray:
    """Independent, slow reference encoding: one column per base, A,C,G,T rows."""
    out = np.zeros((4, len(seq)), np.uint8)
    for i, base in enumerate(seq.upper()):
        if base in REF:
            out[REF[base], i] = 1
    return out


def write_fasta(path: Path, records: dict[str, str], width: int = 60) -> None:
    with open(path, "w") as fh:
        for name, seq in records.items():
            fh.write(f">{name} some description\n")
            for i in range(0, len(seq), width):
                fh.write(seq[i : i + width] + "\n")


def write_inputs(
    tmp: Path, records: dict[str, str], peaks: dict[str, list[tuple[str, int, int]]]
) -> tuple[Path, Path, Path]:
    fasta = tmp / "genome.fa"
    write_fasta(fasta, records)
    features = [Feature(name, name.split("|")[0], "CTCF", "TF") for name in peaks]
    tsv = tmp / "features.tsv"
    write_features(features, tsv)
    bed_dir = tmp / "peaks"
    bed_dir.mkdir()
    for name, rows in peaks.items():
        lines = ["track name=test", "# comment", ""]
        lines += [f"{c}\t{s}\t{e}\tpeak\t0\t." for c, s, e in rows]
        (bed_dir / f"{bed_stem(name)}.bed").write_text("\n".join(lines) + "\n")
    return fasta, tsv, bed_dir


def random_seq(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("ACGT"), size=n))


def read_split(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as h5:
        out = {k: h5[k][:] for k in ("x", "y", "chrom", "start", "end")}
        out["attrs"] = dict(h5.attrs)
        out["x_chunks"] = h5["x"].chunks
        out["y_chunks"] = h5["y"].chunks
    return out


# --- the hand-made case ----------------------------------------------------------------
# bin_size 20, seq_len 40: the window of bin k is [20k - 10, 20k + 30).
# chr1 (260 bp, train): bins 1..11 have windows inside the chromosome (bin 0 starts at -10,
# bin 12 ends at 270). An N run [200, 225) puts 25 N (> 20 = 50%) in bin 10's window
# [190, 230), which is dropped; bin 11's window [210, 250) has 15 N and is kept.
# Feature f1 on chr1:
#   [0, 20)     bin 0 fully covered, but its window runs off the start -> no row
#   [40, 50)    bin 2: exactly 10 bp = half -> positive
#   [71, 80)    bin 3: 9 bp = half - 1 -> negative
#   [110, 135)  spans bins 5 (10 bp) and 6 (15 bp) -> both positive
#   [140, 145) + [150, 156)  bin 7: 5 + 6 = 11 bp -> positive (separate peaks add up)
#   [160, 165) + [162, 168)  bin 8: union 8 bp -> negative (overlaps are not double counted)
# Feature f2: chr1 [40, 60) -> bin 2; chr2 [20, 40) -> bin 1 (valid split); chr3 [60, 80)
# -> bin 3 (test). f1 also has chr2 [40, 60) -> bin 2 and chr3 [20, 40) -> bin 1, so that
# every split has a positive of every feature (make_dataset requires it).
# chr2 (100 bp, valid) and chr3 (100 bp, test): bins 1..3 usable.
PEAKS = {
    "A|f1|None": [
        ("chr1", 0, 20),
        ("chr1", 40, 50),
        ("chr1", 71, 80),
        ("chr1", 110, 135),
        ("chr1", 140, 145),
        ("chr1", 150, 156),
        ("chr1", 160, 165),
        ("chr1", 162, 168),
        ("chr2", 40, 60),
        ("chr3", 20, 40),
    ],
    "B|f2|None": [("chr1", 40, 60), ("chr2", 20, 40), ("chr3", 60, 80)],
}
EXPECTED = {
    "train": {
        "chrom": "chr1",
        "bins": [1, 2, 3, 4, 5, 6, 7, 8, 9, 11],
        "y": {2: (1, 1), 5: (1, 0), 6: (1, 0), 7: (1, 0)},
    },
    "valid": {"chrom": "chr2", "bins": [1, 2, 3], "y": {1: (0, 1), 2: (1, 0)}},
    "test": {"chrom": "chr3", "bins": [1, 2, 3], "y": {1: (1, 0), 3: (0, 1)}},
}


@pytest.fixture()
def hand_case(tmp_path: Path) -> tuple[dict[str, str], Path, Path, Path]:
    rng = np.random.default_rng(0)
    chr1 = list(random_seq(rng, 260))
    chr1[200:225] = "N" * 25
    chr1[50:70] = [b.lower() for b in chr1[50:70]]  # soft-masked bases count as bases
    chr1[12] = "R"  # IUPAC code: unknown, all-zero column
    chr1[13] = "n"
    records = {"chr1": "".join(chr1), "chr2": random_seq(rng, 100), "chr3": random_seq(rng, 100)}
    return (records, *write_inputs(tmp_path, records, PEAKS))


def test_hand_made_labels_windows_and_one_hot(hand_case, tmp_path: Path) -> None:
    records, fasta, tsv, bed_dir = hand_case
    out = tmp_path / "out"
    summary = make_dataset(
        fasta,
        tsv,
        bed_dir,
        out,
        bin_size=20,
        seq_len=40,
        valid_chroms=["chr2"],
        test_chroms=["chr3"],
        negative_fraction=1.0,
        seed=3,
        chunk_size=4,
    )
    for split, exp in EXPECTED.items():
        data = read_split(out / f"{split}.h5")
        order = np.argsort(data["start"], kind="stable")
        if split != "train":
            assert (order == np.arange(len(order))).all(), "valid/test rows in genome order"
        bins = np.array(exp["bins"])
        assert (data["start"][order] == bins * 20 - 10).all()
        assert (data["end"] - data["start"] == 40).all()
        assert set(data["chrom"].tolist()) == {exp["chrom"].encode()}
        y_expected = np.zeros((len(bins), 2), np.uint8)
        for k, labels in exp["y"].items():
            y_expected[exp["bins"].index(k)] = labels
        np.testing.assert_array_equal(data["y"][order], y_expected)
        seq = records[exp["chrom"]]
        x_expected = np.stack([ref_one_hot(seq[k * 20 - 10 : k * 20 + 30]) for k in bins])
        np.testing.assert_array_equal(data["x"][order], x_expected)
        assert data["x"].dtype == np.uint8 and data["y"].dtype == np.uint8
        assert data["x_chunks"] == (4, 4, 40) and data["y_chunks"] == (4, 2)
        assert data["attrs"]["split"] == split
        assert data["attrs"]["seq_len"] == 40 and data["attrs"]["bin_size"] == 20
        assert data["attrs"]["base_order"] == "ACGT" and data["attrs"]["source"] == "bed"
        assert list(data["attrs"]["features"]) == list(PEAKS)
        assert summary["counts"][split] == len(bins)
    # Bin 1's window [10, 50) holds the R and n at 12, 13: all-zero columns.
    train = read_split(out / "train.h5")
    row = int(np.flatnonzero(train["start"] == 10)[0])
    assert train["x"][row][:, 2:4].sum() == 0 and train["x"][row].sum() == 38
    assert summary["positives"]["train"] == {"A|f1|None": 4, "B|f2|None": 1}
    assert summary["positives"]["valid"] == {"A|f1|None": 1, "B|f2|None": 1}
    assert summary["positive_rate"]["valid"] == {"A|f1|None": 0.333333, "B|f2|None": 0.333333}
    assert summary["regions"]["valid"] == ["chr2:1-100"]
    assert summary["candidates"]["train"]["dropped_for_n"] == 1
    assert json.loads((out / "dataset.json").read_text()) == summary
    assert read_features(out / "features.tsv") == read_features(tsv)
    assert sorted(p.name for p in out.iterdir()) == [
        "dataset.json",
        "features.tsv",
        "test.h5",
        "train.h5",
        "valid.h5",
    ]


def test_n_filter_can_be_disabled(hand_case, tmp_path: Path) -> None:
    _, fasta, tsv, bed_dir = hand_case
    summary = make_dataset(
        fasta,
        tsv,
        bed_dir,
        tmp_path / "out",
        bin_size=20,
        seq_len=40,
        valid_chroms=["chr2"],
        test_chroms=["chr3"],
        negative_fraction=1.0,
        max_n_fraction=None,
    )
    assert summary["counts"]["train"] == 11  # bin 10 is back


@pytest.mark.parametrize("edge", [False, True])
def test_window_n_counts_matches_brute_force(edge: bool) -> None:
    rng = np.random.default_rng(5)
    is_n = rng.random(500) < 0.3
    is_n[[0, -1]] = edge  # runs touching both chromosome ends, or not
    starts = np.sort(np.concatenate([[0, 460], rng.choice(np.arange(1, 460), 60, replace=False)]))
    expected = [is_n[s : s + 40].sum() for s in starts]
    np.testing.assert_array_equal(window_n_counts(is_n, starts, 40), expected)
    assert window_n_counts(np.zeros(100, bool), starts[:1], 40).tolist() == [0]


def test_one_hot_lookup_table() -> None:
    np.testing.assert_array_equal(genome.one_hot("ACgtNrX"), ref_one_hot("ACgtNrX"))
    assert genome.one_hot(b"").shape == (4, 0)


# --- holdouts, negative sampling, determinism ------------------------------------------


def brute_force_expectation(
    records: dict[str, str], peaks: dict[str, list], bin_size: int, seq_len: int
) -> dict[str, tuple[set[int], int]]:
    """Per chromosome: positive usable bins and number of all-negative usable bins."""
    out = {}
    for chrom, seq in records.items():
        covered = []
        for rows in peaks.values():
            cov = np.zeros(len(seq), bool)
            for c, s, e in rows:
                if c == chrom:
                    cov[s:e] = True
            covered.append(cov)
        positive, negative = set(), 0
        for k in range(len(seq) // bin_size):
            start = k * bin_size + (bin_size - seq_len) // 2
            if start < 0 or start + seq_len > len(seq):
                continue
            hits = [c[k * bin_size : (k + 1) * bin_size].sum() * 2 >= bin_size for c in covered]
            if any(hits):
                positive.add(k)
            else:
                negative += 1
        out[chrom] = (positive, negative)
    return out


@pytest.fixture()
def random_case(tmp_path: Path) -> tuple[dict[str, str], dict[str, list], Path, Path, Path]:
    rng = np.random.default_rng(11)
    records = {f"chr{i}": random_seq(rng, 3000 + 500 * i) for i in range(1, 5)}
    peaks: dict[str, list] = {}
    for f in range(3):
        rows = []
        for chrom, seq in records.items():
            for _ in range(12):
                s = int(rng.integers(0, len(seq) - 120))
                rows.append((chrom, s, s + int(rng.integers(10, 120))))
        peaks[f"cell{f}|TF{f}|None"] = rows
    return (records, peaks, *write_inputs(tmp_path, records, peaks))


def test_holdouts_negatives_and_determinism(random_case, tmp_path: Path) -> None:
    records, peaks, fasta, tsv, bed_dir = random_case
    kwargs = dict(
        bin_size=50,
        seq_len=150,
        valid_chroms=["chr2"],
        test_chroms=["chr4"],
        negative_fraction=0.3,
        chunk_size=16,
    )
    first = make_dataset(fasta, tsv, bed_dir, tmp_path / "a", seed=7, **kwargs)
    again = make_dataset(fasta, tsv, bed_dir, tmp_path / "b", seed=7, **kwargs)
    other = make_dataset(fasta, tsv, bed_dir, tmp_path / "c", seed=8, **kwargs)

    expect = brute_force_expectation(records, peaks, 50, 150)
    split_chroms = {"train": {"chr1", "chr3"}, "valid": {"chr2"}, "test": {"chr4"}}
    assert {s: set(c) for s, c in first["chromosomes"].items()} == split_chroms
    seen_rows: set[tuple[bytes, int]] = set()
    for split, chroms in split_chroms.items():
        data = read_split(tmp_path / "a" / f"{split}.h5")
        assert {c.decode() for c in data["chrom"]} <= chroms, f"{split} leaks chromosomes"
        rows = set(zip(data["chrom"].tolist(), data["start"].tolist(), strict=True))
        assert len(rows) == len(data["start"]) and not rows & seen_rows
        seen_rows |= rows
        n_neg = int((data["y"].sum(axis=1) == 0).sum())
        assert n_neg == sum(round(0.3 * expect[c][1]) for c in chroms) == first["negatives"][split]
        for chrom in chroms:  # every usable positive bin is present, with its label
            starts = {s for c, s in rows if c == chrom.encode()}
            assert {(s + 50) // 50 for s in starts} >= expect[chrom][0]
            assert len(starts) == len(expect[chrom][0]) + round(0.3 * expect[chrom][1])
        same = read_split(tmp_path / "b" / f"{split}.h5")
        for key in ("x", "y", "chrom", "start"):
            np.testing.assert_array_equal(data[key], same[key])
    assert first == again
    assert other["counts"] == first["counts"]  # same number of rows, other negatives
    a = read_split(tmp_path / "a" / "train.h5")
    c = read_split(tmp_path / "c" / "train.h5")
    assert not np.array_equal(a["start"], c["start"]), "the seed changes sampling/order"
    assert not (np.diff(a["start"][a["chrom"] == b"chr1"]) > 0).all(), "train is shuffled"


def test_empty_train_split_fails_without_output(random_case, tmp_path: Path) -> None:
    _, _, fasta, tsv, bed_dir = random_case
    out = tmp_path / "out"
    with pytest.raises(DatasetError, match="train split is empty"):
        make_dataset(
            fasta,
            tsv,
            bed_dir,
            out,
            bin_size=50,
            seq_len=150,
            valid_chroms=["chr1", "chr2"],
            test_chroms=["chr3", "chr4"],
        )
    assert not out.exists(), "a refused run leaves no empty folder"


def test_failure_while_writing_leaves_nothing(random_case, tmp_path: Path, monkeypatch) -> None:
    _, _, fasta, tsv, bed_dir = random_case
    out = tmp_path / "out"
    import amber.data.dataset as ds

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ds, "write_features", boom)  # fails after the three .h5 are written
    with pytest.raises(RuntimeError, match="disk full"):
        make_dataset(
            fasta,
            tsv,
            bed_dir,
            out,
            bin_size=50,
            seq_len=150,
            valid_chroms=["chr2"],
            test_chroms=["chr4"],
        )
    assert not out.exists()


def test_holdout_chromosome_must_exist(random_case, tmp_path: Path) -> None:
    _, _, fasta, tsv, bed_dir = random_case
    with pytest.raises(SplitError, match=r"test holdout 'chr9' is not in .*genome\.fa"):
        make_dataset(
            fasta,
            tsv,
            bed_dir,
            tmp_path / "out",
            valid_chroms=["chr2"],
            test_chroms=["chr9"],
            bin_size=50,
            seq_len=150,
        )


def test_anchor_categories_keep_only_bins_with_an_anchoring_positive(
    random_case, tmp_path: Path
) -> None:
    records, peaks, fasta, _, bed_dir = random_case
    names = list(peaks)
    tsv = tmp_path / "mixed.tsv"  # the first feature is a TF, the others histone marks
    write_features(
        [
            Feature(n, n.split("|")[0], n.split("|")[1], "TF" if i == 0 else "Histone")
            for i, n in enumerate(names)
        ],
        tsv,
    )
    kwargs = dict(bin_size=50, seq_len=150, valid_chroms=["chr2"], test_chroms=["chr4"])
    summary = make_dataset(
        fasta,
        tsv,
        bed_dir,
        tmp_path / "tf",
        negative_fraction=0.0,
        anchor_categories=["tf"],
        **kwargs,
    )
    assert summary["params"]["anchor_categories"] == ["tf"]
    tf_only = brute_force_expectation(records, {names[0]: peaks[names[0]]}, 50, 150)
    every = brute_force_expectation(records, peaks, 50, 150)
    for split in ("train", "valid", "test"):
        data = read_split(tmp_path / "tf" / f"{split}.h5")
        assert data["y"][:, 0].all(), "every kept bin is TF-positive"
        chroms = data["chrom"].astype(str)
        for chrom in set(chroms):
            assert {(s + 50) // 50 for s in data["start"][chroms == chrom]} == tf_only[chrom][0]
    train = read_split(tmp_path / "tf" / "train.h5")
    assert train["y"][:, 1:].any(), "labels of the other features are still written"
    assert any(every[c][0] - tf_only[c][0] for c in records), "histone-only bins exist"

    # Histone-only bins become negatives: with every negative kept, all usable bins are rows.
    full = make_dataset(
        fasta,
        tsv,
        bed_dir,
        tmp_path / "all",
        negative_fraction=1.0,
        anchor_categories=["TF"],
        **kwargs,
    )
    assert sum(full["counts"].values()) == sum(len(p) + n for p, n in every.values())

    with pytest.raises(DatasetError, match=r"anchor categories DNase .*Histone, TF"):
        make_dataset(
            fasta,
            tsv,
            bed_dir,
            tmp_path / "bad",
            negative_fraction=0.1,
            anchor_categories=["DNase"],
            **kwargs,
        )
    assert not (tmp_path / "bad").exists()


# --- region holdouts: one chromosome, three splits ----------------------------------------


@pytest.fixture()
def one_chromosome(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A single 12 kb chromosome with peaks of two factors every ~300 bp."""
    rng = np.random.default_rng(5)
    records = {"chr22": random_seq(rng, 12000)}
    peaks = {
        f"cell|TF{f}|None": [("chr22", s, s + 80) for s in range(100 + 40 * f, 11900, 290)]
        for f in range(2)
    }
    return write_inputs(tmp_path, records, peaks)


def _windows_inside(path: Path, regions: list[tuple[int, int]]) -> bool:
    data = read_split(path)
    return all(
        any(a <= s and e <= b for a, b in regions)
        for s, e in zip(data["start"], data["end"], strict=True)
    )


@pytest.mark.parametrize("test_holdout", ["region", "bed"])
def test_region_holdouts_give_three_splits_and_no_window_crosses_a_boundary(
    one_chromosome, tmp_path: Path, test_holdout: str
) -> None:
    fasta, tsv, bed_dir = one_chromosome
    test = "chr22:8001-10000"
    if test_holdout == "bed":
        test = str(tmp_path / "test_regions.bed")
        Path(test).write_text("# holdout\nchr22\t8000\t10000\n")
    out = tmp_path / "out"
    summary = make_dataset(
        fasta,
        tsv,
        bed_dir,
        out,
        bin_size=50,
        seq_len=150,
        valid_chroms=["chr22:4,001-6,000"],
        test_chroms=[test],
        negative_fraction=0.5,
    )
    assert all(summary["counts"][s] > 0 for s in ("train", "valid", "test"))
    assert summary["regions"] == {
        "train": ["chr22:1-4000", "chr22:6001-8000", "chr22:10001-12000"],
        "valid": ["chr22:4001-6000"],
        "test": ["chr22:8001-10000"],
    }
    assert _windows_inside(out / "valid.h5", [(4000, 6000)])
    assert _windows_inside(out / "test.h5", [(8000, 10000)])
    assert _windows_inside(out / "train.h5", [(0, 4000), (6000, 8000), (10000, 12000)])
    # Bins next to a boundary, whose windows would cross it, are dropped, not moved.
    valid = read_split(out / "valid.h5")
    assert valid["start"].min() >= 4000 and valid["end"].max() <= 6000


def test_holdout_fraction_holds_out_blocks_at_the_end(one_chromosome, tmp_path: Path) -> None:
    fasta, tsv, bed_dir = one_chromosome
    summary = make_dataset(
        fasta, tsv, bed_dir, tmp_path / "out", bin_size=50, seq_len=150, holdout_fraction=0.2
    )
    assert summary["regions"] == {
        "train": ["chr22:1-7200"],
        "valid": ["chr22:7201-9600"],
        "test": ["chr22:9601-12000"],
    }
    rates = summary["positive_rate"]
    assert set(rates) == {"train", "valid", "test"} and all(
        0 < r <= 1 for split in rates.values() for r in split.values()
    )


def test_fraction_holdouts_span_chromosomes() -> None:
    from amber.data.splits import fraction_holdouts

    sizes = {"a": 1000, "b": 500, "c": 500}
    held = fraction_holdouts(sizes, list(sizes), 0.3)  # blocks of 600 bp of 2000
    assert held == {
        "valid": [("a", 800, 1000), ("b", 0, 400)],
        "test": [("b", 400, 500), ("c", 0, 500)],
    }
