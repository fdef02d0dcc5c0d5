import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import logging
import shutil
import time

import grpc
import httpx
import pytest
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_pb2,
    model_service_pb2_grpc,
)

from sentence_tfx.serving.batching import BatchingOptions
from sentence_tfx.serving.conftest import (
    CLASSES,
    MODEL_NAME,
    Load,
    available_versions,
    push_like_the_pusher,
    running_server,
    wait_for,
    write_corrupt_version,
)
from sentence_tfx.serving.versions import INT64_MAX, parse_version

CLIENTS_PER_API = 2  # 2 REST + 2 gRPC threads: enough overlap with the switch, modest CPU.


def _grpc_status(port) -> list[tuple[int, int]]:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        response = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
            get_model_status_pb2.GetModelStatusRequest(model_spec=model_pb2.ModelSpec(name=MODEL_NAME)), timeout=30
        )
    return [(status.version, status.state) for status in response.model_version_status]


@pytest.mark.parametrize("batching", [None, BatchingOptions(max_batch_size=4)], ids=["unbatched", "batching"])
def test_push_under_load_switches_without_failed_requests(model_versions, tmp_path, batching):
    with (
        running_server(model_versions, tmp_path, batching=batching) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=30) as status_client,
        Load(server.rest_port, server.grpc_port, CLIENTS_PER_API, CLIENTS_PER_API, pause=0.01) as load,
    ):
        time.sleep(1)

        def half_copied_is_ignored():
            time.sleep(1)  # Five polls with a version directory that lacks saved_model.pb.
            assert available_versions(status_client) == ["1"]

        push_like_the_pusher(model_versions[2], tmp_path / "2", half_copied_is_ignored)
        wait_for(lambda: available_versions(status_client) == ["2"])
        time.sleep(1)
        load.stop()

    print(f"version push under load ({batching}): {len(load.outcomes)} requests, {len(load.failures)} failed")
    assert load.failures == []
    assert len(load.clients()) == 2 * CLIENTS_PER_API
    for name in load.clients():
        versions = load.versions_seen(name)
        assert versions[0] == 1 and versions[-1] == 2, name
        assert versions == sorted(versions), f"{name} saw version 1 again after version 2"


def test_a_broken_version_is_reported_and_the_served_one_stays(model_versions, tmp_path):
    with (
        running_server(model_versions, tmp_path) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=30) as client,
    ):
        write_corrupt_version(tmp_path / "3")
        wait_for(lambda: len(client.get(f"/v1/models/{MODEL_NAME}").json()["model_version_status"]) == 2)
        statuses = client.get(f"/v1/models/{MODEL_NAME}").json()["model_version_status"]
        assert [(status["version"], status["state"]) for status in statuses] == [("3", "END"), ("1", "AVAILABLE")]
        assert statuses[0]["status"]["error_code"] == "UNKNOWN"
        assert statuses[0]["status"]["error_message"].startswith("Failed to load")
        response = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": ["a great film"]})
        assert response.status_code == 200 and response.json()["predictions"][0]["classes"] == CLASSES[1]


def test_version_names_are_plain_int64():
    assert parse_version("0") == 0 and parse_version("1795849177") == 1795849177
    assert parse_version(str(INT64_MAX)) == INT64_MAX
    for name in (str(INT64_MAX + 1), "9" * 5000, "007", "+1", "-1", " 1", "1 ", "1.0", "1e3", "²", "١", "", "0x1f"):
        assert parse_version(name) is None, name


def test_folders_beyond_int64_are_ignored_with_one_warning(model_versions, tmp_path, caplog):
    """Such a folder once made the status endpoints fail (INTERNAL/500) until a restart."""
    too_big = [str(INT64_MAX + 1), "9" * 200]  # 255 bytes is the usual file name limit
    with (
        caplog.at_level(logging.WARNING, logger="sentence_tfx.serving.versions"),
        running_server(model_versions, tmp_path) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=30) as client,
    ):
        for name in too_big:
            shutil.copytree(model_versions[2], tmp_path / name)
        time.sleep(1)  # Five polls.
        assert available_versions(client) == ["1"]
        assert _grpc_status(server.grpc_port) == [(1, get_model_status_pb2.ModelVersionStatus.AVAILABLE)]
        predicted = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": ["a great film"]})
        assert predicted.status_code == 200 and predicted.json()["predictions"][0]["classes"] == CLASSES[1]
        for name in too_big:
            shutil.rmtree(tmp_path / name)
        shutil.copytree(model_versions[2], tmp_path / str(INT64_MAX))  # The largest version there is: served.
        wait_for(lambda: available_versions(client) == [str(INT64_MAX)])
        assert _grpc_status(server.grpc_port)[0] == (INT64_MAX, get_model_status_pb2.ModelVersionStatus.AVAILABLE)
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == len(too_big), warnings
    assert all("Ignoring" in warning and "without leading zeros" in warning for warning in warnings)


def test_a_corrupt_newest_version_at_start_serves_the_newest_that_loads(model_versions, tmp_path):
    shutil.copytree(model_versions[1], tmp_path / "1")
    write_corrupt_version(tmp_path / "2")
    with (
        running_server(model_versions, tmp_path, push_first=False) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=30) as client,
    ):
        statuses = client.get(f"/v1/models/{MODEL_NAME}").json()["model_version_status"]
        assert [(status["version"], status["state"]) for status in statuses] == [("2", "END"), ("1", "AVAILABLE")]
        assert client.get("/readyz").status_code == 200
        # Fixing version 2 in place (its files change) is picked up without a restart.
        shutil.rmtree(tmp_path / "2")
        shutil.copytree(model_versions[2], tmp_path / "2")
        wait_for(lambda: available_versions(client) == ["2"])
        response = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": ["a great film"]})
        assert response.json()["predictions"][0]["classes"] == CLASSES[2]


def test_deleting_the_served_version_rolls_back(model_versions, tmp_path):
    with (
        running_server(model_versions, tmp_path) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=30) as client,
    ):
        shutil.copytree(model_versions[2], tmp_path / "2")
        wait_for(lambda: available_versions(client) == ["2"])
        shutil.rmtree(tmp_path / "2")
        wait_for(lambda: available_versions(client) == ["1"])
        response = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": ["a great film"]})
        assert response.json()["predictions"][0]["classes"] == CLASSES[1]


def test_nothing_loadable_is_not_ready_but_alive(model_versions, tmp_path):
    write_corrupt_version(tmp_path / "1")
    with (
        running_server(model_versions, tmp_path, push_first=False) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=30) as client,
    ):
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json() == {"status": "no version loaded"}
        shutil.copytree(model_versions[2], tmp_path / "2")
        wait_for(lambda: client.get("/readyz").status_code == 200)
