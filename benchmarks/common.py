"""What every benchmark records beside its numbers: the machine, versions, and the file."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine_info() -> dict[str, str | int]:
    """Platform, CPU count, Python/torch/numpy versions and this checkout's commit."""
    import numpy as np
    import torch

    commit = subprocess.run(  # "-dirty" when the work tree had uncommitted changes
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--abbrev=7"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count() or 0,
        "python_version": platform.python_version(),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "amber_commit": commit,
    }


def write_result(result: dict, path: Path, hide: tuple[str, ...] = ()) -> dict:
    """Write ``result`` as JSON to ``path`` and print it (without the ``hide`` keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in hide}, indent=1))
    return result
