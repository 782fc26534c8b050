"""The workflow on a real SLURM cluster, through the README's `snakemake --profile slurm`.

A single-node cluster (Debian's slurm-wlm, see tests/slurm/cluster.py) runs the tiny
config tests/slurm/config.yaml (data and search stages) with GPU requests switched on.
Then two search jobs are stopped part-way, one by `scancel`, one by its 1-minute time
limit, and rerunning the same command resumes both from their checkpoints to the same
architectures as the uninterrupted run.

Needs root (apt-get, daemons): skipped without root, unless CI=true, where it fails.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from amber.nas.loop import MACHINE_FIELDS

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
CONFIG = "tests/slurm/config.yaml"
GPU = "tests/slurm/gpu.yaml"
TIME_LIMIT = "tests/slurm/time_limit.yaml"
SETTINGS = yaml.safe_load((ROOT / CONFIG).read_text())
RUN = SETTINGS["run"]
STEPS = SETTINGS["search"]["steps"]
OUT = ROOT / "results" / RUN
LOGS = ROOT / "logs" / RUN
SEARCHED = [f"searched_{i}" for i in range(1, SETTINGS["search"]["n_searched"] + 1)]
TARGETS = [
    f"results/{RUN}/data/dataset.json",
    *(f"results/{RUN}/search/{name}/arch.json" for name in SEARCHED),
    f"results/{RUN}/search/sampled_1/arch.json",
]
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")


def _load_cluster_module():
    spec = importlib.util.spec_from_file_location("slurm_cluster", ROOT / "tests/slurm/cluster.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


slurm_cluster = _load_cluster_module()


def _rule_blocks(path: Path) -> dict[str, str]:
    """rule name -> its text, for every `rule NAME:` in a Snakemake file."""
    lines = path.read_text().splitlines()
    blocks = {}
    for i, line in enumerate(lines):
        if match := re.match(r"^(\s*)rule (\w+):", line):
            indent, body = len(match[1]), []
            for following in lines[i + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following)
            blocks[match[2]] = "\n".join(body)
    return blocks


def test_every_rule_states_threads_and_resources() -> None:
    """What a scheduler needs from every rule that runs something: threads, memory and
    wall time (GPU rules through gpu_resources, which also adds gpu=1)."""
    rules = {}
    for path in [ROOT / "workflow/Snakefile", *sorted((ROOT / "workflow/rules").glob("*.smk"))]:
        rules.update(_rule_blocks(path))
    runs_something = {n: b for n, b in rules.items() if re.search(r"\b(shell|run|script):", b)}
    assert "search_architecture" in runs_something
    for name, block in runs_something.items():
        assert re.search(r"^\s*threads:", block, re.M), f"rule {name} states no threads"
        resources = block.split("resources:", 1)[-1] if "resources:" in block else ""
        stated = "gpu_resources(" in resources or ("mem_mb" in resources and "runtime" in resources)
        assert stated, f"rule {name} states no mem_mb and runtime"


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/paper.yaml"])
def test_slurm_profile_dry_run(configfile: str) -> None:
    """`--profile slurm` finds the shipped profile from the repository root; every job
    gets memory and a time limit; the paper config (cluster.gpu) asks for a GPU."""
    result = subprocess.run(
        [str(VENV_BIN / "snakemake"), "--profile", "slurm", "-n", "--forceall"]
        + ["--configfile", configfile],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    profiles = "Using profiles slurm and workflow specific profile workflow/profiles/default"
    assert profiles in result.stderr
    jobs = re.findall(r"^rule (\w+):\n(.*?)(?=\n\n|\Z)", result.stdout, re.M | re.S)
    assert jobs
    for name, block in jobs:
        if name == "all":
            continue
        resources = re.search(r"resources: (.*)", block)[1]
        assert re.search(r"\bmem_mb=\d+", resources), f"{name}: {resources}"
        assert re.search(r"\bruntime=\d+", resources), f"{name}: {resources}"
        if name == "search_architecture" and configfile.endswith("paper.yaml"):
            assert "gpu=1" in resources


@pytest.fixture(scope="module")
def cluster() -> Iterator[slurm_cluster.Cluster]:
    if os.geteuid() != 0:
        message = "the SLURM test installs and starts a cluster, which needs root"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI=true, so it must run: run the tests as root")
        pytest.skip(f"{message} (with CI=true this is a failure)")
    slurm_cluster.install(timeout_s=600)
    # Under /tmp: munged, running as user munge, must reach its socket in this folder.
    root = Path(tempfile.mkdtemp(prefix="amber-slurm-", dir="/tmp"))
    try:
        running = slurm_cluster.start(root, timeout_s=60)
        yield running
        slurm_cluster.stop(running)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class Finished:
    returncode: int
    output: str
    seconds: float

    def job_ids(self) -> list[str]:
        """SLURM job ids that Snakemake reported submitting."""
        return [match[0] for match in SUBMITTED.findall(self.output)]


class Snakemake:
    """`snakemake --profile slurm` in the background, its output in a file."""

    def __init__(self, cluster, log: Path, *configfiles: str, targets: list[str]) -> None:
        self.cluster = cluster
        self.log = log
        # The README's command, plus what only this test cluster needs: it has no
        # accounting database, so job states come from squeue; a short first status
        # check; SLURM's job logs kept in the cluster's folder for the checks below.
        self.args = [
            str(VENV_BIN / "snakemake"), "--profile", "slurm",
            "--configfile", *configfiles,
            "--slurm-status-command", "squeue",
            "--slurm-init-seconds-before-status-checks", "8",
            "--slurm-keep-successful-logs",
            "--slurm-logdir", str(cluster.root / "slurm_logs"),
            *targets,
        ]  # fmt: skip
        env = {**cluster.env, "PATH": f"{VENV_BIN}{os.pathsep}{cluster.env['PATH']}"}
        self.started = time.monotonic()
        with open(log, "w") as handle:
            self.process = subprocess.Popen(
                self.args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float) -> Finished:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(
                f"snakemake still running after {timeout:.0f} s:\n{self.output()[-4000:]}"
            ) from None
        return Finished(self.process.returncode, self.output(), time.monotonic() - self.started)

    def stop(self) -> None:
        """Ctrl-C (Snakemake then cancels its SLURM jobs), SIGKILL if that hangs."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        unlock = [*self.args[:3], "--configfile", CONFIG, "--unlock"]
        subprocess.run(unlock, cwd=ROOT, env=self.cluster.env, capture_output=True, timeout=60)


