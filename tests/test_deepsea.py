"""import_deepsea on a small hand-written bundle in both MATLAB layouts; the feature table."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pytest
from paper_fixtures import write_deepsea_mats
from scipy.io import savemat

from amber.data import deepsea
from amber.data.deepsea import DeepSeaError, deepsea_category, deepsea_features, import_deepsea
from amber.data.features import read_features

ROOT = Path(__file__).resolve().parents[1]
SEQ_LEN = 20
NAMES = [
    "8988T|DNase|None",
    "A549|CTCF|None|1",
    "A549|CTCF|None|2",
    "K562|H3K4me3|None",
    "K562|Pol2-4H8|None",
]
N = {"train": 23, "valid": 6, "test": 9}


def random_acgt(rng: np.random.Generator, n: int) -> np.ndarray:
    """Known one-hot (n, 4, L) in A,C,G,T order, some positions all-zero (N)."""
    codes = rng.integers(0, 5, size=(n, SEQ_LEN))
    return (codes[:, None, :] == np.arange(4)[None, :, None]).astype(np.uint8)


@pytest.fixture()
def bundle(tmp_path: Path) -> tuple[Path, Path, dict[str, tuple[np.ndarray, np.ndarray]]]:
    rng = np.random.default_rng(2)
    data = {
        s: (random_acgt(rng, n), rng.integers(0, 2, (n, len(NAMES))).astype(np.uint8))
        for s, n in N.items()
    }
    bundle_dir = tmp_path / "bundle"
    write_deepsea_mats(bundle_dir, data, chunk_rows=5)
    features_txt = tmp_path / "features.txt"
    features_txt.write_text("\n".join(NAMES) + "\n")
    return bundle_dir, features_txt, data


@pytest.mark.parametrize("buffer_bytes", [1 << 28, 1000])  # one shuffle buffer / three
def test_import_small_bundle(bundle, tmp_path: Path, monkeypatch, buffer_bytes: int) -> None:
    bundle_dir, features_txt, data = bundle
    reads: list[tuple[Path, int, int]] = []
    original = deepsea._MatSplit.read

    def spy(self, a: int, b: int):
        reads.append((self.path.name, a, b))
        return original(self, a, b)

    monkeypatch.setattr(deepsea._MatSplit, "read", spy)
    monkeypatch.setattr(deepsea, "_SHUFFLE_BUFFER_BYTES", buffer_bytes)
    out = tmp_path / "out"
    summary = import_deepsea(bundle_dir, out, features_txt, chunk_size=4)

    train_reads = sorted((a, b) for name, a, b in reads if name == "train.mat")
    # chunk_size 4 is rounded up to the file's 5-sample chunks: 23 rows in 5 blocks.
    assert train_reads == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 23)]
    assert summary["blocks_read"]["train"] == 5
    for split, (x, y) in data.items():
        with h5py.File(out / f"{split}.h5", "r") as h5:
            index = h5["source_index"][:]
            if split == "train":
                assert sorted(index) == list(range(N[split]))
                assert (index != np.arange(N[split])).any(), "train rows are shuffled"
            else:
                assert (index == np.arange(N[split])).all()
            np.testing.assert_array_equal(h5["x"][:], x[index])
            np.testing.assert_array_equal(h5["y"][:], y[index])
            assert h5["x"].shape == (N[split], 4, SEQ_LEN) and h5["x"].dtype == np.uint8
            assert h5["x"].chunks == (4, 4, SEQ_LEN) and h5["y"].chunks == (4, len(NAMES))
            assert set(h5["chrom"][:].tolist()) == {b"NA"}
            assert (h5["start"][:] == -1).all() and (h5["end"][:] == -1).all()
            assert dict(h5.attrs) | {"features": None} == {
                "seq_len": SEQ_LEN,
                "bin_size": 200,
                "split": split,
                "base_order": "ACGT",
                "source": "deepsea",
                "features": None,
            }
            assert list(h5.attrs["features"]) == NAMES
        assert summary["counts"][split] == N[split]
        assert list(summary["positives"][split].values()) == y.sum(axis=0).tolist()
    assert json.loads((out / "dataset.json").read_text()) == summary
    assert read_features(out / "features.tsv") == deepsea_features(features_txt)


def test_train_order_is_seeded(bundle, tmp_path: Path) -> None:
    bundle_dir, features_txt, _ = bundle
    orders = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        import_deepsea(bundle_dir, tmp_path / name, features_txt, chunk_size=4, seed=seed)
        with h5py.File(tmp_path / name / "train.h5", "r") as h5:
            orders.append(h5["source_index"][:])
    assert (orders[0] == orders[1]).all() and not (orders[0] == orders[2]).all()


def test_missing_split_or_wrong_feature_count_leaves_nothing(bundle, tmp_path: Path) -> None:
    bundle_dir, features_txt, _ = bundle
    out = tmp_path / "out"
    (bundle_dir / "test.mat").rename(tmp_path / "test.mat")
    with pytest.raises(DeepSeaError, match=str(bundle_dir / "test.mat") + ": missing"):
        import_deepsea(bundle_dir, out, features_txt, chunk_size=4)
    assert list(out.iterdir()) == []  # train.h5 and valid.h5 were not left behind
    (tmp_path / "test.mat").rename(bundle_dir / "test.mat")
    features_txt.write_text("\n".join(NAMES[:-1]) + "\n")
    with pytest.raises(DeepSeaError, match="5 labels per sample but .* lists 4 features"):
        import_deepsea(bundle_dir, out, features_txt, chunk_size=4)
    assert list(out.iterdir()) == []


def test_wrong_layout_is_reported(bundle, tmp_path: Path) -> None:
    bundle_dir, features_txt, data = bundle
    x, y = data["valid"]
    savemat(bundle_dir / "valid.mat", {"validxdata": x.transpose(0, 2, 1), "validdata": y})
    with pytest.raises(DeepSeaError, match=r"valid\.mat: validxdata has 20 bases"):
        import_deepsea(bundle_dir, tmp_path / "out", features_txt, chunk_size=4)


def test_real_deepsea_feature_list() -> None:
    features = deepsea_features(ROOT / "resources" / "deepsea_features.txt")
    assert len(features) == 919 and len({f.name for f in features}) == 919
    counts = Counter(f.category for f in features)
    assert counts["DNase"] == 125 and counts["Histone"] == 104
    assert counts["TF"] + counts["Pol"] == 690 and counts["Pol"] > 0
    by_name = {f.name: f for f in features}
    assert by_name["GM12878|CTCF|None|1"].cell_type == "GM12878"
    assert by_name["GM12878|CTCF|None|1"].assay == "CTCF"
    assert {deepsea_category(t) for t in ("H2AZ", "H2A.Z", "H4K20me1", "H3K27ac")} == {"Histone"}
    assert [deepsea_category(t) for t in ("Pol2", "Pol2(phosphoS2)", "POLR2A", "HA-E2F1")] == [
        "Pol",
        "Pol",
        "Pol",
        "TF",
    ]


def test_bad_feature_line(tmp_path: Path) -> None:
    path = tmp_path / "features.txt"
    path.write_text("A|DNase|None\nbroken\n")
    with pytest.raises(DeepSeaError, match=f"{path}:2: expected cell_type"):
        deepsea_features(path)


@pytest.mark.parametrize("order", ["AGCT", "ACGT"])
def test_import_nas_bench_360_npz(tmp_path: Path, order: str) -> None:
    """A NAS-Bench-360 style .npz (x (N, L, 4) in ``order``, y (N, F); _train/_val/_test)
    becomes the dataset format: our A,C,G,T one-hot, the same labels, label_XX features."""
    from amber.data.deepsea import import_npz

    rng = np.random.default_rng(4)
    data = {
        s: (random_acgt(rng, n), rng.integers(0, 2, (n, 3)).astype(np.uint8)) for s, n in N.items()
    }
    arrays = {}
    for split, key in (("train", "train"), ("valid", "val"), ("test", "test")):
        x, y = data[split]
        in_order = np.stack([x[:, "ACGT".index(b)] for b in order], axis=1)  # (n, 4, L)
        arrays[f"x_{key}"] = in_order.transpose(0, 2, 1).astype(bool)  # (n, L, 4)
        arrays[f"y_{key}"] = y
    np.savez(tmp_path / "deepsea_filtered.npz", **arrays)
    out = tmp_path / "out"
    summary = import_npz(tmp_path / "deepsea_filtered.npz", out, base_order=order, chunk_size=4)
    for split, (x, y) in data.items():
        with h5py.File(out / f"{split}.h5", "r") as h5:
            index = h5["source_index"][:]
            np.testing.assert_array_equal(h5["x"][:], x[index])
            np.testing.assert_array_equal(h5["y"][:], y[index])
            assert h5.attrs["source"] == "npz"
    assert summary["counts"] == N and summary["features"] == ["label_00", "label_01", "label_02"]
    assert [f.name for f in read_features(out / "features.tsv")] == summary["features"]
    with pytest.raises(DeepSeaError, match="no array 'x_val'"):
        np.savez(tmp_path / "bad.npz", x_train=arrays["x_train"], y_train=arrays["y_train"])
        import_npz(tmp_path / "bad.npz", tmp_path / "bad")
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())
