"""The Prometheus endpoint, read as Prometheus reads it: with prometheus_client's text parser."""

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import grpc
import httpx
import pytest
import tensorflow as tf
from prometheus_client.parser import text_string_to_metric_families
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_service_pb2_grpc

from sentence_tfx.serving.batching import BatchingOptions
from sentence_tfx.serving.conftest import MODEL_NAME, running_server
from sentence_tfx.serving.metrics import METRICS_PATH

MODEL_URL = f"/v1/models/{MODEL_NAME}"


def _scrape(client) -> dict[str, list]:
    """{metric family name: its samples}."""
    response = client.get(METRICS_PATH)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def _value(samples, name: str, **labels) -> float:
    matching = [sample.value for sample in samples if sample.name == name and labels.items() <= sample.labels.items()]
    assert len(matching) == 1, (name, labels, matching)
    return matching[0]


def test_requests_batches_and_loads_are_counted(model_versions, tmp_path):
    with (
        running_server(model_versions, tmp_path, batching=BatchingOptions(max_batch_size=4)) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=30) as client,
        grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel,
    ):
        at_start = _scrape(client)  # After loading, and its warm-up
        for _ in range(3):
            assert client.post(f"{MODEL_URL}:predict", json={"instances": ["a", "b"]}).status_code == 200
        assert (
            client.post(f"{MODEL_URL}:predict", json={"signature_name": "nope", "instances": ["a"]}).status_code == 400
        )
        assert client.post("/v1/models/other:predict", json={"instances": ["a"]}).status_code == 404
        assert client.get(MODEL_URL).status_code == 200
        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=MODEL_NAME, signature_name="embed"))
        request.inputs["text"].CopyFrom(tf.make_tensor_proto(["a great film"]))
        prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=30)
        families = _scrape(client)

    requests = families["sentence_tfx_serving_requests"]
    served = {"model": MODEL_NAME, "version": "1"}
    rest_predict = {**served, "signature": "serving_default", "api": "rest", "method": "predict", "status": "OK"}
    assert _value(requests, "sentence_tfx_serving_requests_total", **rest_predict) == 3
    unknown_signature = {**served, "signature": "", "method": "predict", "status": "INVALID_ARGUMENT"}
    assert _value(requests, "sentence_tfx_serving_requests_total", **unknown_signature) == 1
    # Labels never echo what the client sent: an unknown model is recorded without a model name.
    unknown_model = {"model": "", "version": "", "method": "predict", "status": "NOT_FOUND"}
    assert _value(requests, "sentence_tfx_serving_requests_total", **unknown_model) == 1
    assert _value(requests, "sentence_tfx_serving_requests_total", model=MODEL_NAME, method="status") == 1
    grpc_embed = {**served, "signature": "embed", "api": "grpc", "method": "predict", "status": "OK"}
    assert _value(requests, "sentence_tfx_serving_requests_total", **grpc_embed) == 1

    latency = families["sentence_tfx_serving_request_latency_seconds"]
    assert _value(latency, "sentence_tfx_serving_request_latency_seconds_count", **rest_predict) == 3
    assert _value(latency, "sentence_tfx_serving_request_latency_seconds_sum", **rest_predict) > 0
    assert _value(latency, "sentence_tfx_serving_request_latency_seconds_bucket", le="+Inf", **rest_predict) == 3

    def rows_batched(scraped, signature):
        samples = scraped.get("sentence_tfx_serving_batch_size", [])
        name = "sentence_tfx_serving_batch_size_sum"
        labels = {**served, "signature": signature}
        return _value(samples, name, **labels) if any(labels.items() <= s.labels.items() for s in samples) else 0

    # Three requests of 2 rows; embed went through its own batcher.
    assert rows_batched(families, "serving_default") - rows_batched(at_start, "serving_default") == 6
    assert rows_batched(families, "embed") - rows_batched(at_start, "embed") == 1

    assert (
        _value(families["sentence_tfx_serving_model_load_seconds"], "sentence_tfx_serving_model_load_seconds", **served)
        > 0
    )
    assert (
        _value(families["sentence_tfx_serving_model_version"], "sentence_tfx_serving_model_version", model=MODEL_NAME)
        == 1
    )


@pytest.mark.parametrize("path", [METRICS_PATH, "/healthz", "/readyz"])
def test_probe_and_metrics_paths_are_not_model_requests(server, path):
    with httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=30) as client:
        assert client.get(path).status_code == 200
        assert _scrape(client)["sentence_tfx_serving_requests"] == []
