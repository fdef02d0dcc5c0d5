import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import shutil
import threading
import time

import grpc
import httpx
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_service_pb2_grpc

from sentence_tfx.serving.conftest import CLASSES, MODEL_NAME, running_server

CLIENTS_PER_API = 2  # 2 REST + 2 gRPC threads: enough overlap with the switch, modest CPU.


def _available(client) -> list[str]:
    statuses = client.get(f"/v1/models/{MODEL_NAME}").json()["model_version_status"]
    return [status["version"] for status in statuses if status["state"] == "AVAILABLE"]


def _push_like_the_pusher(source, target, before_saved_model_pb):
    """Copies every file but saved_model.pb, runs `before_saved_model_pb`, then copies saved_model.pb."""
    shutil.copytree(source, target, ignore=lambda folder, names: ["saved_model.pb"] if folder == str(source) else [])
    before_saved_model_pb()
    shutil.copy2(source / "saved_model.pb", target / "saved_model.pb")


def test_push_under_load_switches_without_failed_requests(model_versions, tmp_path):
    version_of_classes = {tuple(classes): version for version, classes in CLASSES.items()}
    stop = threading.Event()
    seen: dict[str, list[int]] = {}
    failures: list[str] = []

    def rest_client(name, port):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while not stop.is_set():
                response = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": ["a great film"]})
                if response.status_code != 200:
                    failures.append(f"{name}: {response.status_code} {response.text}")
                else:
                    seen[name].append(version_of_classes[tuple(response.json()["predictions"][0]["classes"])])
                time.sleep(0.01)

    def grpc_client(name, port):
        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=MODEL_NAME))
        request.inputs["text"].CopyFrom(tf.make_tensor_proto(["a great film"]))
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            while not stop.is_set():
                try:
                    seen[name].append(stub.Predict(request, timeout=30).model_spec.version.value)
                except grpc.RpcError as error:
                    failures.append(f"{name}: {error.code()} {error.details()}")
                time.sleep(0.01)

    with (
        running_server(model_versions, tmp_path) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=30) as status_client,
    ):
        threads = []
        for index in range(CLIENTS_PER_API):
            for kind, target, port in (
                ("rest", rest_client, server.rest_port),
                ("grpc", grpc_client, server.grpc_port),
            ):
                name = f"{kind}{index}"
                seen[name] = []
                threads.append(threading.Thread(target=target, args=(name, port)))
        for thread in threads:
            thread.start()
        try:
            time.sleep(1)

            def half_copied_is_ignored():
                time.sleep(1)  # Five polls with a version directory that lacks saved_model.pb.
                assert _available(status_client) == ["1"]

            _push_like_the_pusher(model_versions[2], tmp_path / "2", half_copied_is_ignored)
            deadline = time.monotonic() + 60
            while _available(status_client) != ["2"] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _available(status_client) == ["2"]
            time.sleep(1)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)

    print(f"version push under load: {sum(map(len, seen.values()))} answered, {len(failures)} failed")
    assert failures == []
    for name, versions in seen.items():
        assert versions[0] == 1 and versions[-1] == 2, name
        assert versions == sorted(versions), f"{name} saw version 1 again after version 2"


def test_a_broken_version_is_reported_and_the_served_one_stays(model_versions, tmp_path):
    with (
        running_server(model_versions, tmp_path) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=30) as client,
    ):
        (tmp_path / "3" / "variables").mkdir(parents=True)
        (tmp_path / "3" / "saved_model.pb").write_bytes(b"not a SavedModel")
        deadline = time.monotonic() + 30
        while len(client.get(f"/v1/models/{MODEL_NAME}").json()["model_version_status"]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        statuses = client.get(f"/v1/models/{MODEL_NAME}").json()["model_version_status"]
        assert [(status["version"], status["state"]) for status in statuses] == [("3", "END"), ("1", "AVAILABLE")]
        assert statuses[0]["status"]["error_code"] == "UNKNOWN"
        assert statuses[0]["status"]["error_message"].startswith("Failed to load")
        response = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": ["a great film"]})
        assert response.status_code == 200 and response.json()["predictions"][0]["classes"] == CLASSES[1]
