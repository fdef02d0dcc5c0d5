"""A portable Beam runner on one machine: Beam's Python job service and an EXTERNAL SDK worker pool, the same
submission path (job service + workers outside the submitting process) that Flink, Spark and Dataflow use."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

STARTUP_TIMEOUT_S = 60.0


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that nothing listens on right now (all bound at once, so distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{' '.join(process.args)} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{' '.join(process.args)}: nothing listens on port {port} after {STARTUP_TIMEOUT_S:.0f} s"
                ) from None
            time.sleep(0.2)


@contextlib.contextmanager
def local_portable_runner(log_dir: Path):
    """Starts both services, yields the Beam pipeline args that submit to them, stops them on exit.

    The pool starts each worker as `python` from PATH with the pool's own environment, so both are set here: this
    interpreter's directory first, and TF_USE_LEGACY_KERAS (such workers import no Beam plugins)."""
    job_port, pool_port = free_ports(2)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "TF_USE_LEGACY_KERAS": "1",
    }
    services = {
        "job_service": ("apache_beam.runners.portability.local_job_service_main", f"--port={job_port}"),
        "worker_pool": ("apache_beam.runners.worker.worker_pool_main", f"--service_port={pool_port}"),
    }
    processes = {}
    try:
        for name, (module, flag) in services.items():
            with open(Path(log_dir) / f"{name}.log", "w") as log:
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", module, flag], env=env, stdout=log, stderr=subprocess.STDOUT
                )
        _wait_for_port(job_port, processes["job_service"])
        _wait_for_port(pool_port, processes["worker_pool"])
        yield (
            "--runner=PortableRunner",
            f"--job_endpoint=localhost:{job_port}",
            "--environment_type=EXTERNAL",
            f"--environment_config=localhost:{pool_port}",
        )
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=30)
