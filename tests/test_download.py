"""Tests for amber.data.download: real downloads from file:// URLs, real tar files."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tarfile
from pathlib import Path

import pytest

from amber.data.download import (
    ArchiveError,
    ChecksumError,
    ManifestError,
    UnpinnedError,
    download,
    extract_tar,
    fetch,
    md5_from_listing,
    read_manifest,
)

PAYLOAD = b"ACGT" * 5000 + b"tail"
HEADER = "name\turl\tchecksum\tsize_bytes\tdescription\n"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "genome.fa.gz"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("checksum", [f"sha256:{sha256(PAYLOAD)}", f"md5:{md5(PAYLOAD)}"])
def test_good_checksum_downloads(source: Path, tmp_path: Path, checksum: str) -> None:
    dest = tmp_path / "out" / "genome.fa.gz"
    got = download(source.as_uri(), dest, checksum, expected_size=len(PAYLOAD), chunk_size=1000)
    assert got == dest and dest.read_bytes() == PAYLOAD
    assert leftovers(dest.parent) == ["genome.fa.gz"]


@pytest.mark.parametrize("kind", ["sha256", "md5"])
def test_checksum_mismatch_leaves_nothing(source: Path, tmp_path: Path, kind: str) -> None:
    wrong = sha256(b"x") if kind == "sha256" else md5(b"x")
    dest = tmp_path / "out" / "genome.fa.gz"
    with pytest.raises(ChecksumError) as err:
        download(source.as_uri(), dest, f"{kind}:{wrong}")
    message = str(err.value)
    assert "genome.fa.gz" in message and wrong in message
    assert (sha256(PAYLOAD) if kind == "sha256" else md5(PAYLOAD)) in message
    assert leftovers(dest.parent) == []


@pytest.mark.parametrize("size", [len(PAYLOAD) - 1, len(PAYLOAD) + 1])
def test_size_mismatch_leaves_nothing(source: Path, tmp_path: Path, size: int) -> None:
    dest = tmp_path / "out" / "genome.fa.gz"
    with pytest.raises(ChecksumError, match=f"expected {size} bytes"):
        download(source.as_uri(), dest, f"sha256:{sha256(PAYLOAD)}", expected_size=size)
    assert leftovers(dest.parent) == []


def test_failed_download_keeps_existing_file(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "genome.fa.gz"
    dest.write_bytes(b"old")
    with pytest.raises(ChecksumError):
        download(source.as_uri(), dest, f"md5:{md5(b'other')}")
    assert dest.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["genome.fa.gz", "src"]


def test_md5file_listing(source: Path, tmp_path: Path) -> None:
    listing = source.parent / "md5sum.txt"
    listing.write_text(f"{md5(b'x')}  other.fa.gz\n{md5(PAYLOAD)}  ./genome.fa.gz\n")
    dest = tmp_path / "genome.fa.gz"
    download(source.as_uri(), dest, f"md5file:{listing.as_uri()}")
    assert dest.read_bytes() == PAYLOAD

    listing.write_text(f"{md5(b'x')}  genome.fa.gz\n")
    with pytest.raises(ChecksumError, match=md5(b"x")):
        download(source.as_uri(), tmp_path / "again.fa.gz", f"md5file:{listing.as_uri()}")
    listing.write_text(f"{md5(PAYLOAD)}  other.fa.gz\n")
    with pytest.raises(ChecksumError, match="no md5 for 'genome.fa.gz'"):
        download(source.as_uri(), tmp_path / "again.fa.gz", f"md5file:{listing.as_uri()}")
    assert not (tmp_path / "again.fa.gz").exists()


def test_md5_listing_formats() -> None:
    digest = md5(b"a")
    assert md5_from_listing(f"{digest} *hg19.fa.gz\n", "hg19.fa.gz") == digest
    assert md5_from_listing(f"MD5 (hg19.fa.gz) = {digest.upper()}\n", "hg19.fa.gz") == digest
    assert md5_from_listing(f"{digest}  hg19.fa.gz.fai\n", "hg19.fa.gz") is None


def test_unpinned_needs_permission(
    source: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dest = tmp_path / "genome.fa.gz"
    with pytest.raises(UnpinnedError, match="allow_unpinned"):
        download(source.as_uri(), dest, "unpinned")
    assert not dest.exists()
    with caplog.at_level(logging.WARNING, logger="amber.data.download"):
        download(source.as_uri(), dest, "unpinned", allow_unpinned=True)
    assert dest.read_bytes() == PAYLOAD
    assert sha256(PAYLOAD) in caplog.text and "UNVERIFIED" in caplog.text


def test_missing_url_raises(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        download((tmp_path / "nope").as_uri(), tmp_path / "nope.out", f"md5:{md5(b'')}")
    assert leftovers(tmp_path) == []


def test_fetch_uses_manifest(source: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "downloads.tsv"
    manifest.write_text(
        "# comment\n\n"
        + HEADER
        + f"genome.fa.gz\t{source.as_uri()}\tsha256:{sha256(PAYLOAD)}\t{len(PAYLOAD)}\tg\n"
        + f"raw.bin\t{source.as_uri()}\tunpinned\n"
    )
    entries = read_manifest(manifest)
    assert entries["genome.fa.gz"].size_bytes == len(PAYLOAD)
    assert entries["raw.bin"].size_bytes is None and entries["raw.bin"].description == ""
    fetch(manifest, "genome.fa.gz", tmp_path / "dl" / "genome.fa.gz")
    assert (tmp_path / "dl" / "genome.fa.gz").read_bytes() == PAYLOAD
    with pytest.raises(UnpinnedError):
        fetch(manifest, "raw.bin", tmp_path / "dl" / "raw.bin")
    with pytest.raises(ManifestError, match="no entry named 'absent'"):
        fetch(manifest, "absent", tmp_path / "dl" / "absent")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "empty manifest"),
        ("name\turl\tchecksum\n", ":1: header must be"),
        (HEADER + "a\thttp://h/a\tmd5:123\t\t\n", ":2: md5 checksum must be 32 hex"),
        (HEADER + "a\thttp://h/a\tcrc:1\t\t\n", ":2: unknown checksum"),
        (HEADER + "a\tgopher://h/a\tunpinned\t\t\n", ":2: URL scheme"),
        (HEADER + "a/b\thttp://h/a\tunpinned\t\t\n", ":2: name 'a/b'"),
        (HEADER + "a\thttp://h/a\tunpinned\t1.5GB\t\n", ":2: size_bytes"),
        (HEADER + "a\thttp://h/a\n", ":2: expected 5 tab-separated fields"),
        (HEADER + "a\thttp://h/a\tunpinned\n#x\na\thttp://h/b\tunpinned\n", ":4: duplicate"),
    ],
)
def test_manifest_errors(tmp_path: Path, body: str, message: str) -> None:
    manifest = tmp_path / "downloads.tsv"
    manifest.write_text(body)
    with pytest.raises(ManifestError, match=message) as err:
        read_manifest(manifest)
    assert str(manifest) in str(err.value)


def test_repository_manifest_is_valid() -> None:
    entries = read_manifest(Path(__file__).parents[1] / "resources" / "downloads.tsv")
    assert {"deepsea_train_bundle.v0.9.tar.gz", "hg19.fa.gz"} <= set(entries)


def make_tar(path: Path, files: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_extract_all_and_selected(tmp_path: Path) -> None:
    archive = make_tar(
        tmp_path / "bundle.tar.gz",
        {"deepsea_train/train.mat": b"t", "deepsea_train/valid.mat": b"v", "README": b"r"},
    )
    out = tmp_path / "all"
    files = extract_tar(archive, out)
    assert files == [
        out / "README",
        out / "deepsea_train/train.mat",
        out / "deepsea_train/valid.mat",
    ]
    assert (out / "deepsea_train" / "valid.mat").read_bytes() == b"v"
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask  # not mkdtemp's 0700

    flat = tmp_path / "flat"
    flat.mkdir()  # Snakemake creates output folders before the job runs
    got = extract_tar(archive, flat, members=["train.mat", "valid.mat"], flatten=True)
    assert got == [flat / "train.mat", flat / "valid.mat"]
    assert leftovers(flat) == ["train.mat", "valid.mat"]
    assert leftovers(tmp_path) == ["all", "bundle.tar.gz", "flat"]

    with pytest.raises(ArchiveError, match="no member 'test.mat'"):
        extract_tar(archive, tmp_path / "missing", members=["test.mat"])
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "ok/../../evil.txt"])
def test_extract_rejects_escaping_paths(tmp_path: Path, name: str) -> None:
    archive = make_tar(tmp_path / "bad.tar", {"good.txt": b"g", name: b"e"}, mode="w")
    dest = tmp_path / "out"
    with pytest.raises(ArchiveError, match="escapes"):
        extract_tar(archive, dest)
    assert leftovers(tmp_path) == ["bad.tar"]


def test_extract_rejects_link_outside(tmp_path: Path) -> None:
    archive = tmp_path / "link.tar"
    with tarfile.open(archive, "w") as tar:
        link = tarfile.TarInfo("escape")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../etc/passwd"
        tar.addfile(link)
    with pytest.raises(ArchiveError, match="unsafe member"):
        extract_tar(archive, tmp_path / "out")
    assert leftovers(tmp_path) == ["link.tar"]
