"""Genome FASTA: validation before indexing, reading with pyfaidx, and one-hot encoding.

pyfaidx's own errors on malformed FASTA files are hard to act on, so :func:`scan_fasta`
checks the file first (headers, empty and duplicated records) and names the line to fix.
The scan reads the file in large blocks and only looks at header lines, so a 3 GB genome
is checked at disk speed with constant memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BASES = "ACGT"
#: Code for any byte that is not A/C/G/T (upper or lower case): an all-zero one-hot column.
UNKNOWN = 4

_BLOCK_BYTES = 1 << 24
# Sequence bytes that are bases, N, gaps or line ends: anything else allowed is an IUPAC
# ambiguity code, counted and reported.
_PLAIN_BYTES = b"ACGTNacgtn-\r\n"
# What a sequence line may hold: IUPAC nucleotide codes in either case, gaps, line ends.
# Anything else (digits, spaces, '*') would silently become N.
_SEQUENCE_BYTES = b"ACGTURYSWKMBDHVNacgturyswkmbdhvn-\r\n"


log = logging.getLogger(__name__)


class InputError(ValueError):
    """Bad user input; the message names the file and, where it applies, the line."""


class FastaError(InputError):
    """A malformed genome FASTA file."""


def _make_lut() -> np.ndarray:
    lut = np.full(256, UNKNOWN, dtype=np.uint8)
    for code, base in enumerate(BASES):
        lut[ord(base)] = code
        lut[ord(base.lower())] = code
    lut.setflags(write=False)
    return lut


# Read-only byte -> base code table (A=0, C=1, G=2, T=3, anything else UNKNOWN).
_LUT = _make_lut()


def encode_bases(seq: str | bytes) -> np.ndarray:
    """Base codes (uint8, 0..3 for A/C/G/T in either case, 4 otherwise) of a sequence."""
    if isinstance(seq, str):
        # latin-1 maps every character to one byte, so odd characters just become UNKNOWN.
        seq = seq.encode("latin-1", errors="replace")
    return _LUT[np.frombuffer(seq, dtype=np.uint8)]


def one_hot_codes(codes: np.ndarray) -> np.ndarray:
    """One-hot ``(..., 4, L)`` uint8 from base codes ``(..., L)``; UNKNOWN gives a zero column."""
    channels = np.arange(len(BASES), dtype=np.uint8).reshape(len(BASES), 1)
    return (codes[..., np.newaxis, :] == channels).astype(np.uint8)


def one_hot(seq: str | bytes) -> np.ndarray:
    """One-hot ``(4, L)`` uint8 encoding of a sequence in the order A, C, G, T."""
    return one_hot_codes(encode_bases(seq))


@dataclass
class _Record:
    name: str
    line: int
    length: int = 0


@dataclass
class _FastaScanner:
    """Incremental FASTA checker fed with blocks of bytes (see :func:`scan_fasta`)."""

    path: Path
    records: dict[str, _Record] = field(default_factory=dict)
    current: _Record | None = None
    line: int = 1  # line number at the start of the next fed block
    at_line_start: bool = True
    ambiguous: int = 0  # IUPAC codes other than N (R, Y, ...): read as unknown bases

    def feed(self, data: bytes) -> None:
        if not data:
            return
        pos = 0
        while pos < len(data):
            header = self._next_header(data, pos)
            end = len(data) if header < 0 else header
            self._sequence(data, pos, end)
            if header < 0:
                break
            nl = data.find(b"\n", header)
            nl = len(data) if nl < 0 else nl
            self._header(data[header:nl])
            pos = nl
        self.at_line_start = data.endswith(b"\n")

    def _next_header(self, data: bytes, pos: int) -> int:
        if pos == 0 and self.at_line_start and data.startswith(b">"):
            return 0
        hit = data.find(b"\n>", pos)
        return -1 if hit < 0 else hit + 1

    def _sequence(self, data: bytes, start: int, end: int) -> None:
        # One pass over the block: what is not a base, N, gap or line end is an IUPAC
        # code (counted) or a bad character (refused); that rest is usually tiny.
        rest = data[start:end].translate(None, _PLAIN_BYTES)
        if rest.translate(None, _SEQUENCE_BYTES):
            self._bad_character(data, start, end)
        self.ambiguous += len(rest)
        newlines = data.count(b"\n", start, end)
        n_bases = end - start - newlines - data.count(b"\r", start, end)
        if n_bases > 0:
            if self.current is None:
                raise FastaError(
                    f"{self.path}:{self._first_text_line(data, start, end)}: sequence before "
                    "the first '>' header; is this a FASTA file?"
                )
            self.current.length += n_bases
        self.line += newlines

    def _bad_character(self, data: bytes, start: int, end: int) -> None:
        segment = data[start:end]
        at = next(i for i, b in enumerate(segment) if bytes([b]).translate(None, _SEQUENCE_BYTES))
        if self.current is None:  # text before the first header: reported as such
            return
        line = self.line + segment.count(b"\n", 0, at)
        raise FastaError(
            f"{self.path}:{line}: {chr(segment[at])!r} in the sequence of record "
            f"{self.current.name!r}; only IUPAC nucleotide letters (ACGTN...) and '-' are allowed"
        )

    def _first_text_line(self, data: bytes, start: int, end: int) -> int:
        segment = data[start:end]
        first = len(segment) - len(segment.lstrip())
        return self.line + segment.count(b"\n", 0, first)

    def _header(self, raw: bytes) -> None:
        self._close_record()
        tokens = raw[1:].decode("utf-8", errors="replace").split()
        if not tokens:
            raise FastaError(f"{self.path}:{self.line}: header '>' without a record name")
        name = tokens[0]
        if name in self.records:
            raise FastaError(
                f"{self.path}:{self.line}: duplicated record name {name!r} "
                f"(first on line {self.records[name].line})"
            )
        self.current = _Record(name, self.line)
        self.records[name] = self.current

    def _close_record(self) -> None:
        if self.current is not None and self.current.length == 0:
            raise FastaError(
                f"{self.path}:{self.current.line}: record {self.current.name!r} is empty "
                "(a header with no sequence)"
            )

    def finish(self) -> dict[str, int]:
        self._close_record()
        if not self.records:
            raise FastaError(f"{self.path}: no FASTA records (no line starting with '>')")
        return {r.name: r.length for r in self.records.values()}


def _complete_part(data: bytes, at_line_start: bool) -> int:
    """How much of ``data`` can be scanned now; an unfinished header line is kept back."""
    tail = data.rfind(b"\n") + 1
    if data.startswith(b">", tail) and (tail > 0 or at_line_start):
        return tail
    return len(data)


def scan_fasta(path: str | Path) -> dict[str, int]:
    """Check a FASTA file and return its record lengths in file order.

    Raises :class:`FastaError` naming the line for: no records, a record without sequence,
    a duplicated record name, text before the first header, or a gzip-compressed file.
    Record names follow pyfaidx: the header up to the first whitespace.
    """
    path = Path(path)
    scanner = _FastaScanner(path)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise FastaError(f"{path}: cannot read the genome FASTA: {exc.strerror}") from exc
    with handle:
        if handle.read(2) == b"\x1f\x8b":
            raise FastaError(f"{path}: the FASTA is gzip-compressed; decompress it first")
        handle.seek(0)
        carry = b""
        while block := handle.read(_BLOCK_BYTES):
            data = carry + block
            cut = _complete_part(data, scanner.at_line_start)
            scanner.feed(data[:cut])
            carry = data[cut:]
        scanner.feed(carry)
    lengths = scanner.finish()
    if scanner.ambiguous:
        log.warning(
            "%s: %d IUPAC ambiguity codes (R, Y, S, ...) are read as unknown bases (N); "
            "windows with too many unknown bases are dropped (dataset.json: dropped_for_n)",
            path,
            scanner.ambiguous,
        )
    return lengths


def verify_fai(path: str | Path, lengths: dict[str, int] | None = None) -> None:
    """Check ``<path>.fai`` (if there is one) against the FASTA itself.

    pyfaidx trusts an index that is not older than the FASTA, so after ``touch``,
    ``cp -p``, an untar or rsync a stale ``.fai`` silently gives shifted sequences. Record
    names, order and lengths are compared with ``lengths`` (:func:`scan_fasta`'s result,
    scanned here when None), and each record's offset must fall right after its own
    header line and start a line of the indexed width. A mismatch raises
    :class:`FastaError` naming both files.
    """
    path = Path(path)
    fai = Path(f"{path}.fai")
    if not fai.exists():
        return
    lengths = scan_fasta(path) if lengths is None else lengths

    def stale(why: str) -> FastaError:
        return FastaError(
            f"{fai} does not index {path} ({why}): the FASTA changed after it was indexed; "
            f"delete {fai} so that it is rebuilt"
        )

    rows = []
    for number, line in enumerate(fai.read_text(errors="replace").splitlines(), start=1):
        fields = line.split("\t")
        if len(fields) < 5 or not all(f.strip().isdigit() for f in fields[1:5]):
            raise stale(f"line {number} is not a .fai record")
        rows.append((fields[0], *(int(f) for f in fields[1:5])))
    if [r[0] for r in rows] != list(lengths):
        raise stale("other record names or order")
    with open(path, "rb") as handle:
        for name, length, offset, bases, width in rows:
            if length != lengths[name]:
                raise stale(f"{name}: length {length} in the index, {lengths[name]} in the FASTA")
            handle.seek(max(0, offset - 4096))
            before = handle.read(offset - max(0, offset - 4096))
            cut = before.rstrip(b"\r\n").rfind(b"\n")
            header = before[cut + 1 :]
            tokens = header[1:].split()
            whole = cut >= 0 or offset <= 4096  # a header over 4 kB is not checked by name
            if not before.endswith(b"\n") or (
                whole
                and (
                    not header.startswith(b">")
                    or not tokens
                    or tokens[0].decode(errors="replace") != name
                )
            ):
                raise stale(f"{name}: offset {offset} is not the start of its sequence")
            first = handle.read(2 * width + 2)
            line_bases = len(first.split(b"\n")[0].rstrip(b"\r"))
            if line_bases != min(bases, length):
                raise stale(f"{name}: first line holds {line_bases} bases, the index says {bases}")


@contextlib.contextmanager
def open_fasta(path: str | Path, lengths: dict[str, int] | None = None) -> Iterator[object]:
    """Open a FASTA with pyfaidx, returning raw strings; errors name the file.

    An existing ``.fai`` is checked first (:func:`verify_fai`; ``lengths``: the FASTA's
    :func:`scan_fasta` result if the caller has it, else it is scanned).

    The ``.fai`` index goes beside the FASTA as usual, or into a temporary folder when that
    folder is read-only (shared reference genomes often are).
    """
    import pyfaidx

    path = Path(path)
    verify_fai(path, lengths)
    with contextlib.ExitStack() as stack:
        indexname = None
        fai = Path(f"{path}.fai")
        if not os.access(path.parent, os.W_OK) and not (
            fai.exists() and fai.stat().st_mtime >= path.stat().st_mtime
        ):
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="amber-fai-"))
            indexname = str(Path(tmp) / fai.name)
        try:
            fasta = pyfaidx.Fasta(str(path), indexname=indexname, as_raw=True)
        except Exception as exc:  # pyfaidx raises many types; report them all the same way
            raise FastaError(f"{path}: pyfaidx cannot index this FASTA: {exc}") from exc
        stack.callback(fasta.close)
        yield fasta


def chromosome_codes(fasta: object, name: str) -> np.ndarray:
    """Base codes of a whole chromosome (uint8, see :func:`encode_bases`)."""
    record = fasta[name]  # type: ignore[index]
    return encode_bases(record[0 : len(record)])
