"""Where and in which precision to compute: one home for the search, training and scoring.

``bf16`` settings mean "bfloat16 autocast where the hardware computes it natively":
CUDA GPUs with bf16 support, and CPUs with AVX512-BF16 or AMX-BF16 (where oneDNN's bf16
convolutions are 2-3x faster than float32). Elsewhere it falls back to float32, because
emulated bf16 is slower than float32. Losses and AUROCs stay float32 in any case: the
networks' heads run outside autocast (:class:`amber.nas.ops.Head`).
"""

from __future__ import annotations

import functools
import logging
from contextlib import AbstractContextManager
from pathlib import Path

import torch


def pick_device(name: str) -> torch.device:
    """``auto`` (CUDA if present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} asked for, but torch sees no CUDA GPU")
    return torch.device(name)


@functools.cache
def _cpu_flags() -> frozenset[str]:
    """CPU features as torch reports them, else from /proc/cpuinfo (Linux)."""
    try:
        caps = torch._C._cpu._get_cpu_capability()  # private but stable since torch 2.3
        return frozenset(k for k, v in caps.items() if v is True)
    except (AttributeError, RuntimeError):
        pass
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bf16(device: torch.device) -> bool:
    """True where bfloat16 matrix maths runs in hardware on ``device``."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})
    return False


def use_bf16(requested: bool, device: torch.device) -> bool:
    """Whether a ``bf16: requested`` setting runs in bfloat16 on ``device``."""
    return requested and native_bf16(device)


def autocast(device: torch.device, enabled: bool) -> AbstractContextManager:
    """bfloat16 autocast on ``device`` when ``enabled`` (see :func:`use_bf16`)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def precision_name(enabled: bool) -> str:
    return "bfloat16 autocast" if enabled else "float32"


def save_checkpoint(path: str | Path, fingerprint: str, state: dict) -> None:
    """Write a resume checkpoint: ``state`` plus the run's ``fingerprint`` (what a resume
    must match) and CPU thread count (see :func:`resume_threads`)."""
    from amber.fileio import save_torch

    payload = {"fingerprint": fingerprint, **state, "threads": torch.get_num_threads()}
    save_torch(payload, path)


def resume_checkpoint(path: str | Path, fingerprint: str, what: str) -> dict | None:
    """The checkpoint :func:`save_checkpoint` wrote at ``path``, or None when there is none.

    A checkpoint of another run (other settings or data: another ``fingerprint``) is
    refused with one line naming it; a resumed run gets the thread count it began with.
    ``what`` names the run in that line ("search", "training run").
    """
    from amber.fileio import load_torch

    if not Path(path).exists():
        return None
    ckpt = load_torch(path)
    if ckpt.get("fingerprint") != fingerprint:
        raise RuntimeError(
            f"{path} belongs to a {what} with other settings or data; delete it to start afresh"
        )
    resume_threads(ckpt.get("threads"), path)
    return ckpt


def resume_threads(saved: int | None, checkpoint: str | Path) -> None:
    """Resume with the CPU thread count the run began with.

    CPU kernels split their sums by thread, so another count (Snakemake caps ``threads``
    at ``--cores``, so a rerun on a smaller node asks for fewer) would silently give
    another result than the uninterrupted run. Older checkpoints (None) are left alone.
    """
    now = torch.get_num_threads()
    if saved is not None and saved != now:
        logging.getLogger("amber").warning(
            "%s was written with %d CPU threads: resuming with %d (not %d) so that the result "
            "matches an uninterrupted run",
            checkpoint, saved, saved, now,
        )  # fmt: skip
        torch.set_num_threads(saved)
