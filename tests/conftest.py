"""Shared pytest settings and the tiny end-to-end run several test modules read."""

import os
import shutil
from pathlib import Path

import pytest

# Keep tests reproducible and light on the 2-core CI machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def tiny_run() -> Path:
    """The whole workflow on a tiny simulated genome, run for real by Snakemake in the
    repository (results/test_tiny/)."""
    from workflow_runs import ROOT, TINY, snakemake

    out = ROOT / "results" / "test_tiny"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(ROOT / "logs" / "test_tiny", ignore_errors=True)
    result = snakemake(*TINY, "--cores", "2", timeout=1800)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    yield out
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(ROOT / "logs" / "test_tiny", ignore_errors=True)
