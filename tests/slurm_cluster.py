"""A real one-node SLURM cluster on this machine, for the slurm executor's tests and benchmark.

    python tests/slurm_cluster.py up DIR     # prints `export SLURM_CONF=DIR/slurm.conf`
    python tests/slurm_cluster.py down DIR

Debian's `slurm-wlm` and `munge` packages (`apt-get install -y slurm-wlm munge`, as root):
munged (started if none answers), then slurmctld and slurmd with a slurm.conf of their own in
DIR, on ports of their own, so that nothing else on the machine is touched. The node declares
this machine's CPUs and memory as `slurmd -C` reads them, and two GPUs of GRES backed by
character devices made in DIR (SLURM sets CUDA_VISIBLE_DEVICES for a task from them; no GPU
is behind them). slurmd runs in a mount namespace of its own in which DIR/hidden is an empty
tmpfs: a folder there is one the node cannot see, as a login node's local disk is to a real
cluster's nodes. Requeued tasks may start again after 5 s (cred_expire; SLURM's default,
120 s, would make the requeue test wait two minutes).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
PACKAGES = "apt-get install -y slurm-wlm munge"
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")


@dataclass(frozen=True)
class Cluster:
    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def hidden(self) -> Path:
        """A folder the node does not see (its own empty tmpfs there)."""
        return self.root / "hidden"

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *args: str) -> str:
        done = subprocess.run(args, capture_output=True, text=True, env=self.env(), timeout=60)
        return done.stdout


def unavailable() -> str | None:
    """Why a cluster cannot be started here, or None."""
    if not sys.platform.startswith("linux"):
        return "SLURM's daemons run on Linux only"
    if os.geteuid() != 0:
        return "starting slurmctld, slurmd and munged needs root"
    missing = [d for d in DAEMONS if not Path(_daemon(d)).exists()]
    if missing or shutil.which("sbatch") is None:
        return f"SLURM is not installed ({PACKAGES}; .ci/run does it)"
    if shutil.which("unshare") is None:
        return "util-linux's unshare is missing"
    return None


def start(root: Path) -> Cluster:
    """Start the cluster in `root` (made if missing); returns once its node is idle."""
    root.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(root.resolve())
    for sub in ("state", "spool", "dev", "hidden"):
        (cluster.root / sub).mkdir(exist_ok=True)
    gres = _make_gpu_devices(cluster.root / "dev")
    host = socket.gethostname().split(".")[0]
    cluster.conf.write_text(_conf(cluster.root, host, _node_line(), gres))
    if gres:
        (cluster.root / "gres.conf").write_text(f"Name=gpu File={cluster.root}/dev/nvidia[0-1]\n")
    _start_munge()
    env = cluster.env()
    subprocess.run([_daemon("slurmctld")], env=env, check=True)
    # slurmd (and so every task) in a mount namespace where `hidden` is an empty tmpfs.
    hide = f"mount -t tmpfs resbench-hidden {cluster.hidden} && exec {_daemon('slurmd')} -N {host}"
    subprocess.run(["unshare", "--mount", "sh", "-c", hide], env=env, check=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = cluster.run("sinfo", "--noheader", "--format=%t").strip()
        if state == "idle":
            return cluster
        time.sleep(0.5)
    logs = (cluster.root / "slurmctld.log").read_text(errors="replace")[-2000:]
    stop(cluster)
    raise RuntimeError(f"the SLURM node did not become idle within 60 s; slurmctld.log:\n{logs}")


def stop(cluster: Cluster) -> None:
    """Stop its slurmctld and slurmd (munged is left to whoever else may use it)."""
    subprocess.run(["scontrol", "shutdown"], env=cluster.env(), capture_output=True, timeout=30)
    for name in ("slurmd.pid", "slurmctld.pid"):
        pid_file = cluster.root / name
        deadline = time.monotonic() + 10
        while pid_file.exists() and time.monotonic() < deadline:
            try:
                os.kill(int(pid_file.read_text().strip()), 0)
            except (OSError, ValueError):
                break
            time.sleep(0.2)


def _daemon(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _start_munge() -> None:
    """munged, unless one answers already (it is the machine's one authentication service)."""
    if subprocess.run("munge -n | unmunge", shell=True, capture_output=True).returncode == 0:
        return
    MUNGE_SOCKET.parent.mkdir(parents=True, exist_ok=True)
    shutil.chown(MUNGE_SOCKET.parent, "munge", "munge")
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        subprocess.run(["mungekey", "--create"], check=True)
        shutil.chown(key, "munge", "munge")
    subprocess.run(["runuser", "-u", "munge", "--", _daemon("munged")], check=True)


def _node_line() -> str:
    """This machine as `slurmd -C` reads it: CPUs, boards, sockets, cores, threads, memory."""
    found = subprocess.run([_daemon("slurmd"), "-C"], capture_output=True, text=True).stdout
    fields = found.splitlines()[0].split()[1:]  # without NodeName=
    # Memory for tasks, less a margin for the machine itself.
    return " ".join(
        f"RealMemory={int(int(f.split('=')[1]) * 0.8)}" if f.startswith("RealMemory=") else f
        for f in fields
    )


def _make_gpu_devices(folder: Path) -> bool:
    """Two character devices for GRES to count as GPUs (the null device's numbers); False
    where devices cannot be made here."""
    for i in range(2):
        path = folder / f"nvidia{i}"
        if not path.exists():
            try:
                os.mknod(path, 0o666 | 0o020000, os.makedev(1, 3))
            except OSError:
                return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _conf(root: Path, host: str, node: str, gres: bool) -> str:
    cpus = int(next(f.split("=")[1] for f in node.split() if f.startswith("CPUs=")))
    memory = int(next(f.split("=")[1] for f in node.split() if f.startswith("RealMemory=")))
    port = _free_port()
    return f"""\
# A one-node cluster for resbench's tests (tests/slurm_cluster.py).
ClusterName=resbench
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={port}
SlurmdPort={_free_port()}
AuthType=auth/munge
AuthInfo=cred_expire=5
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ReturnToService=2
KillWait=2
MinJobAge=600
MpiDefault=none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
{"GresTypes=gpu" if gres else ""}
DefMemPerCPU={memory // max(1, cpus) // 2}
NodeName={host} NodeAddr=127.0.0.1 {node} {"Gres=gpu:2" if gres else ""} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("up", "down"):
        print(__doc__.splitlines()[2:4], file=sys.stderr)
        return 2
    root = Path(argv[1])
    if argv[0] == "down":
        stop(Cluster(root.resolve()))
        return 0
    if why := unavailable():
        print(f"no SLURM cluster: {why}", file=sys.stderr)
        return 1
    cluster = start(root)
    print(f"export SLURM_CONF={cluster.conf}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
