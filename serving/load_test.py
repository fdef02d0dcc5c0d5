"""50 clients for 20 s while a new version is pushed and then a corrupt one: no request may fail."""

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import time

import httpx
import pytest

from sentence_tfx.serving import conftest as fixtures
from sentence_tfx.serving.batching import BatchingOptions

CLIENTS_PER_API = 25
SECONDS = 20
# Load kept on after the last change at least this long (several times the slowest request), so that every client's
# last answers come from version 2: under this load a version takes up to ~15 s to load on 2 cores.
SETTLE_SECONDS = 5


@pytest.mark.slow
@pytest.mark.long  # 50 clients for a minute: `make test-all` only.
@pytest.mark.parametrize("batching", [None, BatchingOptions()], ids=["unbatched", "batching"])
def test_50_clients_through_a_push_and_a_corrupt_version(model_versions, tmp_path, batching):
    with (
        fixtures.running_server(model_versions, tmp_path, batching=batching) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=60) as status_client,
        fixtures.Load(server.rest_port, server.grpc_port, CLIENTS_PER_API, CLIENTS_PER_API) as load,
    ):
        start = time.monotonic()
        time.sleep(SECONDS / 4)
        fixtures.push_like_the_pusher(model_versions[2], tmp_path / "2")
        fixtures.wait_for(lambda: fixtures.available_versions(status_client) == ["2"])
        time.sleep(max(0.0, start + SECONDS / 2 - time.monotonic()))
        fixtures.write_corrupt_version(tmp_path / "3")
        fixtures.wait_for(
            lambda: len(status_client.get(f"/v1/models/{fixtures.MODEL_NAME}").json()["model_version_status"]) == 3
        )
        time.sleep(max(SETTLE_SECONDS, start + SECONDS - time.monotonic()))
        load.stop()
        statuses = status_client.get(f"/v1/models/{fixtures.MODEL_NAME}").json()["model_version_status"]
    seconds = max(outcome.end for outcome in load.outcomes) - start
    print(
        f"\n{2 * CLIENTS_PER_API} clients, {seconds:.1f} s, batching {batching}: {len(load.outcomes)} requests "
        f"({len(load.outcomes) / seconds:.0f}/s), {len(load.failures)} failed, "
        f"p50 {load.latency_ms(50):.1f} ms, p99 {load.latency_ms(99):.1f} ms"
    )
    assert load.failures == []
    assert [(status["version"], status["state"]) for status in statuses] == [
        ("3", "END"),
        ("2", "AVAILABLE"),
        ("1", "END"),
    ]
    assert statuses[0]["status"]["error_message"].startswith("Failed to load")
    assert len(load.clients()) == 2 * CLIENTS_PER_API
    for name in load.clients():
        versions = load.versions_seen(name)
        assert versions[0] == 1 and versions[-1] == 2 and versions == sorted(versions), name
