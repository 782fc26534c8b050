"""Same config, same results, byte for byte: two runs of the tiny config from scratch,
and a run whose Snakemake process group is SIGKILLed at three random points (as a node
crash would) and then finished, give the same files as the uninterrupted run.

Timing fields (wall seconds, peak memory; ``workflow_runs.TIMING_FIELDS``) are the only
values allowed to differ. A SLURM job killed part-way is covered by tests/test_slurm.py.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
from pathlib import Path

from workflow_runs import (
    TINY,
    comparable_outputs,
    copy_workflow,
    differences,
    snakemake,
    snakemake_cmd,
    snakemake_env,
)

KILL_SEED = 20261130
RUN = ["--cores", "2", "--rerun-incomplete", *TINY]


def test_two_runs_from_scratch_are_byte_identical(tiny_run: Path, tmp_path: Path) -> None:
    work = copy_workflow(tmp_path / "again")
    result = snakemake(*RUN, cwd=work, timeout=1800)
    assert result.returncode == 0, result.stderr[-5000:]
    again = comparable_outputs(work / "results" / "test_tiny")
    assert len(again) > 100
    assert differences(comparable_outputs(tiny_run), again) == []


def _killed_after(work: Path, seconds: float, log: Path) -> bool:
    """Start the run and SIGKILL its whole process group after ``seconds``; False if the
    run ended first."""
    with open(log, "a") as out:
        proc = subprocess.Popen(
            snakemake_cmd(*RUN), cwd=work, env=snakemake_env(), stdout=out, stderr=out,
            start_new_session=True,
        )  # fmt: skip
        try:
            proc.wait(timeout=seconds)
            return False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
            return True


def test_a_run_killed_three_times_then_finished_matches(tiny_run: Path, tmp_path: Path) -> None:
    work = copy_workflow(tmp_path / "faulted")
    log = tmp_path / "killed_runs.log"
    rng = random.Random(KILL_SEED)
    delays = [round(rng.uniform(4, 20), 1) for _ in range(3)]  # the tiny run takes ~90 s
    for delay in delays:
        assert _killed_after(work, delay, log), f"run ended before its kill at {delay} s"
        # What a user does after a crash: release Snakemake's lock, then rerun.
        unlock = snakemake("--unlock", *TINY, cwd=work)
        assert unlock.returncode == 0, unlock.stderr[-3000:]
    final = snakemake(*RUN, cwd=work, timeout=1800)
    assert final.returncode == 0, final.stderr[-5000:]
    faulted = comparable_outputs(work / "results" / "test_tiny")
    assert differences(comparable_outputs(tiny_run), faulted) == [], (
        f"kills after {delays} s; log: {log.read_text()[-3000:]}"
    )
