"""`sentence-tfx serve` under load gets SIGTERM: readiness fails while it still answers, the load balancer (here: the
test) stops sending, requests in flight finish, and the process exits 0."""

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import shutil
import signal
import subprocess
import sys
import time

import httpx

from sentence_tfx.serving.conftest import MODEL_NAME, Load, wait_for

DRAIN_SECONDS = 3


def _status(client: httpx.Client, path: str) -> int | None:
    try:
        return client.get(path).status_code
    except httpx.TransportError:  # Not listening (yet, or any more).
        return None


def test_sigterm_under_load_drains_then_exits_0(model_versions, tmp_path, free_ports):
    shutil.copytree(model_versions[1], tmp_path / "serving" / "1")
    rest_port, grpc_port = free_ports(2)
    command = [
        sys.executable,
        "-m",
        "sentence_tfx.pipeline.cli",
        "serve",
        "--model-base-path",
        str(tmp_path / "serving"),
        "--model-name",
        MODEL_NAME,
        "--rest-port",
        str(rest_port),
        "--grpc-port",
        str(grpc_port),
        "--enable-batching",
        "--tensorflow-intra-op-parallelism",
        "1",
        "--drain-seconds",
        str(DRAIN_SECONDS),
    ]
    with (tmp_path / "serve.log").open("w+") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{rest_port}", timeout=30) as probe:
                wait_for(lambda: process.poll() is not None or _status(probe, "/readyz") == 200, seconds=600)
                assert process.poll() is None
                with Load(rest_port, grpc_port, rest_clients=8, grpc_clients=4) as load:
                    time.sleep(2)
                    sigterm_at = time.monotonic()
                    process.send_signal(signal.SIGTERM)
                    wait_for(lambda: _status(probe, "/readyz") == 503)  # What a load balancer's probe sees...
                    not_ready_at = time.monotonic()
                    assert _status(probe, "/healthz") == 200  # (alive: no restart)
                    load.stop()  # ... before it stops sending.
            returncode = process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
        log.seek(0)
        output = log.read()
    in_flight = [outcome for outcome in load.outcomes if outcome.start < sigterm_at < outcome.end]
    after = [outcome for outcome in load.outcomes if outcome.start > sigterm_at]
    print(
        f"\nSIGTERM under load: {len(load.outcomes)} requests, {len(in_flight)} in flight at SIGTERM, "
        f"{len(after)} sent after it; readiness failed {1000 * (not_ready_at - sigterm_at):.0f} ms after SIGTERM; "
        f"{len(load.failures)} failed; exit status {returncode}"
    )
    assert returncode == 0, output
    assert load.failures == []
    assert in_flight and all(outcome.version == 1 for outcome in in_flight)
    assert "TensorFlow threads: intra-op 1, inter-op TensorFlow default" in output
    assert "SIGTERM: draining" in output and "Stopped serving" in output
