"""Checksummed downloads of the workflow's external inputs, and safe tar extraction.

The manifest (``resources/downloads.tsv``) is a tab-separated table with the columns
``name url checksum size_bytes description``; blank lines and lines starting with ``#``
are ignored. ``name`` is also the file name under the downloads folder. ``checksum`` is
one of

- ``sha256:<64 hex>`` or ``md5:<32 hex>``: a published value, checked after download;
- ``md5file:<url>``: the provider's checksum listing (``md5sum`` format, e.g. UCSC's
  ``md5sum.txt``); the line for the basename of the entry's URL is used;
- ``unpinned``: no published value is known; :func:`download` refuses the entry unless
  ``allow_unpinned=True`` and then logs the sha256 it computed so the entry can be pinned.

``size_bytes`` is the exact size in bytes, or empty when unknown.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import re
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from amber.fileio import atomic_path, current_umask, temp_beside

log = logging.getLogger(__name__)

COLUMNS = ("name", "url", "checksum", "size_bytes", "description")
URL_SCHEMES = ("http", "https", "ftp", "file")
CHECKSUM_FORMS = "sha256:<64 hex>, md5:<32 hex>, md5file:<url> or unpinned"
_HEX_LENGTH = {"sha256": 64, "md5": 32}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_USER_AGENT = "amber-downloader (+https://github.com/zj-zhang/AMBER re-implementation)"
_TIMEOUT_S = 60
_MAX_LISTING_BYTES = 16 << 20  # a checksum listing is small; refuse anything huge


class ManifestError(ValueError):
    """A problem in the download manifest; the message names the file and line."""


class ChecksumError(ValueError):
    """A download's size or checksum differs from the expected one (nothing was kept)."""


class UnpinnedError(ValueError):
    """An entry without a published checksum was requested without ``allow_unpinned``."""


class DownloadError(OSError):
    """The URL (or a checksum listing) could not be read."""


class ArchiveError(ValueError):
    """A tar archive is unsafe (a path escapes the destination) or lacks a member."""


@dataclass(frozen=True)
class Entry:
    name: str
    url: str
    checksum: str
    size_bytes: int | None
    description: str


@dataclass(frozen=True)
class Checksum:
    """A parsed checksum spec: ``kind`` is sha256, md5, md5file or unpinned."""

    kind: str
    value: str = ""


def parse_checksum(spec: str) -> Checksum:
    """Parse a checksum spec; raise ``ValueError`` saying which forms are accepted."""
    spec = spec.strip()
    if spec == "unpinned":
        return Checksum("unpinned")
    kind, sep, value = spec.partition(":")
    if sep and kind in _HEX_LENGTH:
        value = value.lower()
        if len(value) == _HEX_LENGTH[kind] and re.fullmatch(r"[0-9a-f]+", value):
            return Checksum(kind, value)
        raise ValueError(f"{kind} checksum must be {_HEX_LENGTH[kind]} hex digits: {spec!r}")
    if sep and kind == "md5file":
        _check_url(value)
        return Checksum(kind, value)
    raise ValueError(f"unknown checksum {spec!r}; expected {CHECKSUM_FORMS}")


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in URL_SCHEMES:
        raise ValueError(f"URL scheme must be one of {', '.join(URL_SCHEMES)}: {url!r}")
    if parts.scheme != "file" and not parts.netloc:
        raise ValueError(f"URL has no host: {url!r}")
    if not parts.path or parts.path.endswith("/"):
        raise ValueError(f"URL does not name a file: {url!r}")


def _parse_row(fields: list[str]) -> Entry:
    name, url, checksum, size, description = (f.strip() for f in fields)
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"name {name!r} must be a plain file name (letters, digits, '._+-', no '/')"
        )
    _check_url(url)
    parse_checksum(checksum)
    if size and not size.isdigit():
        raise ValueError(f"size_bytes must be a whole number of bytes or empty, got {size!r}")
    return Entry(name, url, checksum, int(size) if size else None, description)


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Entry]:
    """Read and validate a manifest; :class:`ManifestError` names the file and line."""
    path = Path(path)
    entries: dict[str, Entry] = {}
    lines_of: dict[str, int] = {}
    header_seen = False
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if not header_seen:
                if tuple(f.strip() for f in fields) != COLUMNS:
                    raise ManifestError(
                        f"{path}:{lineno}: header must be the tab-separated columns "
                        f"{' '.join(COLUMNS)}, got {' '.join(fields)!r}"
                    )
                header_seen = True
                continue
            if not 3 <= len(fields) <= len(COLUMNS):
                raise ManifestError(
                    f"{path}:{lineno}: expected {len(COLUMNS)} tab-separated fields "
                    f"({' '.join(COLUMNS)}), got {len(fields)}"
                )
            fields += [""] * (len(COLUMNS) - len(fields))  # size and description optional
            try:
                entry = _parse_row(fields)
            except ValueError as exc:
                raise ManifestError(f"{path}:{lineno}: {exc}") from None
            if entry.name in entries:
                raise ManifestError(
                    f"{path}:{lineno}: duplicate name {entry.name!r} "
                    f"(first on line {lines_of[entry.name]})"
                )
            entries[entry.name] = entry
            lines_of[entry.name] = lineno
    if not header_seen:
        raise ManifestError(f"{path}: empty manifest, expected header: {' '.join(COLUMNS)}")
    return entries


