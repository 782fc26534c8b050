"""Bad input fails early with the file (and line) in one message: the readers of FASTA, BED
and features, then the battery of every bad input through the `amber` command."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from amber.data import genome
from amber.data.bed import BedError, feature_bed_files, read_bed
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


# --- the battery: every bad input, through the command a user runs ----------------------
#
# One row per case: how to build the bad input from a good kit, the `amber` command, the
# fragment its one-line message must hold, and which outputs must not exist afterwards.
# A new stage adds its rows here. "warning" rows finish (exit 0) and say what they dropped.

GOOD_SEQS = {
    name: "".join(np.random.default_rng(i).choice(list("ACGT"), n))
    for i, (name, n) in enumerate((("chr1", 3000), ("chr2", 1200), ("chr3", 1200)))
}
PEAKS = "chr1\t200\t400\nchr1\t1500\t1700\nchr2\t300\t500\nchr3\t600\t800\n"
DEMO_SPACE = Path(__file__).resolve().parents[1] / "config" / "model_spaces" / "demo.yaml"


def _write_fasta(path: Path, seqs: dict[str, str], width: int = 60) -> Path:
    with open(path, "w") as handle:
        for name, seq in seqs.items():
            handle.write(f">{name}\n")
            handle.writelines(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
    return path


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good inputs of every stage: genome, features and peaks, a dataset made from them,
    a saved model, a VCF and GWAS summary statistics."""
    import torch

    from amber.cli import main
    from amber.nas.arch import sample_uniform
    from amber.nas.child import build_child
    from amber.nas.space import load_space
    from amber.train.model_io import nas_description, plain_state_dict, save_model

    root = tmp_path_factory.mktemp("kit")
    k = {"fasta": _write_fasta(root / "genome.fa", GOOD_SEQS), "features": root / "features.tsv"}
    write_features([Feature("A|CTCF|None", "A", "CTCF", "TF")], k["features"])
    k["beds"] = root / "peaks"
    k["beds"].mkdir()
    (k["beds"] / "A_CTCF_None.bed").write_text(PEAKS)
    k["data"] = root / "data"
    assert main(_make_dataset_argv(k, k["fasta"], k["beds"], k["data"])) == 0
    space = load_space(DEMO_SPACE)
    arch = sample_uniform(space, np.random.default_rng(3))
    k["arch"] = root / "arch.json"
    arch.save(k["arch"])
    torch.manual_seed(0)
    model = build_child(arch, space, 200, 1)
    desc = nas_description(arch, space, 200, 1, width_multiplier=1.0, pool_dropout=0.0)
    k["model"] = root / "model"
    save_model(k["model"], plain_state_dict(model), {**desc, "features": ["A|CTCF|None"]})
    ref = GOOD_SEQS["chr1"][999]
    alt = "A" if ref != "A" else "C"
    k["vcf"] = root / "v.vcf"
    k["vcf"].write_text(
        f"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\nchr1\t1000\tv1\t{ref}\t{alt}\n"
    )
    k["sumstats"] = root / "gwas.tsv"
    rows = [f"rs{i}\tA\tG\t{z}\t1000" for i, z in enumerate([0.5, -1.2, 2.0, 0.1, -0.3])]
    k["sumstats"].write_text("SNP\tA1\tA2\tZ\tN\n" + "\n".join(rows) + "\n")
    return k


def _make_dataset_argv(k: dict[str, Path], fasta: Path, beds: Path, out: Path) -> list[str]:
    return [
        "make-dataset", "--fasta", str(fasta), "--features", str(k["features"]),
        "--bed-dir", str(beds), "--out", str(out), "--bin-size", "20", "--seq-len", "200",
        "--valid-chroms", "chr2", "--test-chroms", "chr3", "--negative-fraction", "0.5",
        "--quiet",
    ]  # fmt: skip


def _beds(tmp: Path, text: str, extra: str | None = None) -> Path:
    folder = tmp / "peaks"
    folder.mkdir()
    (folder / "A_CTCF_None.bed").write_text(text)
    if extra is not None:
        (folder / "B_CTCF_None.bed").write_text(extra)
    return folder


