"""Process helpers shared by the resume tests (search, training)."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


def kill_once_exists(
    cmd: Sequence[str],
    marker: Path,
    env: dict[str, str],
    *,
    deadline_s: float,
    poll_s: float,
    sig: int = signal.SIGKILL,
) -> subprocess.CompletedProcess:
    """Start ``cmd`` and send ``sig`` (default SIGKILL) as soon as ``marker`` exists (or it
    ends, or the deadline passes) — a kill part-way through, as a crash or scancel would
    do. Returns the exit code and stderr."""
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe that could fill up
        proc = subprocess.Popen(list(cmd), env=env, stderr=log, text=True)
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline and proc.poll() is None:
            if marker.exists():
                break
            time.sleep(poll_s)
        proc.send_signal(sig)
        proc.wait(timeout=60)
        log.seek(0)
        return subprocess.CompletedProcess(list(cmd), proc.returncode, "", log.read())