def run_snakemake(cluster, log: Path, *configfiles: str, targets: list[str]) -> Finished:
    return Snakemake(cluster, log, *configfiles, targets=targets).wait(timeout=300)


def history(path: Path) -> list[dict[str, str]]:
    """history.csv without the columns that measure the machine (timings, memory)."""
    with open(path, newline="") as handle:
        rows = csv.DictReader(handle)
        return [{k: v for k, v in row.items() if k not in MACHINE_FIELDS} for row in rows]


def clean_outputs() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    shutil.rmtree(LOGS, ignore_errors=True)


@pytest.fixture(scope="module")
def reference(cluster, tmp_path_factory) -> Iterator[dict]:
    """The whole tiny run through SLURM, search rules asking for a GPU."""
    clean_outputs()
    log = tmp_path_factory.mktemp("slurm") / "reference.log"
    run = run_snakemake(cluster, log, CONFIG, GPU, targets=TARGETS)
    assert run.returncode == 0, run.output[-6000:]
    print(f"reference run through SLURM: {run.seconds:.0f} s")
    yield {
        "run": run,
        "arch": {name: (OUT / "search" / name / "arch.json").read_text() for name in SEARCHED},
        "history": {name: history(OUT / "search" / name / "history.csv") for name in SEARCHED},
    }
    clean_outputs()


def test_every_job_ran_as_a_slurm_job(cluster, reference) -> None:
    run = reference["run"]
    ids = run.job_ids()
    rules = sorted(cluster.job(job_id)["Comment"].split("_wildcards_")[0] for job_id in ids)
    assert rules == sorted(
        ["rule_simulate_genome", "rule_make_dataset", "rule_sample_architecture"]
        + ["rule_search_architecture"] * len(SEARCHED)
    )
    for job_id, slurm_log in SUBMITTED.findall(run.output):
        job = cluster.job(job_id)
        assert job["JobState"] == "COMPLETED", job
        assert job["WorkDir"] == str(ROOT)
        # SLURM wrote the job's own log: Snakemake running the one rule inside the job.
        text = Path(slurm_log).read_text()
        assert "--executor slurm-jobstep" in text
        assert f"rule {job['Comment'].split('_wildcards_')[0].removeprefix('rule_')}:" in text
    summary = json.loads((OUT / "data" / "dataset.json").read_text())
    assert summary["counts"]["train"] > 0
    for name in SEARCHED:
        assert len(reference["history"][name]) == STEPS
        assert json.loads(reference["arch"][name])
    assert (OUT / "search" / "sampled_1" / "arch.json").exists()


def test_gpu_request_reaches_slurm(cluster, reference) -> None:
    """With `cluster: {gpu: true}` the search jobs ask SLURM for a GPU; others do not."""
    for job_id in reference["run"].job_ids():
        job = cluster.job(job_id)
        if job["Comment"].startswith("rule_search_architecture"):
            assert job.get("TresPerJob") == "gres:gpu:1", job
        else:
            assert "gpu" not in job.get("TresPerJob", ""), job


