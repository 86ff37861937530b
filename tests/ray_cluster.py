"""A real two-node Ray cluster on 127.0.0.1, for the tests of the scan on Ray.

Each node is a ``ray start --block`` process of its own, in a session (process group)
of its own, with its own temporary folder and one CPU: the head, and a worker node
that joins it. Every process of a node (its raylet, agents and Ray workers) stays in
that node's process group, so a node is lost, or the cluster stopped, by signalling
the group of the ``ray start`` process this module started, by its PID, and nothing
else on the machine. Ports are picked free so that two runs on a machine never meet.
The nodes' folders are short ones under /tmp: Ray's socket paths must fit in 107 bytes,
which pytest's temporary folders under xdist do not leave room for.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import clearsight

RAY = Path(sys.executable).with_name("ray")
SOURCES = Path(clearsight.__file__).resolve().parents[1]

# What every process of the test cluster, and each driver, is started with. Ray's
# token authentication is off on this loopback-only cluster; a node that stops
# answering is declared dead within about three seconds (Ray's default is tens).
CLUSTER_ENV = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RayNode:
    process: subprocess.Popen[bytes]
    temp_dir: Path

    def kill(self) -> None:
        """Lose the node: SIGKILL every process of its group at once."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # The group outlives its leader: Ray's children stay in it until they end.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)


@dataclass
class RayCluster:
    address: str
    root: Path
    head: RayNode
    workers: list[RayNode] = field(default_factory=list)

    def stop(self) -> None:
        for node in [*self.workers, self.head]:
            node.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def driver_env() -> dict[str, str]:
    """The environment a driver (``clearsight scan --ray``) joins the cluster with."""
    return {**os.environ, **CLUSTER_ENV}


def start_node(
    temp_dir: Path, *, head_port: int, head: bool, cpus: int = 1, core: int | None = None
) -> RayNode:
    """One node of ``cpus`` CPUs; ``core`` pins all its processes to that core."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    pinned = ["taskset", "-c", str(core)] if core is not None else []
    arguments = [
        *pinned,
        str(RAY),
        "start",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--num-cpus={cpus}",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
        "--include-log-monitor=false",
        "--object-store-memory=100000000",
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--metrics-export-port={free_port()}",
    ]
    if head:
        arguments += [
            "--head",
            f"--port={head_port}",
            "--include-dashboard=false",
            f"--ray-client-server-port={free_port()}",
        ]
    else:
        arguments.append(f"--address=127.0.0.1:{head_port}")
    python_path = os.pathsep.join(p for p in (str(SOURCES), os.environ.get("PYTHONPATH")) if p)
    with (temp_dir / "ray-start.log").open("wb") as log:
        process = subprocess.Popen(
            arguments,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**driver_env(), "PYTHONPATH": python_path},
        )
    return RayNode(process, temp_dir)


def start_cluster(
    *,
    worker_nodes: int = 1,
    head_cpus: int = 1,
    pin: bool = False,
    timeout: float = 120,
) -> RayCluster:
    """A head and ``worker_nodes`` worker nodes of one CPU, all up and counted by the
    head; ``pin`` puts node ``i`` on core ``i``."""
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="csray-", dir="/tmp"))
    head = start_node(
        root / "head", head_port=port, head=True, cpus=head_cpus, core=0 if pin else None
    )
    cluster = RayCluster(f"127.0.0.1:{port}", root, head)
    try:
        for index in range(1, worker_nodes + 1):
            add_worker_node(cluster, core=index if pin else None)
        wait_for_nodes(cluster, 1 + worker_nodes, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def add_worker_node(cluster: RayCluster, core: int | None = None) -> None:
    """Start a worker node of one CPU that joins ``cluster`` (without waiting for it)."""
    port = int(cluster.address.rpartition(":")[2])
    temp_dir = cluster.root / f"worker-{len(cluster.workers) + 1}"
    cluster.workers.append(start_node(temp_dir, head_port=port, head=False, core=core))


def alive_nodes(address: str) -> int:
    """How many nodes the head counts alive (asked from a short-lived driver)."""
    script = (
        f"import ray; ray.init(address={address!r}, log_to_driver=False, "
        "configure_logging=False); print(sum(1 for n in ray.nodes() if n['Alive']))"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=30,
            env=driver_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return 0  # the head is not answering yet
    return int(result.stdout.strip() or 0) if result.returncode == 0 else 0


def wait_for_nodes(cluster: RayCluster, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for node in [cluster.head, *cluster.workers]:
            if node.process.poll() is not None:
                log = (node.temp_dir / "ray-start.log").read_text(errors="replace")
                raise RuntimeError(f"a Ray node exited while starting:\n{log[-2000:]}")
        if alive_nodes(cluster.address) >= count:
            return
        time.sleep(1)
    raise TimeoutError(f"the Ray cluster did not reach {count} nodes in {timeout:g} s")
