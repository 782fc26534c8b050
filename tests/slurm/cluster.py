"""A throw-away single-node SLURM cluster for the tests.

Debian's slurm-wlm packages (``slurmctld slurmd slurm-client munge``), started without
systemd. Everything the running cluster needs (slurm.conf, gres.conf, state, logs, pid
files, its own munge key and socket) lives in one folder, and clients find it through
``SLURM_CONF`` (``Cluster.env``), so no file under /etc is written and no other program on
the machine sees the cluster. The node advertises one GPU without hardware
(``Gres=gpu:1``) so that GPU requests can be scheduled. Installing and starting need
root; every wait has a deadline.

By hand, e.g. to try the README's ``snakemake --profile slurm``::

    python tests/slurm/cluster.py start /tmp/amber-slurm   # prints export SLURM_CONF=...
    python tests/slurm/cluster.py stop /tmp/amber-slurm
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
BINARIES = (
    *("slurmctld", "slurmd", "munged"),
    *("sbatch", "srun", "squeue", "scontrol", "scancel", "sinfo"),
)
NODE = "amber-node"
# Daemons in the order they are stopped, with the pid file each writes.
DAEMONS = (("slurmd", "slurmd.pid"), ("slurmctld", "slurmctld.pid"), ("munged", "munge/munged.pid"))
ACTIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "STOPPED"}


class ClusterError(RuntimeError):
    """The cluster could not be installed, started or queried."""


@dataclass(frozen=True)
class Cluster:
    root: Path

    @property
    def env(self) -> dict[str, str]:
        """Environment for SLURM clients (sbatch, squeue, Snakemake's SLURM executor)."""
        path = f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**os.environ, "SLURM_CONF": str(self.root / "slurm.conf"), "PATH": path}

    def client(self, *args: str, timeout: float = 20, check: bool = True) -> str:
        """Run a SLURM client command against this cluster and return its stdout."""
        try:
            result = subprocess.run(
                args, env=self.env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"{' '.join(args)} did not answer within {timeout} s") from exc
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def job(self, job_id: str) -> dict[str, str]:
        """`scontrol show job` as a dict (finished jobs stay for MinJobAge, 15 min)."""
        text = self.client("scontrol", "show", "job", "--oneliner", str(job_id))
        return dict(re.findall(r"(\S+?)=(\S*)", text))

    def jobs(self) -> dict[str, tuple[str, str]]:
        """job id -> (state, comment) of every job squeue still knows, finished ones too."""
        out = self.client("squeue", "--states=all", "--noheader", "--format=%i|%T|%k")
        rows = (line.split("|", 2) for line in out.splitlines() if line.strip())
        return {job_id: (state, comment) for job_id, state, comment in rows}

    def log_tail(self, lines: int = 20) -> str:
        parts = []
        for name in ("log/slurmctld.log", "log/slurmd.log", "munge/etc/munged.log"):
            path = self.root / name
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path}\n" + "\n".join(tail))
        return "\n".join(parts)