def _search_job(cluster, name: str, after: int) -> str | None:
    """Id of the running SLURM job of search `name` submitted after job id `after`."""
    comment = f"rule_search_architecture_wildcards_{name.removeprefix('searched_')}"
    for job_id, (state, job_comment) in cluster.jobs().items():
        if int(job_id) > after and job_comment == comment and state == "RUNNING":
            return job_id
    return None


def _amber_search_pid(cluster, job_id: str) -> int:
    """The `amber search` process among the processes of a SLURM job."""
    listing = cluster.client("scontrol", "listpids", job_id)
    for line in listing.splitlines()[1:]:
        pid = line.split()[0]
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if any(Path(a).name == "amber" for a in argv) and "search" in argv:
            return int(pid)
    raise AssertionError(f"no amber search process in SLURM job {job_id}:\n{listing}")


@pytest.fixture(scope="module")
def interrupted(cluster, reference, tmp_path_factory) -> dict:
    """Both searches again with a 1-minute time limit: searched_1 is cancelled with
    scancel after its first checkpoint; searched_2 is frozen (SIGSTOP) after its first
    checkpoint, so that it is still running when SLURM's time limit kills it. Then the
    same command is run again."""
    cancelled, timed_out = SEARCHED
    for name in SEARCHED:
        shutil.rmtree(OUT / "search" / name)
    logs = tmp_path_factory.mktemp("slurm_faults")
    last_id = max(int(job_id) for job_id in reference["run"].job_ids())
    first = Snakemake(cluster, logs / "first.log", CONFIG, TIME_LIMIT, targets=TARGETS)
    jobs: dict[str, str] = {}
    steps_done: dict[str, int] = {}
    deadline = time.monotonic() + 180
    try:
        while len(steps_done) < 2 and first.process.poll() is None:
            assert time.monotonic() < deadline, "searches did not start within 180 s"
            for name in set(SEARCHED) - set(steps_done):
                jobs[name] = jobs.get(name) or _search_job(cluster, name, last_id)
                done = OUT / "search" / name / "history.csv"
                if jobs[name] and done.exists():  # written after the checkpoint of a step
                    if name == cancelled:
                        cluster.client("scancel", jobs[name])
                    else:
                        os.kill(_amber_search_pid(cluster, jobs[name]), signal.SIGSTOP)
                    steps_done[name] = len(history(done))
            time.sleep(0.1)
        assert len(steps_done) == 2, f"searches not stopped part-way:\n{first.output()[-4000:]}"
    except BaseException:
        first.stop()
        raise
    failed = first.wait(timeout=300)
    rerun = run_snakemake(cluster, logs / "rerun.log", CONFIG, TIME_LIMIT, targets=TARGETS)
    print(f"interrupted run {failed.seconds:.0f} s, rerun {rerun.seconds:.0f} s")
    return {
        "jobs": jobs,
        "steps_done": steps_done,
        "failed": failed,
        "rerun": rerun,
        "cancelled": cancelled,
        "timed_out": timed_out,
    }


def _check_resumed(interrupted: dict, reference: dict, name: str) -> None:
    assert interrupted["failed"].returncode != 0
    rerun = interrupted["rerun"]
    assert rerun.returncode == 0, rerun.output[-6000:]
    assert 1 <= interrupted["steps_done"][name] < STEPS
    log = (LOGS / "search_architecture" / f"{name}.log").read_text()
    resumed = re.search(r"resuming search from \S+ after step (\d+)", log)
    assert resumed, log
    assert 1 <= int(resumed[1]) < STEPS
    assert (OUT / "search" / name / "arch.json").read_text() == reference["arch"][name]
    assert history(OUT / "search" / name / "history.csv") == reference["history"][name]


def test_cancelled_search_resumes_from_its_checkpoint(cluster, reference, interrupted) -> None:
    name = interrupted["cancelled"]
    job_id = interrupted["jobs"][name]
    job = cluster.job(job_id)
    assert job["JobState"] == "CANCELLED", job
    assert "gpu" not in job.get("TresPerJob", ""), "cluster.gpu is false in this run"
    assert f"SLURM-job '{job_id}' failed, SLURM status is: 'CANCELLED'" in (
        interrupted["failed"].output
    )
    _check_resumed(interrupted, reference, name)


def test_search_killed_at_its_time_limit_resumes(cluster, reference, interrupted) -> None:
    name = interrupted["timed_out"]
    job = cluster.job(interrupted["jobs"][name])
    assert job["JobState"] == "TIMEOUT", job
    assert job["TimeLimit"] == "00:01:00"
    assert f"SLURM-job '{job['JobId']}' failed, SLURM status is: 'TIMEOUT'" in (
        interrupted["failed"].output
    )
    _check_resumed(interrupted, reference, name)
