"""Small file helpers shared by every stage: atomic writes and feature tables."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def current_umask() -> int:
    """The process's umask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


# A full disk, a full quota, a file-size limit (ulimit -f): the write cannot succeed here.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class WriteError(OSError):
    """An output could not be written for lack of space; the message names the file."""


@contextlib.contextmanager
def naming_write_errors(target: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a no-space error inside the block ("[Errno 28] No space left on device",
    with no file name) into one naming ``target`` and saying what to do."""
    try:
        yield
    except WriteError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_SPACE:
            raise
        reason = os.strerror(exc.errno)
        raise WriteError(
            exc.errno,
            f"could not write {target}: {reason}; free space on its file system "
            "(or raise the file-size limit), then rerun",
        ) from exc


def temp_beside(final: Path, *, directory: bool = False) -> Path:
    """A new temporary file (or folder) ``.<name>.<random>.tmp`` beside ``final``.

    Temporaries left beside ``final`` by an earlier writer that was killed (SIGKILL, a
    node crash) are removed first: only one job writes a given output at a time, so they
    are garbage, and a rerun must not leave them (GB-sized, for a download) behind.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{final.name}."
    # tempfile's random part is 8 characters without dots, so "x.json"'s temporaries
    # are not taken for "x"'s.
    for stale in glob.glob(glob.escape(str(final.parent / prefix)) + "?" * 8 + ".tmp"):
        if "." in Path(stale).name[len(prefix) : -4]:
            continue
        if os.path.isdir(stale) and not os.path.islink(stale):
            shutil.rmtree(stale, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
    if directory:
        return Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=final.parent))
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=final.parent)
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def scratch_dir(final: Path) -> Iterator[Path]:
    """A private working folder ``.<name>.<random>.tmp`` beside ``final``, removed on exit.

    Beside the outputs (same disk, sized like them) and named by ``temp_beside``, so the
    next run sweeps what a killed one left behind.
    """
    tmp = temp_beside(final, directory=True)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    A step that fails (or is killed) therefore never leaves a half-written output
    under the final name, which is what Snakemake and users rely on.
    """
    final = Path(path)
    tmp_path = temp_beside(final)
    # mkstemp creates 0600 files; give outputs the usual umask-based mode instead.
    os.chmod(tmp_path, 0o666 & ~current_umask())
    try:
        with naming_write_errors(final):
            yield tmp_path
            # On disk before the rename: after a crash the final name holds old or new.
            with open(tmp_path, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def save_torch(obj: object, path: str | os.PathLike[str]) -> None:
    """``torch.save`` atomically, byte-identical for equal contents.

    Saved through a file handle, so the zip's record prefix is the constant "archive"
    rather than the temporary file's random name (which made equal runs differ).
    """
    import torch

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        try:
            torch.save(obj, handle)
        except RuntimeError as exc:  # torch's zip writer hides the OSError behind it
            raise WriteError(
                errno.EIO,
                f"could not write {path} ({' '.join(str(exc).split())}): is its file "
                "system full (or a file-size limit reached)? Free space, then rerun",
            ) from exc


def load_torch(
    path: str | os.PathLike[str],
    *,
    kind: str = "checkpoint",
    fix: str = "delete it to start afresh",
) -> dict:
    """A file written by ``torch.save`` (a resume checkpoint, or a model's weights),
    loaded without running code.

    ``weights_only=True``: a file planted in a copied or shared run folder can hold
    tensors and plain Python values only, never a pickled object that executes on load.
    A truncated, empty or foreign file is refused with one line naming it, the ``kind``
    of file expected and what to do (``fix``).
    """
    import pickle
    import zipfile

    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (EOFError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RuntimeError(f"{path} is not a readable {kind} ({reason[:200]}); {fix}") from None
    if not isinstance(payload, dict):
        raise RuntimeError(f"{path} is not a {kind} of this program; {fix}")
    return payload
