"""Which part of the genome goes to which split: whole chromosomes, regions, or
contiguous blocks by fraction.

A holdout entry is a chromosome (``chr11``), a region in samtools notation
(``chr22:16000001-18000000``: 1-based, inclusive; commas allowed in numbers) or a BED
file of regions (0-based, half-open, as BED is). Everything of the used chromosomes that
is not held out is train. The result is a list of :class:`Segment`, half-open intervals
in FASTA order; a window is used only if it lies wholly inside one segment, so no input
window straddles a split boundary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from amber.data.bed import read_bed
from amber.data.genome import InputError

SPLITS = ("train", "valid", "test")
_REGION = re.compile(r"^(?P<chrom>[^:\s]+):(?P<start>[\d,]+)-(?P<end>[\d,]+)$")


class SplitError(InputError):
    """Holdouts that cannot be honoured (unknown chromosome, overlap, empty split)."""


@dataclass(frozen=True)
class Segment:
    """``[start, end)`` of ``chrom`` (0-based) belongs to ``split``."""

    chrom: str
    start: int
    end: int
    split: str

    def label(self) -> str:
        """samtools notation (1-based, inclusive), as holdouts are written."""
        return f"{self.chrom}:{self.start + 1}-{self.end}"


def shortlist(names: Sequence[str]) -> str:
    """The first five names, and how many there are in all when there are more."""
    names = list(names)
    return ", ".join(names[:5]) + (f" ... ({len(names)} in all)" if len(names) > 5 else "")


def parse_holdout(
    entry: str, split: str, fasta: Path, sizes: Mapping[str, int]
) -> list[tuple[str, int, int]]:
    """``(chrom, start, end)`` intervals (0-based, half-open) of one holdout entry."""
    if entry in sizes:
        return [(entry, 0, sizes[entry])]
    match = _REGION.match(entry)
    if match:
        chrom = match["chrom"]
        start, end = int(match["start"].replace(",", "")) - 1, int(match["end"].replace(",", ""))
        if chrom not in sizes:
            raise SplitError(
                f"{split} region {entry!r}: chromosome {chrom!r} is not in {fasta} "
                f"(records: {shortlist(sizes)})"
            )
        if not 0 <= start < end <= sizes[chrom]:
            raise SplitError(
                f"{split} region {entry!r} is not within {chrom} (1-{sizes[chrom]}); "
                "write regions as chrom:start-end, 1-based and inclusive"
            )
        return [(chrom, start, end)]
    path = Path(entry)
    if path.suffix.lower() == ".bed" or path.is_file():
        return _bed_regions(path, split, fasta, sizes)
    raise SplitError(
        f"{split} holdout {entry!r} is not in {fasta} (records: {shortlist(sizes)}): "
        "give a chromosome, a region chrom:start-end (1-based, inclusive) or a BED file"
    )


def _bed_regions(
    path: Path, split: str, fasta: Path, sizes: Mapping[str, int]
) -> list[tuple[str, int, int]]:
    if not path.is_file():
        raise SplitError(f"{path}: the {split} holdout BED does not exist")
    table = read_bed(path, sizes)  # checks every line against the FASTA, naming it
    if table.empty:
        raise SplitError(f"{path}: the {split} holdout BED holds no region")
    return [
        (str(c), int(a), int(b))
        for c, a, b in zip(table["Chromosome"], table["Start"], table["End"], strict=True)
    ]


def fraction_holdouts(
    sizes: Mapping[str, int], used: Sequence[str], fraction: float
) -> dict[str, list[tuple[str, int, int]]]:
    """Valid and test as contiguous blocks of ``fraction`` of the used genome each, at its
    end in FASTA order (test last): for a genome with too few chromosomes to hold out."""
    if not 0 < fraction < 0.5:
        raise SplitError(f"holdout fraction must be in (0, 0.5), got {fraction}")
    total = sum(sizes[c] for c in used)
    block = int(total * fraction)
    # Genome coordinate g maps to (chrom, offset) by walking the used chromosomes in order.
    bounds = {"valid": (total - 2 * block, total - block), "test": (total - block, total)}
    out: dict[str, list[tuple[str, int, int]]] = {"valid": [], "test": []}
    origin = 0
    for chrom in used:
        for split, (a, b) in bounds.items():
            start, end = max(a, origin), min(b, origin + sizes[chrom])
            if start < end:
                out[split].append((chrom, start - origin, end - origin))
        origin += sizes[chrom]
    return out


def assign_segments(
    fasta: Path,
    sizes: Mapping[str, int],
    valid: Sequence[str],
    test: Sequence[str],
    chroms: Sequence[str] | None = None,
    holdout_fraction: float | None = None,
) -> list[Segment]:
    """Segments covering every used chromosome, in FASTA order; holdouts must lie on used
    chromosomes and not overlap each other."""
    used = list(sizes) if chroms is None else list(chroms)
    for chrom in used:
        if chrom not in sizes:
            raise SplitError(
                f"chromosome {chrom!r} is not in {fasta} (records: {shortlist(sizes)})"
            )
    if holdout_fraction is not None:
        if valid or test:
            raise SplitError("give either a holdout fraction or valid/test holdouts, not both")
        held = fraction_holdouts(sizes, used, holdout_fraction)
    else:
        for split, entries in (("valid", valid), ("test", test)):
            if not entries:
                raise SplitError(
                    f"no {split} holdout given: name chromosomes or regions for valid and "
                    "test, or give a holdout fraction for a genome with few chromosomes"
                )
        held = {
            split: [r for entry in entries for r in parse_holdout(entry, split, fasta, sizes)]
            for split, entries in (("valid", valid), ("test", test))
        }
    intervals: dict[str, list[tuple[int, int, str]]] = {c: [] for c in used}
    for split, regions in held.items():
        for chrom, start, end in regions:
            if chrom not in intervals:
                raise SplitError(
                    f"{split} holdout on {chrom!r}, which is not among the chroms used"
                )
            intervals[chrom].append((start, end, split))
    segments = []
    for chrom in (c for c in sizes if c in intervals):
        cursor = 0
        for start, end, split in sorted(intervals[chrom]):
            if start < cursor:
                raise SplitError(
                    f"{split} holdout {Segment(chrom, start, end, split).label()} overlaps "
                    "another holdout; valid and test regions must be disjoint"
                )
            if start > cursor:
                segments.append(Segment(chrom, cursor, start, "train"))
            segments.append(Segment(chrom, start, end, split))
            cursor = end
        if cursor < sizes[chrom]:
            segments.append(Segment(chrom, cursor, sizes[chrom], "train"))
    return segments
