import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import grpc
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from sentence_tfx.serving.conftest import MODEL_NAME

TEXTS = ["a great film", "a dreadful, boring film"]


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        yield channel


@pytest.fixture(scope="module")
def predictions(channel):
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


def _predict_request(signature_name="", version=None, **inputs):
    request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=MODEL_NAME, signature_name=signature_name))
    if version is not None:
        request.model_spec.version.value = version
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request


def test_predict_reports_the_version(predictions):
    response = predictions.Predict(_predict_request(text=TEXTS), timeout=30)
    assert response.model_spec.name == MODEL_NAME and response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"
    assert tf.make_ndarray(response.outputs["scores"]).shape == (2, 2)
    assert tf.make_ndarray(response.outputs["classes"]).tolist() == [[b"negative", b"positive"]] * 2
    filtered = _predict_request(version=1, text=TEXTS)
    filtered.output_filter.append("label")
    assert set(predictions.Predict(filtered, timeout=30).outputs) == {"label"}


def test_classify_matches_predict(predictions):
    scores = tf.make_ndarray(predictions.Predict(_predict_request(text=TEXTS), timeout=30).outputs["scores"])
    response = predictions.Classify(_classify_request(*({"text": text} for text in TEXTS)), timeout=30)
    assert response.model_spec.version.value == 1 and response.model_spec.signature_name == "serving_tf_example"
    result = [[(entry.label, entry.score) for entry in row.classes] for row in response.result.classifications]
    assert [[label for label, _ in row] for row in result] == [["negative", "positive"]] * 2
    assert [score for row in result for _, score in row] == pytest.approx(scores.ravel(), abs=1e-6)


def test_metadata_and_status(channel, predictions):
    request = get_model_metadata_pb2.GetModelMetadataRequest(
        model_spec=model_pb2.ModelSpec(name=MODEL_NAME), metadata_field=["signature_def"]
    )
    response = predictions.GetModelMetadata(request, timeout=30)
    signature_defs = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signature_defs)
    assert signature_defs.signature_def["serving_default"].inputs["text"].dtype == tf.string.as_datatype_enum
    assert response.model_spec.version.value == 1
    status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
        get_model_status_pb2.GetModelStatusRequest(model_spec=model_pb2.ModelSpec(name=MODEL_NAME)), timeout=30
    )
    (version,) = status.model_version_status
    assert version.version == 1 and version.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
    assert version.status.error_code == 0 and version.status.error_message == ""


def _classify_request(*features: dict[str, str]) -> classification_pb2.ClassificationRequest:
    request = classification_pb2.ClassificationRequest(model_spec=model_pb2.ModelSpec(name=MODEL_NAME))
    for example in features:
        added = request.input.example_list.examples.add()
        for name, text in example.items():
            added.features.feature[name].bytes_list.value.append(text.encode())
    return request


def _label_request():
    request = _predict_request(text=TEXTS)
    request.model_spec.version_label = "stable"
    return request


@pytest.mark.parametrize(
    "call, request_message, code, message",
    [
        (
            "Predict",
            predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name="other")),
            grpc.StatusCode.NOT_FOUND,
            "Servable not found for request: Latest(other)",
        ),
        (
            "Predict",
            _predict_request(version=3, text=TEXTS),
            grpc.StatusCode.NOT_FOUND,
            f"Servable not found for request: Specific({MODEL_NAME}, 3)",
        ),
        ("Predict", _label_request(), grpc.StatusCode.INVALID_ARGUMENT, "Unrecognized servable version label: stable"),
        (
            "Predict",
            _predict_request("nope", text=TEXTS),
            grpc.StatusCode.INVALID_ARGUMENT,
            'Serving signature name: "nope" not found',
        ),
        (
            "Predict",
            _predict_request(text=[1, 2]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "input text: expects DT_STRING but got DT_INT32",
        ),
        ("Predict", _predict_request(text=[TEXTS]), grpc.StatusCode.INVALID_ARGUMENT, "shape [1, 2]"),
        ("Predict", _predict_request(txt=TEXTS), grpc.StatusCode.INVALID_ARGUMENT, "Sent extra: {txt}"),
        (
            "Predict",
            _predict_request(text=tf.constant([], tf.string)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "input text: empty batch",
        ),
        (
            "Predict",
            _predict_request(
                text=tensor_pb2.TensorProto(
                    dtype=types_pb2.DT_STRING, tensor_shape={"dim": [{"size": 10**9}]}, string_val=[b"a"]
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "input text: shape [1000000000] is negative or holds more than 65536 elements",
        ),
        (
            "Classify",
            classification_pb2.ClassificationRequest(model_spec=model_pb2.ModelSpec(name=MODEL_NAME)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "Input is empty",
        ),
        (
            "Classify",
            _classify_request({"txt": "a great film"}),
            grpc.StatusCode.INVALID_ARGUMENT,
            "example 0: feature 'text' must hold one string, the text to classify; found none",
        ),
        (
            "GetModelMetadata",
            get_model_metadata_pb2.GetModelMetadataRequest(model_spec=model_pb2.ModelSpec(name=MODEL_NAME)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "must specify at least one metadata_field",
        ),
        (
            "GetModelMetadata",
            get_model_metadata_pb2.GetModelMetadataRequest(
                model_spec=model_pb2.ModelSpec(name=MODEL_NAME), metadata_field=["graph"]
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "Metadata field graph is not supported",
        ),
    ],
)
def test_errors_carry_tf_serving_status_codes(predictions, call, request_message, code, message):
    with pytest.raises(grpc.RpcError) as raised:
        getattr(predictions, call)(request_message, timeout=30)
    assert raised.value.code() == code and message in raised.value.details()


def test_unknown_model_status_is_not_found(channel):
    stub = model_service_pb2_grpc.ModelServiceStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetModelStatus(
            get_model_status_pb2.GetModelStatusRequest(model_spec=model_pb2.ModelSpec(name="x")), timeout=30
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert raised.value.details() == "Could not find any versions of model x"
