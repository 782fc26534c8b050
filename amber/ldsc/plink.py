"""PLINK 1 binary filesets (``.bed``/``.bim``/``.fam``) read and written with numpy.

``.bed`` (SNP-major): the magic bytes ``0x6C 0x1B`` then mode ``0x01``, then one block of
``ceil(n / 4)`` bytes per SNP. Each byte holds four individuals, the first one in the two
lowest bits. Codes: ``00`` two copies of A1, ``01`` missing, ``10`` heterozygous, ``11`` two
copies of A2; the bits after the last individual of a block are zero.

In memory a genotype matrix is ``int8`` of shape (SNPs, individuals) holding the number of
**A1** alleles (0, 1, 2) or -1 when missing. ``.bim`` columns are ``CHR SNP CM BP A1 A2``
(tab-separated, no header); ``.fam`` columns are ``FID IID PAT MAT SEX PHENO``.

A fileset per chromosome is named ``<prefix>.<chrom code>.{bed,bim,fam}``, the layout of the
1000 Genomes files that ldsc reads (``--bfile prefix.@``); :func:`chromosome_prefixes` finds
them from a pattern with ``@``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from amber.fileio import atomic_path

MAGIC = bytes([0x6C, 0x1B, 0x01])
BIM_COLUMNS = ("CHR", "SNP", "CM", "BP", "A1", "A2")
FAM_COLUMNS = ("FID", "IID", "PAT", "MAT", "SEX", "PHENO")

# A1 count (index: count + 1, so -1 = missing comes first) -> 2-bit code.
_ENCODE = np.array([0b01, 0b11, 0b10, 0b00], dtype=np.uint8)
# 2-bit code -> A1 count.
_DECODE = np.array([2, -1, 1, 0], dtype=np.int8)


class PlinkError(ValueError):
    """A malformed PLINK fileset; the message names the file (and line)."""


def encode_bed(genotypes: np.ndarray) -> bytes:
    """The ``.bed`` bytes (magic and mode included) of an (SNPs, individuals) A1-count matrix."""
    g = np.asarray(genotypes)
    if g.ndim != 2:
        raise ValueError(f"genotypes must be 2-D (SNPs, individuals), got shape {g.shape}")
    if g.size and (g.min() < -1 or g.max() > 2):
        raise ValueError("genotypes must be A1 counts 0, 1, 2 or -1 for missing")
    m, n = g.shape
    width = -(-n // 4) * 4
    codes = np.zeros((m, width), dtype=np.uint8)  # padding individuals: code 00
    codes[:, :n] = _ENCODE[g.astype(np.int16) + 1]
    packed = codes[:, 0::4] | (codes[:, 1::4] << 2) | (codes[:, 2::4] << 4) | (codes[:, 3::4] << 6)
    return MAGIC + packed.tobytes()


def decode_bed(
    data: bytes, n_snps: int, n_individuals: int, *, path: str = "<bytes>"
) -> np.ndarray:
    """A1-count matrix (SNPs, individuals) from ``.bed`` bytes; checks magic, mode and size."""
    if data[:2] != MAGIC[:2]:
        raise PlinkError(f"{path}: not a PLINK .bed file (magic bytes {data[:2].hex()})")
    if data[2:3] != MAGIC[2:]:
        raise PlinkError(f"{path}: only SNP-major .bed files (mode 0x01) are supported")
    per_snp = -(-n_individuals // 4)
    body = np.frombuffer(data, dtype=np.uint8, offset=3)
    if body.size != n_snps * per_snp:
        raise PlinkError(
            f"{path}: {body.size} genotype bytes, expected {n_snps * per_snp} "
            f"({n_snps} SNPs x {per_snp} bytes for {n_individuals} individuals)"
        )
    packed = body.reshape(n_snps, per_snp)
    codes = np.empty((n_snps, per_snp * 4), dtype=np.uint8)
    for shift in range(4):
        codes[:, shift::4] = (packed >> (2 * shift)) & 0b11
    return _DECODE[codes[:, :n_individuals]]


def write_plink(
    prefix: str | Path, genotypes: np.ndarray, bim: pd.DataFrame, iids: Sequence[str]
) -> None:
    """Write ``prefix.bed/.bim/.fam`` atomically (each file renamed into place when complete)."""
    prefix = Path(prefix)
    missing = [c for c in BIM_COLUMNS if c not in bim.columns]
    if missing:
        raise ValueError(f"bim table lacks column(s) {', '.join(missing)}")
    if len(bim) != genotypes.shape[0] or len(iids) != genotypes.shape[1]:
        raise ValueError(
            f"genotypes {genotypes.shape} do not match {len(bim)} SNPs x {len(iids)} individuals"
        )
    with atomic_path(f"{prefix}.bed") as tmp:
        tmp.write_bytes(encode_bed(genotypes))
    with atomic_path(f"{prefix}.bim") as tmp:
        bim.loc[:, list(BIM_COLUMNS)].to_csv(
            tmp, sep="\t", header=False, index=False, float_format="%.8g"
        )
    fam = pd.DataFrame(
        {"FID": iids, "IID": iids, "PAT": 0, "MAT": 0, "SEX": 0, "PHENO": -9},
        columns=list(FAM_COLUMNS),
    )
    with atomic_path(f"{prefix}.fam") as tmp:
        fam.to_csv(tmp, sep="\t", header=False, index=False)


def read_bim(path: str | Path) -> pd.DataFrame:
    """A ``.bim`` file as a frame with :data:`BIM_COLUMNS` (CHR and SNP as strings)."""
    path = Path(path)
    try:
        bim = pd.read_csv(
            path,
            sep=r"\s+",
            header=None,
            names=list(BIM_COLUMNS),
            dtype={"CHR": str, "SNP": str, "A1": str, "A2": str},
        )
    except FileNotFoundError:
        raise PlinkError(f"{path}: file not found") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise PlinkError(f"{path}: cannot parse as a .bim file ({exc})") from None
    for column in ("CM", "BP"):
        values = pd.to_numeric(bim[column], errors="coerce")
        bad = values.isna()
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise PlinkError(f"{path}:{line}: column {column} must be a number")
        bim[column] = values
    bim["BP"] = bim["BP"].astype(np.int64)
    return bim


def read_fam(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    try:
        return pd.read_csv(
            path, sep=r"\s+", header=None, names=list(FAM_COLUMNS), dtype=str, usecols=range(6)
        )
    except FileNotFoundError:
        raise PlinkError(f"{path}: file not found") from None


def read_plink(prefix: str | Path) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """(A1-count matrix (SNPs, individuals), bim, fam) of ``prefix.bed/.bim/.fam``."""
    prefix = Path(prefix)
    bim = read_bim(f"{prefix}.bim")
    fam = read_fam(f"{prefix}.fam")
    bed = Path(f"{prefix}.bed")
    if not bed.exists():
        raise PlinkError(f"{bed}: file not found")
    genotypes = decode_bed(bed.read_bytes(), len(bim), len(fam), path=str(bed))
    return genotypes, bim, fam


def chromosome_prefixes(
    pattern: str | Path, suffix: str | tuple[str, ...] = ".bim"
) -> dict[int, str]:
    """Chromosome code -> prefix for ``pattern`` with ``@`` standing for the code.

    ``results/x/ref.@`` finds ``results/x/ref.1.bim``, ``ref.2.bim``, ... (sorted by code).
    Without ``@`` the code is appended, as ldsc does (``ref.`` -> ``ref.1``). ``suffix``
    may be a tuple of alternatives (``.annot.gz``, ``.annot.parquet``, ...).
    """
    suffixes = (suffix,) if isinstance(suffix, str) else suffix
    pattern = str(pattern)
    if "@" not in pattern:
        pattern += "@"
    folder = Path(pattern).parent
    head, tail = Path(pattern).name.split("@", 1)
    ends = "|".join(re.escape(tail + s) for s in suffixes)
    matcher = re.compile(re.escape(head) + r"(\d+)(?:" + ends + ")$")
    found: dict[int, str] = {}
    if folder.is_dir():
        for path in folder.iterdir():
            hit = matcher.match(path.name)
            if hit:
                found[int(hit.group(1))] = str(folder / f"{head}{hit.group(1)}{tail}")
    if not found:
        raise FileNotFoundError(
            f"no files match {pattern.replace('@', '<chrom>')}{'|'.join(suffixes)}"
        )
    return dict(sorted(found.items()))


def substitute(pattern: str | Path, code: int) -> str:
    """``prefix.@`` -> ``prefix.<code>``; a pattern without ``@`` gets the code appended."""
    pattern = str(pattern)
    return pattern.replace("@", str(code)) if "@" in pattern else f"{pattern}{code}"