def _run(args: list[str], timeout: float, env: dict[str, str] | None = None) -> str:
    """Run a set-up command; a failure or timeout is a ClusterError with its output."""
    try:
        result = subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"{' '.join(args)} did not finish within {timeout:.0f} s") from exc
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise ClusterError(f"{' '.join(args)} failed:\n" + "\n".join(output))
    return result.stdout


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def install(timeout_s: float = 600) -> None:
    """Install the SLURM and munge packages with apt-get unless they are there already."""
    if not missing_binaries():
        return
    install_cmd = " ".join(("apt-get install --no-install-recommends", *PACKAGES))
    if os.geteuid() != 0:
        raise ClusterError(f"SLURM is not installed and installing it needs root: {install_cmd}")
    if shutil.which("apt-get") is None:
        raise ClusterError(f"no apt-get to install SLURM with; install by hand: {install_cmd}")
    deadline = time.monotonic() + timeout_s
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    try:
        _run(install, deadline - time.monotonic(), env)
    except ClusterError:
        # Fresh images often have no package lists yet.
        _run(["apt-get", "update", "-q"], deadline - time.monotonic(), env)
        _run(install, deadline - time.monotonic(), env)
    if missing := missing_binaries():
        raise ClusterError(f"{install_cmd} left these commands missing: {', '.join(missing)}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ClusterError("no MemTotal in /proc/meminfo")


def write_config(root: Path) -> Path:
    """slurm.conf and gres.conf for one node with all CPUs, 90 % of RAM and one GPU."""
    template = (HERE / "slurm.conf.in").read_text()
    conf = root / "slurm.conf"
    conf.write_text(
        template.format(
            root=root,
            host=socket.gethostname().split(".")[0],
            ctld_port=_free_port(),
            slurmd_port=_free_port(),
            node=NODE,
            cpus=len(os.sched_getaffinity(0)),
            mem_mb=int(_memory_mb() * 0.9),
        )
    )
    # A GPU needs a device file; SLURM only checks that it is a character device.
    (root / "gres.conf").write_text(f"NodeName={NODE} Name=gpu File=/dev/null\n")
    # Inside a job, Snakemake's slurm-jobstep executor removes every SLURM_* variable,
    # SLURM_CONF too, before it calls srun; on a real cluster srun finds /etc/slurm.
    # This srun, first on the clients' PATH, puts the test cluster's config back.
    srun = shutil.which("srun")
    if srun is None:
        raise ClusterError("no srun on PATH (package slurm-client)")
    wrapper = root / "bin" / "srun"
    wrapper.parent.mkdir(exist_ok=True)
    wrapper.write_text(f'#!/bin/sh\nSLURM_CONF="{conf}" exec {srun} "$@"\n')
    wrapper.chmod(0o755)
    return conf


def _start_munge(root: Path, timeout: float) -> None:
    """munged as user munge, with its own key and socket under root/munge."""
    munge = pwd.getpwnam("munge")
    sock_dir, private = root / "munge", root / "munge" / "etc"
    for folder, mode in ((sock_dir, 0o755), (private, 0o700)):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, munge.pw_uid, munge.pw_gid)
        folder.chmod(mode)
    key = private / "munge.key"
    key.write_bytes(os.urandom(128))
    os.chown(key, munge.pw_uid, munge.pw_gid)
    key.chmod(0o600)
    _run(
        [
            "runuser", "-u", "munge", "--", "munged",
            f"--socket={sock_dir / 'munge.socket'}",
            f"--key-file={key}",
            f"--pid-file={sock_dir / 'munged.pid'}",
            f"--log-file={private / 'munged.log'}",
            f"--seed-file={private / 'munged.seed'}",
        ],
        timeout,
    )  # fmt: skip


def start(root: Path, timeout_s: float = 60) -> Cluster:
    """Start munged, slurmctld and slurmd; return once the node is idle."""
    if os.geteuid() != 0:
        raise ClusterError("starting the SLURM test cluster needs root")
    root = Path(root)
    for sub in ("state", "spool", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    # munged (user munge) must reach its socket: every folder on the way must be open.
    root.chmod(0o755)
    deadline = time.monotonic() + timeout_s
    cluster = Cluster(root)
    write_config(root)
    try:
        _start_munge(root, deadline - time.monotonic())
        _run(["slurmctld", "-c"], deadline - time.monotonic(), cluster.env)
        _run(["slurmd", "-N", NODE], deadline - time.monotonic(), cluster.env)
        state = ""
        while time.monotonic() < deadline:
            state = cluster.client("sinfo", "--noheader", "--Node", "--format=%T", check=False)
            if state.strip() == "idle":
                return cluster
            time.sleep(0.2)
        raise ClusterError(f"node {NODE} not idle after {timeout_s:.0f} s (sinfo: {state!r})")
    except BaseException as exc:
        logs = cluster.log_tail()
        stop(cluster)
        if isinstance(exc, ClusterError):
            raise ClusterError(f"{exc}\n{logs}") from exc
        raise


def _is_daemon(pid: int, name: str) -> bool:
    """The pid still belongs to the daemon (not to a process that reused the number)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return Path(cmdline.decode(errors="replace")).name == name


def _stop_pid(pid: int, name: str, timeout: float) -> None:
    if not _is_daemon(pid, name):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _is_daemon(pid, name):
        time.sleep(0.1)
    if _is_daemon(pid, name):
        os.kill(pid, signal.SIGKILL)


def stop(cluster: Cluster, timeout_s: float = 30) -> None:
    """Cancel the cluster's jobs, then stop its daemons by the pids in their pid files."""
    deadline = time.monotonic() + timeout_s
    try:
        active = [j for j, (state, _) in cluster.jobs().items() if state in ACTIVE]
        if active:
            cluster.client("scancel", *active, check=False)
        while active and time.monotonic() < deadline - 10:
            active = [j for j, (state, _) in cluster.jobs().items() if state in ACTIVE]
            time.sleep(0.2)
    except ClusterError:
        pass  # the controller does not answer: nothing left to cancel through it
    for name, pid_file in DAEMONS:
        path = cluster.root / pid_file
        if path.exists():
            text = path.read_text().strip()
            if text.isdigit():
                _stop_pid(int(text), name, max(1.0, min(10.0, deadline - time.monotonic())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("root", type=Path, help="folder for the cluster's files")
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            install()
            cluster = start(args.root.resolve())
            print(f"export SLURM_CONF={cluster.root / 'slurm.conf'}")
        else:
            stop(Cluster(args.root.resolve()))
    except ClusterError as exc:
        print(f"cluster {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
