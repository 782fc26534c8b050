"""Running the Snakemake workflow from tests: in the repository, or in a copy of it (so
that two runs of one config can be compared), and comparing the results of two runs."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--configfile", "tests/configs/tiny.yaml"]
# What a run needs besides the installed `amber` package.
WORKFLOW_PARTS = ["workflow", "config", "resources", "envs", "tests/configs"]
# Fields that measure the machine, not the computation: wall time and memory. They are
# the only things allowed to differ between two runs of one config on one machine.
TIMING_FIELDS = frozenset(
    {
        "seconds",
        "seconds_this_run",
        "train_seconds",
        "score_seconds",
        "attribution_seconds",
        "peak_rss_mb",
    }
)
# Written into the run folder by a test, not by the workflow.
NOT_OUTPUTS = frozenset({"report.html"})


def snakemake_env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def snakemake_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", *args]


def snakemake(*args: str, cwd: Path = ROOT, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        snakemake_cmd(*args),
        cwd=cwd,
        env=snakemake_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def copy_workflow(dest: Path) -> Path:
    """A fresh working directory holding the workflow, as a new clone would."""
    for part in WORKFLOW_PARTS:
        shutil.copytree(ROOT / part, dest / part)
    return dest


def _without_timing(path: Path, data: bytes) -> bytes:
    if path.suffix == ".json":
        value = json.loads(data)

        def strip(node):
            if isinstance(node, dict):
                return {k: strip(v) for k, v in node.items() if k not in TIMING_FIELDS}
            if isinstance(node, list):
                return [strip(v) for v in node]
            return node

        return json.dumps(strip(value), sort_keys=True).encode()
    if path.suffix in {".csv", ".tsv"}:
        dialect = "excel" if path.suffix == ".csv" else "excel-tab"
        rows = list(csv.reader(io.StringIO(data.decode()), dialect=dialect))
        if rows:
            keep = [i for i, name in enumerate(rows[0]) if name not in TIMING_FIELDS]
            return "\n".join("\x1f".join(row[i] for i in keep) for row in rows).encode()
    return data


def comparable_outputs(run_dir: Path) -> dict[str, bytes]:
    """Every output file of a run (relative path -> bytes), timing fields removed from
    JSON, CSV and TSV files; every other file as its exact bytes."""
    return {
        str(path.relative_to(run_dir)): _without_timing(path, path.read_bytes())
        for path in sorted(run_dir.rglob("*"))
        if path.is_file() and path.name not in NOT_OUTPUTS
    }


def differences(a: dict[str, bytes], b: dict[str, bytes]) -> list[str]:
    only = sorted(set(a) ^ set(b))
    return [f"only in one run: {name}" for name in only] + [
        f"differs: {name}" for name in sorted(set(a) & set(b)) if a[name] != b[name]
    ]
