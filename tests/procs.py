"""Process helpers shared by the resume tests (search, training)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def kill_once_exists(
    cmd: Sequence[str], marker: Path, env: dict[str, str], *, deadline_s: float, poll_s: float
) -> None:
    """Start ``cmd`` and SIGKILL it as soon as ``marker`` exists (or it ends, or the
    deadline passes) — a hard kill part-way through, as a crash or scancel would do."""
    proc = subprocess.Popen(list(cmd), env=env)
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and proc.poll() is None:
        if marker.exists():
            break
        time.sleep(poll_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