def _dataset_case(
    fasta_text: str | None = None, bed_text: str = PEAKS, extra=None, fai=None, holdouts=None
):
    """A make-dataset run on a changed FASTA and/or BED folder."""

    def build(k: dict[str, Path], tmp: Path) -> tuple[list[str], dict[str, str], list[Path]]:
        fasta = k["fasta"]
        if fasta_text is not None:
            fasta = tmp / "genome.fa"
            fasta.write_text(fasta_text)
        if fai is not None:
            fasta = fai(tmp)
        beds = _beds(tmp, bed_text, extra)
        out = tmp / "out"
        names = {"fasta": str(fasta), "bed": str(beds / "A_CTCF_None.bed"), "dir": str(beds)}
        argv = _make_dataset_argv(k, fasta, beds, out)
        if holdouts is not None:
            argv[argv.index("--valid-chroms") + 1] = ",".join(holdouts[0])
            argv[argv.index("--test-chroms") + 1] = ",".join(holdouts[1])
        return argv, names, [out / "train.h5", out]

    return build


def _stale_fai(tmp: Path) -> Path:
    """A FASTA whose .fai indexes an older version but looks up to date (cp -p, untar)."""
    import os

    fasta = _write_fasta(tmp / "genome.fa", {"chr1": GOOD_SEQS["chr1"][:2000], **GOOD_SEQS})
    fai = Path(f"{fasta}.fai")
    fai.write_text("chr1\t3000\t6\t60\t61\nchr2\t1200\t3063\t60\t61\nchr3\t1200\t4289\t60\t61\n")
    os.utime(fai, (fasta.stat().st_mtime + 10,) * 2)
    return fasta


def _scoring_case(fasta=None, vcf_text: str | None = None, model=None):
    def build(k: dict[str, Path], tmp: Path) -> tuple[list[str], dict[str, str], list[Path]]:
        fasta_path = fasta(tmp) if fasta else k["fasta"]
        vcf = k["vcf"]
        if vcf_text is not None:
            vcf = tmp / "v.vcf"
            vcf.write_text(vcf_text)
        model_dir = model(k, tmp) if model else k["model"]
        out = tmp / "scores"
        argv = [
            "score-variants", "--model", str(model_dir), "--vcf", str(vcf), "--fasta",
            str(fasta_path), "--features", str(k["features"]), "--out-dir", str(out),
            "--device", "cpu", "--quiet",
        ]  # fmt: skip
        names = {"fasta": str(fasta_path), "vcf": str(vcf), "model": str(model_dir)}
        return argv, names, [out / "scores.h5"]

    return build


def _gzipped_fasta(tmp: Path) -> Path:
    import gzip

    path = tmp / "genome.fa.gz"
    path.write_bytes(gzip.compress(_write_fasta(tmp / "plain.fa", GOOD_SEQS).read_bytes()))
    return path