def _open(url: str):
    """urlopen with a User-Agent (some servers refuse Python's default) and a timeout."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=_TIMEOUT_S)
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"cannot read {url}: {exc}") from exc


def _url_basename(url: str) -> str:
    return urllib.parse.unquote(posixpath.basename(urllib.parse.urlsplit(url).path))


def md5_from_listing(text: str, filename: str) -> str | None:
    """The md5 for ``filename`` in ``md5sum`` (``hex  name``) or BSD (``MD5 (name) = hex``)
    output; names are compared by basename, so ``./hg19.fa.gz`` matches ``hg19.fa.gz``."""
    for line in text.splitlines():
        bsd = re.fullmatch(r"\s*MD5 \((.+)\) = ([0-9a-fA-F]{32})\s*", line)
        if bsd:
            name, digest = bsd.group(1), bsd.group(2)
        else:
            gnu = re.fullmatch(r"\s*([0-9a-fA-F]{32}) [ *](.+?)\s*", line)
            if not gnu:
                continue
            digest, name = gnu.group(1), gnu.group(2)
        if posixpath.basename(name) == filename:
            return digest.lower()
    return None


def _resolve(url: str, spec: Checksum) -> Checksum:
    """Turn ``md5file:`` into the ``md5`` it lists for the URL's file name."""
    if spec.kind != "md5file":
        return spec
    with _open(spec.value) as response:
        raw = response.read(_MAX_LISTING_BYTES + 1)
    if len(raw) > _MAX_LISTING_BYTES:
        raise DownloadError(f"checksum listing {spec.value} is larger than expected")
    filename = _url_basename(url)
    digest = md5_from_listing(raw.decode("utf-8", errors="replace"), filename)
    if digest is None:
        raise ChecksumError(f"checksum listing {spec.value} has no md5 for {filename!r}")
    return Checksum("md5", digest)


def download(
    url: str,
    dest: str | os.PathLike[str],
    checksum: str,
    *,
    expected_size: int | None = None,
    allow_unpinned: bool = False,
    chunk_size: int = 1 << 20,
) -> Path:
    """Stream ``url`` (http, https, ftp or file) to ``dest`` and verify it.

    The data goes to a temporary file beside ``dest``, hashed while streaming; only after
    the size and checksum match is it renamed onto ``dest``. On any failure the temporary
    file is removed and ``dest`` is left as it was, so a partial or wrong file never
    appears under the final name. Raises :class:`ChecksumError` (mismatch),
    :class:`UnpinnedError` (``unpinned`` without ``allow_unpinned``) or
    :class:`DownloadError` (unreadable URL). Returns ``dest`` as a Path.
    """
    dest = Path(dest)
    try:
        spec = parse_checksum(checksum)
    except ValueError as exc:
        raise ChecksumError(f"{dest.name}: {exc}") from None
    if spec.kind == "unpinned" and not allow_unpinned:
        raise UnpinnedError(
            f"{dest.name}: {url} has no pinned checksum; pass allow_unpinned "
            f"(CLI: --allow-unpinned) to download it anyway and pin the sha256 it prints"
        )
    spec = _resolve(url, spec)  # before the (possibly large) download: fail early
    sha256 = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False) if spec.kind == "md5" else None
    n_bytes = 0
    with atomic_path(dest) as tmp, _open(url) as response:
        length = response.headers.get("Content-Length")
        announced = int(length) if length and length.isdigit() else None
        if expected_size is not None and announced is not None and announced != expected_size:
            raise ChecksumError(
                f"{dest.name}: size mismatch for {url}: expected {expected_size} bytes, "
                f"server announces {announced}"
            )
        progress = tqdm(
            total=expected_size or announced,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=dest.name,
            disable=None,  # no bar when not on a terminal (Snakemake logs)
        )
        with open(tmp, "wb") as out, progress:
            while block := response.read(chunk_size):
                out.write(block)
                sha256.update(block)
                if md5 is not None:
                    md5.update(block)
                n_bytes += len(block)
                progress.update(len(block))
                if expected_size is not None and n_bytes > expected_size:
                    break  # already too long: stop instead of fetching the rest
        digests = {"sha256": sha256.hexdigest(), "md5": md5.hexdigest() if md5 else ""}
        _verify(dest.name, url, spec, expected_size, n_bytes, digests)
    if spec.kind == "unpinned":
        log.warning(
            "!!! %s was downloaded UNVERIFIED (no pinned checksum). Computed sha256:%s "
            "(%d bytes). Pin it in the manifest: checksum 'sha256:%s', size_bytes %d.",
            dest,
            sha256.hexdigest(),
            n_bytes,
            sha256.hexdigest(),
            n_bytes,
        )
    else:
        log.info(
            "%s: %d bytes, %s verified, sha256:%s", dest, n_bytes, spec.kind, sha256.hexdigest()
        )
    return dest


