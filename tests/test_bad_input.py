"""Bad FASTA/BED/feature input fails early with the file and line in the message."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from amber.data import genome
from amber.data.bed import BedError, feature_bed_files, read_bed
from amber.data.dataset import make_dataset
from amber.data.features import Feature, write_features
from amber.data.genome import FastaError, InputError, scan_fasta

SIZES = {"chr1": 1000, "chr2": 500}


def bed(tmp_path: Path, text: str, name: str = "peaks.bed") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- BED -------------------------------------------------------------------------------


def test_bed_skips_headers_and_reads_intervals(tmp_path: Path) -> None:
    path = bed(tmp_path, "track name=x\nbrowser position chr1\n# c\n\nchr1\t5\t10\tp\nchr2 0 3\n")
    df = read_bed(path, SIZES)
    assert df.values.tolist() == [["chr1", 5, 10], ["chr2", 0, 3]]
    assert read_bed(path, SIZES, keep={"chr2"}).values.tolist() == [["chr2", 0, 3]]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("chr1\t50\t40", "start 50 is greater than end 40"),
        ("chr1\t-5\t40", "negative start -5"),
        ("chr1\t5.5\t40", "start '5.5' is not an integer"),
        ("chr1\t5\tend", "end 'end' is not an integer"),
        ("chr1\t5", "expected at least 3"),
        ("chr1\t900\t1001", "end 1001 is beyond the end of 'chr1' (1000 bp"),
        ("chrX\t1\t2", "chromosome 'chrX' is not in the genome FASTA"),
    ],
)
def test_bad_bed_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = bed(tmp_path, f"# header\nchr1\t1\t2\n\n{line}\nchr1\t3\t4\n")
    with pytest.raises(BedError) as err:
        read_bed(path, SIZES)
    assert f"{path}:4:" in str(err.value)
    assert message in str(err.value)
    assert isinstance(err.value, InputError) and isinstance(err.value, ValueError)


def test_unknown_chromosome_lists_valid_names_and_hints_at_prefix(tmp_path: Path) -> None:
    path = bed(tmp_path, "1\t1\t2\n")
    with pytest.raises(BedError) as err:
        read_bed(path, {"chr1": 10, "chr2": 10})
    text = str(err.value)
    assert f"{path}:1:" in text and "'1'" in text and "'chr1', 'chr2'" in text
    assert "the FASTA calls it 'chr1'" in text


def test_feature_without_bed_and_bed_without_feature(tmp_path: Path) -> None:
    bed_dir = tmp_path / "peaks"
    bed_dir.mkdir()
    (bed_dir / "K562_CTCF_None.bed").write_text("")
    (bed_dir / "K562_CTFC_None.bed").write_text("")  # typo
    features = [
        Feature("K562|CTCF|None", "K562", "CTCF", "TF"),
        Feature("HepG2|CTCF|None", "HepG2", "CTCF", "TF"),
    ]
    with pytest.raises(BedError) as err:
        feature_bed_files(features, bed_dir, tmp_path / "features.tsv")
    text = str(err.value)
    assert "'HepG2|CTCF|None'" in text and str(bed_dir / "HepG2_CTCF_None.bed") in text
    assert str(bed_dir / "K562_CTFC_None.bed") in text and "features.tsv" in text
    (bed_dir / "K562_CTFC_None.bed").unlink()
    (bed_dir / "HepG2_CTCF_None.bed").write_text("")
    assert feature_bed_files(features, bed_dir, "features.tsv") == [
        bed_dir / "K562_CTCF_None.bed",
        bed_dir / "HepG2_CTCF_None.bed",
    ]


# --- FASTA -----------------------------------------------------------------------------


def fasta(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "genome.fa"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_scan_fasta_lengths(tmp_path: Path) -> None:
    path = fasta(tmp_path, ">chr1 desc\nACGT\nAC\n>chr2\r\nNNNN\r\nnn\r\n\n")
    assert scan_fasta(path) == {"chr1": 6, "chr2": 6}


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (">chr1\nACGT\n>chr2\n>chr3\nAC\n", r":3: record 'chr2' is empty"),
        (">chr1\nACGT\n>chr2\n", r":3: record 'chr2' is empty"),
        (
            ">chr1\nACGT\n>chr2\nAA\n>chr1 again\nAC\n",
            r":5: duplicated record name 'chr1' "
            r"\(first on line 1\)",
        ),
        ("", r": no FASTA records"),
        ("\n\n", r": no FASTA records"),
        ("\nACGT\n>chr1\nAC\n", r":2: sequence before the first '>' header"),
        (">\nACGT\n", r":1: header '>' without a record name"),
        (">chr1\nAC GT\n", r":2: ' ' in the sequence of record 'chr1'"),
        (">chr1\nACGT\n>chr2\nACGT\nAC1T\n", r":5: '1' in the sequence of record 'chr2'"),
        (">chr1\nACGT\tAC\n", r":2: '\\t' in the sequence"),
    ],
)
def test_bad_fasta_names_file_and_line(tmp_path: Path, text: str, pattern: str) -> None:
    path = fasta(tmp_path, text)
    with pytest.raises(FastaError, match=re.escape(str(path)) + pattern):
        scan_fasta(path)


def test_gzipped_fasta_is_reported(tmp_path: Path) -> None:
    path = fasta(tmp_path, b"\x1f\x8b\x08\x00rest")
    with pytest.raises(FastaError, match="gzip"):
        scan_fasta(path)


def naive_lengths(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    name = None
    for line in text.splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            out[name] = 0
        elif name is not None:
            out[name] += len(line.strip())
    return out


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64])
def test_scan_across_block_boundaries(tmp_path: Path, monkeypatch, block: int) -> None:
    rng = np.random.default_rng(block)
    parts = []
    for i in range(6):
        parts.append(f">r{i} description >not a header\n")
        seq = "".join(rng.choice(list("ACGTNn-"), size=int(rng.integers(1, 90))))
        width = int(rng.integers(1, 30))
        parts += ["A" + seq[j + 1 : j + width] + "\n" for j in range(0, len(seq), width)]
    text = "".join(parts)
    path = fasta(tmp_path, text)
    monkeypatch.setattr(genome, "_BLOCK_BYTES", block)
    assert scan_fasta(path) == naive_lengths(text)
    # An error deep in the file still gets the right line number.
    lines = text.splitlines(keepends=True)
    bad = "".join(lines + [">r3\n", "AC\n"])
    fasta(tmp_path, bad)
    with pytest.raises(FastaError, match=rf":{len(lines) + 1}: duplicated record name 'r3' "):
        scan_fasta(path)
    # '>' inside a line is not a header (only at a line start) but junk in the sequence.
    fasta(tmp_path, "".join([*lines[:-1], "AC>GT\n"]))
    with pytest.raises(FastaError, match=rf":{len(lines)}: '>' in the sequence of record 'r5'"):
        scan_fasta(path)


# --- end to end: make_dataset stops before writing anything ---------------------------


@pytest.fixture()
def inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    fa = tmp_path / "genome.fa"
    fa.write_text(">chr1\n" + "ACGT" * 100 + "\n>chr2\n" + "ACGT" * 100 + "\n")
    tsv = tmp_path / "features.tsv"
    write_features([Feature("A|CTCF|None", "A", "CTCF", "TF")], tsv)
    bed_dir = tmp_path / "peaks"
    bed_dir.mkdir()
    (bed_dir / "A_CTCF_None.bed").write_text("chr1\t10\t100\n")
    return fa, tsv, bed_dir


def run(fa: Path, tsv: Path, bed_dir: Path, out: Path) -> dict:
    return make_dataset(
        fa,
        tsv,
        bed_dir,
        out,
        bin_size=20,
        seq_len=40,
        valid_chroms=["chr2"],
        test_chroms=[],
        negative_fraction=0.5,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chr1\t10\t100\nchr3\t1\t5\n", ":2: chromosome 'chr3'"),
        # An empty BED would give its feature no positive at all (exit 0 before).
        ("# track name=empty\n", ": no peak on the chromosomes"),
    ],
)
def test_make_dataset_reports_bad_bed(inputs, tmp_path: Path, text: str, message: str) -> None:
    fa, tsv, bed_dir = inputs
    run(fa, tsv, bed_dir, tmp_path / "ok")  # the good input works
    path = bed_dir / "A_CTCF_None.bed"
    path.write_text(text)
    out = tmp_path / "out"
    with pytest.raises(BedError, match=re.escape(f"{path}{message}")):
        run(fa, tsv, bed_dir, out)
    assert not out.exists() or list(out.iterdir()) == []


def test_make_dataset_reports_bad_fasta(inputs, tmp_path: Path) -> None:
    fa, tsv, bed_dir = inputs
    fa.write_text(">chr1\n" + "ACGT" * 100 + "\n>chr2\n>chr3\nAC\n")
    with pytest.raises(FastaError, match=re.escape(f"{fa}:3: record 'chr2' is empty")):
        run(fa, tsv, bed_dir, tmp_path / "out")


def test_make_dataset_reports_extra_bed(inputs, tmp_path: Path) -> None:
    fa, tsv, bed_dir = inputs
    (bed_dir / "B_CTCF_None.bed").write_text("chr1\t1\t2\n")
    with pytest.raises(BedError, match=re.escape(str(bed_dir / "B_CTCF_None.bed"))):
        run(fa, tsv, bed_dir, tmp_path / "out")


def _fasta(path: Path, records: dict[str, str], width: int = 10, header: str = "") -> None:
    lines = []
    for name, seq in records.items():
        lines.append(f">{name}{header}")
        lines += [seq[i : i + width] for i in range(0, len(seq), width)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "change, why",
    [
        ({"records": {"chr1": "ACGT" * 20, "chr2": "TTGCA" * 10}}, "length 100 in the index, 80"),
        ({"header": " assembled 2026"}, "offset .* is not the start of its sequence"),
        ({"width": 12}, "first line holds 12 bases, the index says 10"),
        ({"records": {"chrX": "ACGT" * 25, "chr2": "TTGCA" * 10}}, "other record names"),
    ],
)
def test_stale_fai_is_refused_naming_both_files(tmp_path: Path, change: dict, why: str) -> None:
    """pyfaidx trusts a .fai that is not older than the FASTA (after touch, cp -p, untar):
    it would read shifted sequences. Every record is checked against the FASTA itself."""
    import os

    fasta = tmp_path / "genome.fa"
    records = {"chr1": "ACGT" * 25, "chr2": "TTGCA" * 10}
    _fasta(fasta, records)
    with genome.open_fasta(fasta) as handle:  # builds genome.fa.fai; a fresh index passes
        assert genome.chromosome_codes(handle, "chr2").shape == (50,)
    fai = Path(f"{fasta}.fai")
    genome.verify_fai(fasta)
    _fasta(fasta, change.get("records", records), change.get("width", 10), change.get("header", ""))
    os.utime(fai, (fasta.stat().st_mtime + 10,) * 2)  # the index looks up to date
    with pytest.raises(FastaError, match=f"{re.escape(str(fai))} does not index .*{why}"):
        genome.verify_fai(fasta)
    with pytest.raises(FastaError, match="delete .*genome.fa.fai so that it is rebuilt"):
        with genome.open_fasta(fasta):
            pass