def _truncated_model(k: dict[str, Path], tmp: Path) -> Path:
    import shutil

    model = tmp / "model"
    shutil.copytree(k["model"], model)
    data = (model / "model.pt").read_bytes()
    (model / "model.pt").write_bytes(data[: len(data) // 2])
    return model


class _Payload:
    """Unpickling this runs code: it creates the file named ``marker``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _run_case(stage: str, extra: list[str] = (), checkpoint=None):
    """amber search / train on the kit's dataset, with extra options or a checkpoint
    already in the output folder."""

    def build(k: dict[str, Path], tmp: Path) -> tuple[list[str], dict[str, str], list[Path]]:
        out = tmp / "run"
        out.mkdir()
        if checkpoint is not None:
            checkpoint(out / "checkpoint.pt", tmp)
        data = ["--train", str(k["data"] / "train.h5"), "--valid", str(k["data"] / "valid.h5")]
        common = [*data, "--out", str(out), "--batch-size", "16", "--threads", "1", "--quiet"]
        if stage == "search":
            argv = ["search", "--space", str(DEMO_SPACE), *common, "--steps", "1"]
            argv += ["--warmup-batches", "1", "--child-batches", "1", "--valid-samples", "16"]
            outputs = [out / "arch.json", out / "checkpoint.pt"]
        else:
            argv = ["train", "--arch", str(k["arch"]), "--space", str(DEMO_SPACE), *common]
            argv += ["--max-epochs", "1", "--epoch-samples", "32"]
            outputs = [out / "model.pt"]
        names = {"checkpoint": str(out / "checkpoint.pt"), "marker": str(tmp / "pwned")}
        return (
            [*argv, *extra],
            names,
            [o for o in outputs if checkpoint is None or "ckpt" in o.name],
        )

    return build


def _planted_checkpoint(path: Path, tmp: Path) -> None:
    import torch

    torch.save({"fingerprint": "x", "state": _Payload(str(tmp / "pwned"))}, path)


def _truncated_checkpoint(path: Path, tmp: Path) -> None:
    path.write_bytes(b"PK\x03\x04 truncated")


def _munge_case(text: str | None = None, raw: bytes | None = None, name: str = "gwas.tsv"):
    def build(k: dict[str, Path], tmp: Path) -> tuple[list[str], dict[str, str], list[Path]]:
        path = tmp / name
        if raw is not None:
            path.write_bytes(raw)
        else:
            path.write_text(text)
        out = tmp / "out.sumstats.gz"
        argv = ["ldsc-munge", "--sumstats", str(path), "--out", str(out)]
        return argv, {"sumstats": str(path)}, [out]

    return build


SUMSTATS_HEAD = "SNP\tA1\tA2\tZ\tN\n"
GOOD_ROWS = "".join(f"rs{i}\tA\tG\t{z}\t1000\n" for i, z in enumerate([0.5, -1.2, 2.0, 0.1]))
# (name, build, expected message fragment ({key} = a path the build returns), outcome)
BATTERY = [
    ("bed_bad_coordinate", _dataset_case(bed_text="chr1\t10\tten\n"), "{bed}:1:", "error"),
    (
        "bed_unknown_chromosome",
        _dataset_case(bed_text="chr9\t1\t50\n"),
        "{bed}:1: chromosome 'chr9'",
        "error",
    ),
    (
        "bed_empty",
        _dataset_case(bed_text="# track\n"),
        "{bed}: no peak on the chromosomes",
        "error",
    ),
    (
        "bed_feature_without_positive_in_a_split",
        _dataset_case(bed_text="chr1\t200\t400\n"),
        "the valid split has no positive of feature(s) A|CTCF|None",
        "error",
    ),
    (
        "holdout_none_given",
        _dataset_case(holdouts=([], [])),
        "no valid holdout given",
        "error",
    ),
    (
        "holdout_region_outside_chromosome",
        _dataset_case(holdouts=(["chr2:1-5000"], ["chr3"])),
        "valid region 'chr2:1-5000' is not within chr2 (1-1200)",
        "error",
    ),
    (
        "holdouts_overlap",
        _dataset_case(holdouts=(["chr1:1-1000"], ["chr1:901-2000"])),
        "test holdout chr1:901-2000 overlaps another holdout",
        "error",
    ),
    ("bed_without_feature", _dataset_case(extra="chr1\t1\t9\n"), "B_CTCF_None.bed", "error"),
    (
        "fasta_digits",
        _dataset_case(">chr1\nACGT12ACGT\n>chr2\nACGT\n>chr3\nACGT\n"),
        "{fasta}:2: ",
        "error",
    ),
    (
        "fasta_spaces",
        _dataset_case(">chr1\nACGT ACGT\n>chr2\nACGT\n>chr3\nACGT\n"),
        "{fasta}:2: ",
        "error",
    ),
    (
        "fasta_empty_record",
        _dataset_case(">chr1\nACGT\n>chr2\n>chr3\nACGT\n"),
        "{fasta}:3: record 'chr2' is empty",
        "error",
    ),
    (
        "fasta_iupac_codes",
        _dataset_case(
            ">chr1\n"
            + GOOD_SEQS["chr1"][:1000]
            + "RYKM"
            + GOOD_SEQS["chr1"][1004:]
            + "\n"
            + "".join(f">{c}\n{GOOD_SEQS[c]}\n" for c in ("chr2", "chr3"))
        ),
        "{fasta}: 4 IUPAC ambiguity codes (R, Y, S, ...) are read as unknown bases (N)",
        "warning",
    ),
    ("fasta_text_before_header", _dataset_case("ACGT\n>chr1\nACGT\n"), "{fasta}:1: ", "error"),
    ("fai_stale", _dataset_case(fai=_stale_fai), "{fasta}.fai does not index", "error"),
    (
        "score_fasta_gzipped",
        _scoring_case(fasta=_gzipped_fasta),
        "{fasta}: the FASTA is gzip-compressed",
        "error",
    ),
    ("score_fai_stale", _scoring_case(fasta=_stale_fai), "{fasta}.fai does not index", "error"),
    (
        "score_vcf_nothing_scorable",
        _scoring_case(vcf_text="chr1\t100\t200\nchr1\tx\ty\tA\tG\n"),
        "{vcf}: none of its 2 records can be scored",
        "error",
    ),
    ("score_model_truncated", _scoring_case(model=_truncated_model), "{model}/model.pt", "error"),
    ("search_zero_steps", _run_case("search", ["--steps", "0"]), "steps", "error"),
    (
        "search_zero_archs_per_step",
        _run_case("search", ["--archs-per-step", "0"]),
        "archs_per_step",
        "error",
    ),
    (
        "search_checkpoint_planted",
        _run_case("search", checkpoint=_planted_checkpoint),
        "{checkpoint} is not a readable checkpoint",
        "error",
    ),
    (
        "search_checkpoint_truncated",
        _run_case("search", checkpoint=_truncated_checkpoint),
        "{checkpoint} is not a readable checkpoint",
        "error",
    ),
    (
        "train_checkpoint_planted",
        _run_case("train", checkpoint=_planted_checkpoint),
        "{checkpoint} is not a readable checkpoint",
        "error",
    ),
    (
        "train_checkpoint_truncated",
        _run_case("train", checkpoint=_truncated_checkpoint),
        "{checkpoint} is not a readable checkpoint",
        "error",
    ),
    (
        "munge_parquet",
        _munge_case(raw=b"PAR1\x15\x04\x15\x10L\x15\x04\x12\x00\x00PAR1", name="g.parquet"),
        "{sumstats}: cannot read this Parquet file",
        "error",
    ),
    ("munge_no_z_column", _munge_case("SNP\tA1\tA2\tN\nrs1\tA\tG\t10\n"), "{sumstats}", "error"),
    (
        "munge_infinite_z",
        _munge_case(SUMSTATS_HEAD + GOOD_ROWS + "rs9\tA\tG\tinf\t1000\n"),
        "non_finite",
        "warning",
    ),
]


@pytest.mark.parametrize(
    ("name", "build", "fragment", "outcome"), BATTERY, ids=[c[0] for c in BATTERY]
)
def test_battery(kit, tmp_path: Path, capsys, name, build, fragment, outcome) -> None:
    from amber.cli import main

    argv, names, outputs = build(kit, tmp_path)
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    expected = fragment.format(**names)
    assert expected in err, f"{name}: {expected!r} not in:\n{err}"
    assert not Path(names.get("marker", tmp_path / "pwned")).exists(), "a checkpoint ran code"
    if outcome == "error":
        assert code == 1, err
        lines = [line for line in err.splitlines() if line.startswith("amber ")]
        assert len(lines) == 1 and "error:" in lines[0], err
        assert [o for o in outputs if o.exists()] == [], "an output was written"
        assert not list(tmp_path.rglob("*.tmp")), "a temporary file was left"
    else:
        assert code == 0, err
        assert all(o.exists() for o in outputs)


def test_disk_full_names_the_file(kit, tmp_path: Path) -> None:
    """No space left (here: a file-size limit, the same error path without root) names the
    output being written, exits 1 and leaves no temporary file."""
    import resource
    import subprocess
    import sys

    argv, _, outputs = _dataset_case()(kit, tmp_path)
    limit = 4096

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    (tmp_path / "t").mkdir()
    train_argv, names, _ = _run_case("train")(kit, tmp_path / "t")
    run_dir = str(Path(names["checkpoint"]).parent)
    for cmd, named in [(argv, str(tmp_path / "out")), (train_argv, run_dir)]:
        result = subprocess.run(
            [sys.executable, "-m", "amber.cli", *cmd],
            capture_output=True,
            text=True,
            preexec_fn=limit_file_size,
            timeout=300,
        )
        assert result.returncode == 1, result.stderr
        line = result.stderr.strip().splitlines()[-1]
        assert named in line and "free space" in line.lower(), result.stderr
        assert not list(tmp_path.rglob("*.tmp")), "a temporary file was left"
    assert [o for o in outputs if o.exists()] == []