def _verify(
    name: str,
    url: str,
    spec: Checksum,
    expected_size: int | None,
    n_bytes: int,
    digests: dict[str, str],
) -> None:
    if expected_size is not None and n_bytes != expected_size:
        got = f"{n_bytes}" if n_bytes <= expected_size else f"more than {expected_size}"
        raise ChecksumError(
            f"{name}: size mismatch for {url}: expected {expected_size} bytes, got {got}"
        )
    if spec.kind in digests and digests[spec.kind] != spec.value:
        raise ChecksumError(
            f"{name}: {spec.kind} mismatch for {url}: expected {spec.value}, "
            f"got {digests[spec.kind]}"
        )


def fetch(
    manifest_path: str | os.PathLike[str],
    name: str,
    dest: str | os.PathLike[str],
    allow_unpinned: bool = False,
) -> Path:
    """Download manifest entry ``name`` to ``dest`` with its checksum and size checks."""
    entries = read_manifest(manifest_path)
    if name not in entries:
        raise ManifestError(
            f"{manifest_path}: no entry named {name!r}; known: {', '.join(sorted(entries))}"
        )
    entry = entries[name]
    return download(
        entry.url,
        dest,
        entry.checksum,
        expected_size=entry.size_bytes,
        allow_unpinned=allow_unpinned,
    )


def _escapes(name: str) -> bool:
    """True for absolute member paths or ones that climb out with ``..``."""
    norm = posixpath.normpath(name.replace("\\", "/"))
    return norm.startswith("/") or norm == ".." or norm.startswith("../")


def _select(
    infos: list[tarfile.TarInfo], members: Iterable[str] | None, flatten: bool
) -> list[tarfile.TarInfo]:
    """Members named (by full path or base name) in ``members``, directories with contents;
    with ``flatten`` only regular files, renamed to their base names."""
    if members is None:
        chosen = list(infos)
    else:
        wanted = list(members)
        chosen, seen = [], set()
        dirs = [i.name.rstrip("/") for i in infos if i.isdir()]
        for want in wanted:
            hits = [
                i for i in infos if i.name.rstrip("/") == want or PurePosixPath(i.name).name == want
            ]
            prefixes = [d + "/" for d in dirs if d == want or PurePosixPath(d).name == want]
            hits += [i for i in infos if any(i.name.startswith(p) for p in prefixes)]
            if not hits:
                raise ArchiveError(f"no member {want!r} in archive")
            for info in hits:
                if info.name not in seen:
                    seen.add(info.name)
                    chosen.append(info)
    if not flatten:
        return chosen
    flat, names = [], {}
    for info in chosen:
        if not info.isfile():
            continue
        base = PurePosixPath(info.name).name
        if base in names:
            raise ArchiveError(f"flattening clashes: {names[base]!r} and {info.name!r}")
        names[base] = info.name
        flat.append(info.replace(name=base, deep=False))
    return flat


def extract_tar(
    archive: str | os.PathLike[str],
    dest_dir: str | os.PathLike[str],
    members: Iterable[str] | None = None,
    *,
    flatten: bool = False,
) -> list[Path]:
    """Extract ``archive`` (any tar compression) into ``dest_dir`` safely and atomically.

    ``members`` selects entries by path or base name (a directory brings its contents);
    ``flatten`` drops the archive's folders. Any member path escaping the destination is
    refused up front (:class:`ArchiveError`), and tarfile's ``"data"`` filter also refuses
    links pointing outside, device files and unsafe modes. Everything is extracted into a
    temporary folder beside ``dest_dir`` and only then moved into place, so a failure
    leaves no partial output. Returns the extracted files' paths, sorted.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    tmp = temp_beside(dest_dir, directory=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            infos = tar.getmembers()
            bad = [i.name for i in infos if _escapes(i.name)]
            if bad:
                raise ArchiveError(f"{archive}: member path escapes the destination: {bad[0]!r}")
            try:
                selected = _select(infos, members, flatten)
            except ArchiveError as exc:
                raise ArchiveError(f"{archive}: {exc}") from None
            try:
                tar.extractall(tmp, members=selected, filter="data")
            except tarfile.FilterError as exc:
                raise ArchiveError(f"{archive}: unsafe member refused: {exc}") from exc
        files = sorted(p.relative_to(tmp) for p in tmp.rglob("*") if not p.is_dir())
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp's 0700 would stay on dest_dir
        _publish(tmp, dest_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return [dest_dir / f for f in files]


def _publish(tmp: Path, dest_dir: Path) -> None:
    """Move the extracted tree into ``dest_dir`` (one rename when it does not exist yet;
    Snakemake usually creates it, then each top-level entry is renamed into it)."""
    if not dest_dir.exists():
        os.replace(tmp, dest_dir)
        return
    for entry in sorted(tmp.iterdir()):
        target = dest_dir / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)
