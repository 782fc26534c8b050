"""Read a VCF and sort its records into variants Selene can score and skipped ones.

Selene's own VCF reader quietly substitutes a wrong REF, drops variants whose window does
not fit into a side file and rewrites chromosome names, so every record is checked here
first, against the same genome, and each outcome is named:

- ``malformed_line``: fewer than 5 tab-separated columns or a POS that is not an integer >= 1
- ``unknown_chromosome``: CHROM is not in the FASTA (``1`` and ``chr1`` are matched to each
  other when only one of them exists, the one renaming Selene also does)
- ``non_acgt_allele``: REF or ALT is not made of A/C/G/T only (``N``, ``*``, ``<DEL>``, ``.``)
- ``alt_equals_ref``: ALT is the same allele as REF
- ``allele_too_long``: REF or ALT is at least as long as the model's input window
- ``ref_mismatch``: REF differs from the genome at POS
- ``too_close_to_end``: the input window (see :func:`selene_window`) leaves the chromosome
- ``multiallelic``: a record with several ALT alleles, when those are skipped instead of
  split (the default splits them into one biallelic variant per ALT allele)

A ``.vcf.gz`` (bgzip or plain gzip) is read directly. Only the first five columns are used.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED_COLUMNS = ("#CHROM", "POS", "ID", "REF", "ALT")
REASONS = (
    "malformed_line",
    "unknown_chromosome",
    "non_acgt_allele",
    "alt_equals_ref",
    "allele_too_long",
    "ref_mismatch",
    "too_close_to_end",
    "multiallelic",
)
MULTIALLELIC_MODES = ("split", "skip")
_ACGT = re.compile(r"[ACGT]+")


class VcfError(ValueError):
    """A VCF problem that stops the whole file (not one record); names file and line."""


@dataclass(frozen=True)
class Variant:
    """One biallelic variant to score. ``pos`` is 1-based as in the VCF."""

    line: int
    chrom: str  # as written in the VCF
    genome_chrom: str  # the FASTA's name for it
    pos: int
    id: str
    ref: str
    alt: str


@dataclass(frozen=True)
class Skipped:
    """A record (or one ALT allele of it) that is not scored, and why."""

    line: int
    chrom: str
    pos: str
    id: str
    ref: str
    alt: str
    reason: str
    detail: str


@dataclass
class VcfCheck:
    variants: list[Variant] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    records: int = 0  # data lines (blank lines excluded)
    multiallelic_split: int = 0  # records split into several biallelic variants

    def counts(self) -> dict[str, int]:
        """Scored candidates and skipped variants per reason (every reason listed)."""
        by_reason = Counter(s.reason for s in self.skipped)
        return {"to_score": len(self.variants), **{r: by_reason.get(r, 0) for r in REASONS}}


def selene_window(pos: int, ref_len: int, seq_len: int) -> tuple[int, int]:
    """0-based half-open window Selene feeds the model for a variant at 1-based ``pos``.

    Selene centres on ``pos + len(REF) // 2`` and takes ``ceil(L/2)`` bases before and
    ``floor(L/2)`` after; for an SNV and even L that is ``[pos - L/2, pos + L/2)``, which puts
    the variant base (0-based ``pos - 1``) at window index ``L/2 - 1``.
    """
    center = pos + ref_len // 2
    return center - (seq_len // 2 + seq_len % 2), center + seq_len // 2


def open_vcf_text(path: str | Path) -> Iterator[str]:
    """Lines of a plain or gzip/bgzip-compressed VCF (detected from the magic bytes)."""
    path = Path(path)
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        yield from handle


def resolve_chromosome(name: str, chrom_lengths: Mapping[str, int]) -> str | None:
    """The FASTA's name for VCF chromosome ``name``: exact, else with/without ``chr``."""
    if name in chrom_lengths:
        return name
    other = name[3:] if name.startswith("chr") else f"chr{name}"
    return other if other in chrom_lengths else None


