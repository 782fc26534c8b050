"""Import the DeepSEA training bundle (``train.mat``, ``valid.mat``, ``test.mat``).

Layout of the bundle (Zhou & Troyanskaya 2015):

- ``train.mat`` is MATLAB v7.3, i.e. HDF5. MATLAB stores arrays column-major and h5py
  reports the dimensions reversed, so the MATLAB ``N x 4 x L`` array ``trainxdata`` reads
  as ``(L, 4, N)`` = (1000, 4, 4400000) and ``traindata`` as ``(F, N)`` = (919, 4400000).
  It is 17.6 GB, so it is streamed in blocks of samples.
- ``valid.mat`` / ``test.mat`` are MATLAB v5, read whole by :func:`scipy.io.loadmat` with
  the MATLAB dimensions: ``(N, 4, L)`` and ``(N, F)``.
- The one-hot base order is A, G, C, T; ours is A, C, G, T.
- There are no coordinates (chrom is written as ``NA``, start/end as -1). Per the paper,
  test samples come from chr8 and chr9 and validation samples from chr7.

Either layout is accepted for any split (detected with :func:`h5py.is_hdf5`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from amber.data.dataset import SPLITS, create_split_datasets
from amber.data.features import Feature, write_features
from amber.data.genome import BASES, InputError
from amber.fileio import atomic_path

log = logging.getLogger(__name__)

#: Channel ``i`` of our A,C,G,T encoding is channel ``_AGCT_TO_ACGT[i]`` of the bundle's.
_AGCT_TO_ACGT = np.array([0, 2, 1, 3])
_HISTONE = re.compile(r"^H(?:2A\.?Z|2AK\d|2BK\d|3K\d|4K\d)")
_POL2 = re.compile(r"^(?:Pol2|POLR2A)")
_BIN_SIZE = 200  # DeepSEA labels the central 200 bp bin of each 1000 bp window
_SHUFFLE_BUFFER_BYTES = 1 << 28
_H5_CACHE_BYTES = 1 << 28


class DeepSeaError(InputError):
    """A DeepSEA bundle or feature list that does not have the expected layout."""


# --- features ------------------------------------------------------------------------


def deepsea_category(target: str) -> str:
    """Feature category of a DeepSEA target: DNase, Histone, Pol (RNA Pol II) or TF."""
    if target == "DNase":
        return "DNase"
    if _HISTONE.match(target):
        return "Histone"
    if _POL2.match(target):
        return "Pol"
    return "TF"


def deepsea_features(features_txt: str | Path) -> list[Feature]:
    """Feature table of the 919 DeepSEA outputs from ``cell_type|target|treatment[|rep]``."""
    path = Path(features_txt)
    features: list[Feature] = []
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            name = line.strip()
            if not name:
                continue
            fields = name.split("|")
            if len(fields) < 3 or not all(fields[:2]):
                raise DeepSeaError(
                    f"{path}:{lineno}: expected cell_type|target|treatment, got {name!r}"
                )
            if name in seen:
                raise DeepSeaError(
                    f"{path}:{lineno}: duplicate feature {name!r} (first on line {seen[name]})"
                )
            seen[name] = lineno
            features.append(Feature(name, fields[0], fields[1], deepsea_category(fields[1])))
    if not features:
        raise DeepSeaError(f"{path}: no feature names")
    return features


# --- reading the .mat files -----------------------------------------------------------


@dataclass
class _MatSplit:
    """One split; ``read(a, b)`` gives rows a..b as (x (n,4,L) in the file's channel order,
    y (n,F)), and channel ``i`` of our A,C,G,T is the file's channel ``to_acgt[i]``."""

    path: Path
    x: object
    y: object
    hdf5: bool
    n: int
    seq_len: int
    n_features: int
    row_align: int = 1  # read blocks aligned to the file's chunking along samples
    to_acgt: np.ndarray = field(default_factory=lambda: _AGCT_TO_ACGT)  # the bundle: A,G,C,T

    def read(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        if self.hdf5:
            x = self.x[:, :, a:b].transpose(2, 1, 0)  # type: ignore[index]
            y = self.y[:, a:b].T  # type: ignore[index]
        else:
            x, y = self.x[a:b], self.y[a:b]  # type: ignore[index]
        return np.asarray(x, dtype=np.uint8), np.asarray(y, dtype=np.uint8)


def _check_shapes(path: Path, xkey: str, ykey: str, n_x: int, n_y: int, bases: int) -> None:
    if bases != len(BASES):
        raise DeepSeaError(f"{path}: {xkey} has {bases} bases per position, expected 4")
    if n_x != n_y:
        raise DeepSeaError(f"{path}: {xkey} has {n_x} samples but {ykey} has {n_y}")


@contextlib.contextmanager
def _open_split(path: Path, split: str) -> Iterator[_MatSplit]:
    xkey, ykey = f"{split}xdata", f"{split}data"
    if not path.is_file():
        raise DeepSeaError(f"{path}: missing from the DeepSEA bundle")
    if h5py.is_hdf5(path):
        with h5py.File(path, "r", rdcc_nbytes=_H5_CACHE_BYTES) as h5:
            for key in (xkey, ykey):
                if key not in h5:
                    raise DeepSeaError(f"{path}: no variable {key!r} (has {', '.join(h5)})")
            x, y = h5[xkey], h5[ykey]
            if x.ndim != 3 or y.ndim != 2:
                raise DeepSeaError(
                    f"{path}: {xkey} {x.shape} / {ykey} {y.shape}: expected (L, 4, N) / (F, N)"
                )
            _check_shapes(path, xkey, ykey, x.shape[2], y.shape[1], x.shape[1])
            align = max(x.chunks[2] if x.chunks else 1, y.chunks[1] if y.chunks else 1)
            yield _MatSplit(path, x, y, True, x.shape[2], x.shape[0], y.shape[0], align)
        return
    from scipy.io import loadmat

    try:
        mat = loadmat(path, variable_names=[xkey, ykey])
    except Exception as exc:  # scipy raises several types for unreadable files
        raise DeepSeaError(f"{path}: not a readable MATLAB file: {exc}") from exc
    for key in (xkey, ykey):
        if key not in mat:
            raise DeepSeaError(f"{path}: no variable {key!r}")
    x, y = mat[xkey], mat[ykey]
    if x.ndim != 3 or y.ndim != 2:
        raise DeepSeaError(
            f"{path}: {xkey} {x.shape} / {ykey} {y.shape}: expected (N, 4, L) / (N, F)"
        )
    _check_shapes(path, xkey, ykey, x.shape[0], y.shape[0], x.shape[1])
    yield _MatSplit(path, x, y, False, x.shape[0], x.shape[2], y.shape[1])


def read_blocks(n: int, block: int) -> list[tuple[int, int]]:
    """Half-open row ranges covering ``range(n)`` in blocks of ``block`` rows."""
    return [(a, min(a + block, n)) for a in range(0, n, block)]


def _shuffled_groups(
    blocks: Sequence[tuple[int, int]], per_group: int, rng: np.random.Generator
) -> list[list[tuple[int, int]]]:
    """Blocks in random order, grouped ``per_group`` at a time into one shuffle buffer."""
    order = [blocks[i] for i in rng.permutation(len(blocks))]
    return [order[i : i + per_group] for i in range(0, len(order), per_group)]


# --- writing ---------------------------------------------------------------------------


def _convert_split(
    mat: _MatSplit,
    h5: h5py.File,
    *,
    split: str,
    features: Sequence[Feature],
    chunk_size: int,
    rng: np.random.Generator | None,
    source: str,
) -> tuple[np.ndarray, int]:
    """Stream one split into ``h5``; returns positives per feature and blocks read.

    With ``rng`` (train), blocks are visited in random order and rows are shuffled within a
    buffer of several blocks: a full permutation of 4.4M rows would need random reads of
    the 17.6 GB file, while this mixes distant parts of the genome in every output chunk.
    """
    create_split_datasets(
        h5,
        n=mat.n,
        seq_len=mat.seq_len,
        features=features,
        chunk_size=chunk_size,
        bin_size=_BIN_SIZE,
        split=split,
        source=source,
        chrom_width=2,
    )
    h5["chrom"][:] = np.full(mat.n, b"NA", dtype="S2")
    h5["start"][:] = -1
    h5["end"][:] = -1
    index = h5.create_dataset("source_index", shape=(mat.n,), dtype=np.int64)
    row_bytes = len(BASES) * mat.seq_len + mat.n_features
    block = -(-chunk_size // mat.row_align) * mat.row_align
    if block * row_bytes > _SHUFFLE_BUFFER_BYTES:
        block = chunk_size  # the file's chunks are too long to align reads with them
    blocks = read_blocks(mat.n, block)
    if rng is None:
        groups = [[b] for b in blocks]
    else:
        per_group = max(1, _SHUFFLE_BUFFER_BYTES // (block * row_bytes))
        groups = _shuffled_groups(blocks, per_group, rng)
    positives = np.zeros(mat.n_features, np.int64)
    at = 0
    for group in tqdm(groups, desc=f"importing {split}", unit="buffer", disable=None):
        parts = [mat.read(a, b) for a, b in group]
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        rows = np.concatenate([np.arange(a, b) for a, b in group])
        if rng is not None:
            perm = rng.permutation(len(rows))
            x, y, rows = x[perm], y[perm], rows[perm]
        h5["x"][at : at + len(rows)] = x[:, mat.to_acgt, :]
        h5["y"][at : at + len(rows)] = y
        index[at : at + len(rows)] = rows
        positives += y.sum(axis=0, dtype=np.int64)
        at += len(rows)
    return positives, len(blocks)


def import_deepsea(
    bundle_dir: Path,
    out_dir: Path,
    features_txt: Path,
    *,
    chunk_size: int = 1024,
    seed: int = 1,
) -> dict:
    """Convert the DeepSEA bundle into ``out_dir/{train,valid,test}.h5`` + tables.

    Writes the same format as :func:`amber.data.dataset.make_dataset` (``source`` =
    ``deepsea``, no coordinates) plus ``source_index``, each row's index in its ``.mat``
    file. Train rows are written block-shuffled (seeded), valid/test rows in bundle order.
    Returns the ``dataset.json`` content.
    """
    bundle_dir = Path(bundle_dir)
    return _import_splits(
        lambda split: _open_split(bundle_dir / f"{split}.mat", split),
        Path(out_dir),
        deepsea_features(features_txt),
        str(features_txt),
        chunk_size=chunk_size,
        seed=seed,
        source="deepsea",
        note="the DeepSEA bundle has no coordinates; per the paper, test = chr8 and "
        "chr9, valid = part of chr7, train = the other autosomes",
        params={"bundle_dir": str(bundle_dir), "features_txt": str(features_txt)},
    )


def import_npz(
    npz: Path,
    out_dir: Path,
    *,
    base_order: str = "AGCT",
    chunk_size: int = 1024,
    seed: int = 1,
) -> dict:
    """Convert a NAS-Bench-360 style ``.npz`` (``x_train`` (N, L, 4) one-hot, ``y_train``
    (N, F); ``_val`` and ``_test`` likewise) into the dataset format, as
    :func:`import_deepsea` does. ``base_order`` is the file's one-hot channel order; the
    NAS-Bench-360 DeepSEA file is cut from the DeepSEA bundle (A, G, C, T). Features are
    named ``label_00`` ... (the file carries no names)."""
    npz = Path(npz)
    if sorted(base_order.upper()) != sorted(BASES) or len(base_order) != 4:
        raise DeepSeaError(f"--base-order must order A, C, G, T, got {base_order!r}")
    try:
        archive = np.load(npz)
    except (OSError, ValueError) as exc:
        raise DeepSeaError(f"{npz}: not a readable .npz file ({exc})") from exc
    with archive:
        n_labels = archive["y_train"].shape[1] if "y_train" in archive.files else 0
        features = [
            Feature(f"label_{i:02d}", "NA", f"label_{i:02d}", "other") for i in range(n_labels)
        ]
        return _import_splits(
            lambda split: _npz_split(archive, npz, split, base_order.upper()),
            Path(out_dir),
            features,
            f"{npz} (labels)",
            chunk_size=chunk_size,
            seed=seed,
            source="npz",
            note="the .npz has no coordinates",
            params={"npz": str(npz), "base_order": base_order.upper()},
        )


_NPZ_KEYS = {"train": "train", "valid": "val", "test": "test"}


@contextlib.contextmanager
def _npz_split(archive, path: Path, split: str, base_order: str) -> Iterator[_MatSplit]:
    xkey, ykey = f"x_{_NPZ_KEYS[split]}", f"y_{_NPZ_KEYS[split]}"
    for key in (xkey, ykey):
        if key not in archive.files:
            raise DeepSeaError(f"{path}: no array {key!r} (has {', '.join(archive.files)})")
    x, y = archive[xkey], archive[ykey]
    if x.ndim != 3 or y.ndim != 2:
        raise DeepSeaError(
            f"{path}: {xkey} {x.shape} / {ykey} {y.shape}: expected (N, L, 4) / (N, F)"
        )
    _check_shapes(path, xkey, ykey, x.shape[0], y.shape[0], x.shape[2])
    # (N, 4, L) as a view: blocks are copied (and their channels reordered) as read.
    to_acgt = np.array([base_order.index(b) for b in BASES])
    n, length, _ = x.shape
    yield _MatSplit(path, x.transpose(0, 2, 1), y, False, n, length, y.shape[1], to_acgt=to_acgt)


def _import_splits(
    open_split,
    out_dir: Path,
    features: Sequence[Feature],
    features_source: str,
    *,
    chunk_size: int,
    seed: int,
    source: str,
    note: str,
    params: dict,
) -> dict:
    """Write every split opened by ``open_split(split)`` and the dataset tables."""
    if chunk_size <= 0:
        raise DeepSeaError(f"chunk_size must be positive, got {chunk_size}")
    rng = np.random.default_rng(seed)
    names = [f.name for f in features]
    counts: dict[str, int] = {}
    positives: dict[str, dict[str, int]] = {}
    blocks_read: dict[str, int] = {}
    seq_len = 0
    with contextlib.ExitStack() as outputs:
        # Entered first, renamed last: dataset.json marks a complete dataset.
        json_tmp = outputs.enter_context(atomic_path(out_dir / "dataset.json"))
        features_tmp = outputs.enter_context(atomic_path(out_dir / "features.tsv"))
        for split in SPLITS:
            h5_tmp = outputs.enter_context(atomic_path(out_dir / f"{split}.h5"))
            with open_split(split) as mat:
                if mat.n_features != len(features):
                    raise DeepSeaError(
                        f"{mat.path}: {mat.n_features} labels per sample but {features_source} "
                        f"lists {len(features)} features"
                    )
                if seq_len and mat.seq_len != seq_len:
                    raise DeepSeaError(f"{mat.path}: sequence length {mat.seq_len} != {seq_len}")
                seq_len = mat.seq_len
                with h5py.File(h5_tmp, "w") as h5:
                    pos, blocks_read[split] = _convert_split(
                        mat,
                        h5,
                        split=split,
                        features=features,
                        chunk_size=chunk_size,
                        rng=rng if split == "train" else None,
                        source=source,
                    )
                counts[split] = mat.n
                positives[split] = {n: int(c) for n, c in zip(names, pos, strict=True)}
        summary = {
            "source": source,
            "seq_len": seq_len,
            "bin_size": _BIN_SIZE,
            "base_order": BASES,
            "features": names,
            "counts": counts,
            "positives": positives,
            "chromosomes": {split: ["NA"] for split in SPLITS},
            "note": note,
            "blocks_read": blocks_read,
            "params": {**params, "chunk_size": chunk_size, "seed": seed},
        }
        write_features(features, features_tmp)
        json_tmp.write_text(json.dumps(summary, indent=2) + "\n")
    log.info("%s rows: %s", source, counts)
    return summary
