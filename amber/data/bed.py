"""Peak BED files: strict reading (errors name file and line) and the feature <-> file check."""

from __future__ import annotations

import re
from collections.abc import Container, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from amber.data.features import Feature, bed_stem
from amber.data.genome import InputError

_INT = re.compile(r"-?[0-9]+")
_SKIP_PREFIXES = ("#", "track", "browser")
_MAX_LISTED = 5


class BedError(InputError):
    """A malformed BED file or a BED/feature-table mismatch."""


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _unknown_chrom(path: Path, lineno: int, chrom: str, sizes: Mapping[str, int]) -> BedError:
    valid = list(sizes)
    hint = ""
    alt = chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"
    if alt in sizes:
        hint = f" (the FASTA calls it {alt!r}: do the BED and FASTA use the same naming?)"
    return BedError(
        f"{path}:{lineno}: chromosome {chrom!r} is not in the genome FASTA{hint}; "
        f"FASTA records: {_listing(valid)}"
    )


def _parse_int(path: Path, lineno: int, text: str, column: str) -> int:
    if not _INT.fullmatch(text):
        raise BedError(f"{path}:{lineno}: {column} {text!r} is not an integer")
    return int(text)


def read_bed(
    path: str | Path, chrom_sizes: Mapping[str, int], *, keep: Container[str] | None = None
) -> pd.DataFrame:
    """Read the intervals of a BED file as a ``Chromosome``/``Start``/``End`` frame.

    Every interval is checked against ``chrom_sizes`` (the FASTA's record lengths); a bad
    line raises :class:`BedError` naming the file and line. Blank, ``#``, ``track`` and
    ``browser`` lines are skipped; columns after the third are ignored. Only chromosomes in
    ``keep`` (all when None) are returned, and empty intervals are dropped.
    """
    path = Path(path)
    chroms: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for lineno, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text.startswith(_SKIP_PREFIXES):
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) < 3:
                fields = text.split()  # tolerate space-separated files
            if len(fields) < 3:
                raise BedError(
                    f"{path}:{lineno}: expected at least 3 tab-separated columns "
                    f"(chrom, start, end), got {len(fields)}"
                )
            chrom = fields[0].strip()
            start = _parse_int(path, lineno, fields[1].strip(), "start")
            end = _parse_int(path, lineno, fields[2].strip(), "end")
            if start < 0:
                raise BedError(f"{path}:{lineno}: negative start {start}")
            if start > end:
                raise BedError(f"{path}:{lineno}: start {start} is greater than end {end}")
            size = chrom_sizes.get(chrom)
            if size is None:
                raise _unknown_chrom(path, lineno, chrom, chrom_sizes)
            if end > size:
                raise BedError(
                    f"{path}:{lineno}: end {end} is beyond the end of {chrom!r} "
                    f"({size} bp in the FASTA)"
                )
            if end > start and (keep is None or chrom in keep):
                chroms.append(chrom)
                starts.append(start)
                ends.append(end)
    return pd.DataFrame(
        {
            "Chromosome": pd.Series(chroms, dtype=object),
            "Start": np.asarray(starts, dtype=np.int64),
            "End": np.asarray(ends, dtype=np.int64),
        }
    )


def feature_bed_files(
    features: Sequence[Feature], bed_dir: str | Path, features_tsv: str | Path
) -> list[Path]:
    """The BED file of each feature, ``<bed_dir>/<bed_stem(name)>.bed``, in feature order.

    Raises :class:`BedError` when a feature has no BED file or a ``.bed`` file in
    ``bed_dir`` belongs to no feature (a likely typo either side), naming both.
    """
    bed_dir = Path(bed_dir)
    if not bed_dir.is_dir():
        raise BedError(f"{bed_dir}: BED folder does not exist or is not a folder")
    expected = {f"{bed_stem(f.name)}.bed": f.name for f in features}
    present = sorted(p.name for p in bed_dir.iterdir() if p.name.endswith(".bed"))
    missing = [
        f"{name!r} (expected {bed_dir / file})"
        for file, name in expected.items()
        if file not in present
    ]
    extra = [str(bed_dir / file) for file in present if file not in expected]
    problems = []
    if missing:
        problems.append(f"feature(s) with no BED file: {_listing(missing)}")
    if extra:
        problems.append(f"BED file(s) not listed in {features_tsv}: {_listing(extra)}")
    if problems:
        raise BedError(f"{features_tsv} and {bed_dir} do not match: " + "; ".join(problems))
    return [bed_dir / f"{bed_stem(f.name)}.bed" for f in features]