def check_vcf(
    path: str | Path,
    chrom_lengths: Mapping[str, int],
    fetch: Callable[[str, int, int], str],
    seq_len: int,
    *,
    multiallelic: str = "split",
) -> VcfCheck:
    """Sort the records of VCF ``path`` into :class:`Variant` and :class:`Skipped` rows.

    ``fetch(chrom, start, end)`` returns the genome bases of the 0-based half-open range;
    ``seq_len`` is the model input length. Variants keep the VCF's order.
    """
    if multiallelic not in MULTIALLELIC_MODES:
        raise ValueError(f"multiallelic must be one of {MULTIALLELIC_MODES}, got {multiallelic!r}")
    path = Path(path)
    if not path.is_file():
        raise VcfError(f"{path}: VCF file not found")
    result = VcfCheck()
    resolved: dict[str, str | None] = {}
    try:
        for lineno, raw in enumerate(open_vcf_text(path), start=1):
            line = raw.rstrip("\r\n")
            if line.startswith("#"):
                if line.startswith("#CHROM"):
                    _check_header(path, lineno, line)
                continue
            if not line.strip():
                continue
            result.records += 1
            _check_record(
                lineno, line, chrom_lengths, fetch, seq_len, multiallelic, resolved, result
            )
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, OSError) as exc:
        raise VcfError(f"{path}: cannot be read as a (gzipped) VCF text file: {exc}") from exc
    return result


def _check_header(path: Path, lineno: int, line: str) -> None:
    cols = tuple(line.split("\t")[:5])
    if cols != REQUIRED_COLUMNS:
        raise VcfError(
            f"{path}:{lineno}: header columns are {' '.join(cols)!r}, expected the "
            f"tab-separated columns {' '.join(REQUIRED_COLUMNS)!r} first"
        )


def _check_record(
    lineno: int,
    line: str,
    chrom_lengths: Mapping[str, int],
    fetch: Callable[[str, int, int], str],
    seq_len: int,
    multiallelic: str,
    resolved: dict[str, str | None],
    result: VcfCheck,
) -> None:
    cols = line.split("\t")
    if len(cols) < 5:
        padded = [*cols, "", "", "", "", ""][:5]
        result.skipped.append(
            Skipped(
                lineno,
                *padded,
                "malformed_line",
                f"line {lineno}: expected at least 5 tab-separated columns "
                f"(CHROM POS ID REF ALT), found {len(cols)}",
            )
        )
        return
    chrom, pos_text, vid, ref, alt_field = (c.strip() for c in cols[:5])
    ref = ref.upper()
    alts = [a.upper() for a in alt_field.split(",")]

    def skip(alt: str, reason: str, detail: str) -> None:
        result.skipped.append(Skipped(lineno, chrom, pos_text, vid, ref, alt, reason, detail))

    try:
        pos = int(pos_text)
    except ValueError:
        pos = 0
    if pos < 1:
        skip(alt_field, "malformed_line", f"line {lineno}: POS {pos_text!r} is not an integer >= 1")
        return
    if chrom not in resolved:
        resolved[chrom] = resolve_chromosome(chrom, chrom_lengths)
    genome_chrom = resolved[chrom]
    if genome_chrom is None:
        for alt in alts:
            skip(alt, "unknown_chromosome", f"line {lineno}: {chrom!r} is not in the FASTA")
        return
    if len(alts) > 1:
        if multiallelic == "skip":
            skip(alt_field.upper(), "multiallelic", f"line {lineno}: {len(alts)} ALT alleles")
            return
        result.multiallelic_split += 1
    chrom_len = chrom_lengths[genome_chrom]
    for alt in alts:
        if not _ACGT.fullmatch(ref) or not _ACGT.fullmatch(alt):
            bad = "REF" if not _ACGT.fullmatch(ref) else "ALT"
            skip(alt, "non_acgt_allele", f"line {lineno}: {bad} has bases other than A/C/G/T")
            continue
        if alt == ref:
            skip(alt, "alt_equals_ref", f"line {lineno}: ALT is the REF allele")
            continue
        if max(len(ref), len(alt)) >= seq_len:
            skip(alt, "allele_too_long", f"line {lineno}: allele not shorter than {seq_len} bp")
            continue
        if pos - 1 + len(ref) > chrom_len:
            skip(
                alt,
                "too_close_to_end",
                f"line {lineno}: REF extends past the end of {genome_chrom} (length {chrom_len})",
            )
            continue
        genome_ref = fetch(genome_chrom, pos - 1, pos - 1 + len(ref)).upper()
        if genome_ref != ref:
            skip(alt, "ref_mismatch", f"line {lineno}: genome has {genome_ref or '?'}")
            continue
        start, end = selene_window(pos, len(ref), seq_len)
        if start < 0 or end > chrom_len:
            skip(
                alt,
                "too_close_to_end",
                f"line {lineno}: the {seq_len}-bp window [{start}, {end}) does not fit in "
                f"{genome_chrom} (length {chrom_len})",
            )
            continue
        result.variants.append(Variant(lineno, chrom, genome_chrom, pos, vid, ref, alt))
