import base64
import json

import httpx
import pytest

from sentence_tfx.serving.conftest import MODEL_NAME

TEXTS = ["a great film", "a dreadful, boring film"]
MODEL_URL = f"/v1/models/{MODEL_NAME}"


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=30) as client:
        yield client


def test_status_follows_tf_serving(client):
    available = {
        "model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
    assert client.get(MODEL_URL).json() == available
    assert client.get(f"{MODEL_URL}/versions/1").json() == available
    missing = client.get(f"{MODEL_URL}/versions/2")
    assert missing.status_code == 404 and missing.json() == {"error": f"Could not find version 2 of model {MODEL_NAME}"}


def test_metadata_is_the_signature_def_map(client):
    response = client.get(f"{MODEL_URL}/metadata").json()
    assert response["model_spec"] == {"name": MODEL_NAME, "signature_name": "", "version": "1"}
    signatures = response["metadata"]["signature_def"]["signature_def"]
    assert {"serving_default", "serving_tf_example", "serving_token_ids", "embed"} <= set(signatures)
    default = signatures["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    assert default["inputs"]["text"]["dtype"] == "DT_STRING"
    assert default["inputs"]["text"]["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False}
    assert default["outputs"]["scores"]["dtype"] == "DT_FLOAT"
    assert [dim["size"] for dim in default["outputs"]["scores"]["tensor_shape"]["dim"]] == ["-1", "2"]
    assert client.get(f"{MODEL_URL}/versions/1/metadata").json() == response


def test_predict_row_columnar_and_b64_agree(client):
    row = client.post(f"{MODEL_URL}:predict", json={"instances": TEXTS}).json()["predictions"]
    assert len(row) == 2 and set(row[0]) == {"scores", "classes", "label"}
    assert row[0]["classes"] == ["negative", "positive"] and row[0]["label"] in row[0]["classes"]
    assert sum(row[0]["scores"]) == pytest.approx(1, abs=1e-5)
    columnar = client.post(f"{MODEL_URL}:predict", json={"inputs": {"text": TEXTS}}).json()["outputs"]
    assert columnar == {name: [prediction[name] for prediction in row] for name in row[0]}
    bare = client.post(f"{MODEL_URL}/versions/1:predict", json={"inputs": TEXTS}).json()["outputs"]
    assert bare == columnar
    encoded = [{"b64": base64.b64encode(text.encode()).decode()} for text in TEXTS]
    assert client.post(f"{MODEL_URL}:predict", json={"instances": encoded}).json()["predictions"] == row
    named = [{"text": text} for text in TEXTS]
    assert client.post(f"{MODEL_URL}:predict", json={"instances": named}).json()["predictions"] == row


def test_predict_other_signatures(client):
    ids = {"input_word_ids": [2, 40, 3] + [0] * 13, "input_mask": [1] * 3 + [0] * 13, "input_type_ids": [0] * 16}
    response = client.post(f"{MODEL_URL}:predict", json={"signature_name": "serving_token_ids", "instances": [ids]})
    assert response.status_code == 200 and len(response.json()["predictions"][0]["scores"]) == 2
    embedding = client.post(f"{MODEL_URL}:predict", json={"signature_name": "embed", "instances": TEXTS}).json()
    assert len(embedding["predictions"]) == 2 and len(embedding["predictions"][0]) == 32  # One output: no name.


def test_classify_uses_serving_tf_example(client):
    scores = client.post(f"{MODEL_URL}:predict", json={"inputs": TEXTS}).json()["outputs"]["scores"]
    examples = [{"text": TEXTS[0]}, {"text": {"b64": base64.b64encode(TEXTS[1].encode()).decode()}}]
    results = client.post(f"{MODEL_URL}:classify", json={"examples": examples}).json()["results"]
    assert [[label for label, _ in result] for result in results] == [["negative", "positive"]] * 2
    assert [score for result in results for _, score in result] == pytest.approx(sum(scores, []), abs=1e-6)
    with_context = client.post(f"{MODEL_URL}:classify", json={"context": {"text": TEXTS[0]}, "examples": [{}]})
    (result,) = with_context.json()["results"]
    assert [label for label, _ in result] == ["negative", "positive"]  # A batch of 1 may differ from 2 by an ulp:
    assert [score for _, score in result] == pytest.approx([score for _, score in results[0]], abs=1e-6)


def _ids(word_ids):
    return {"input_word_ids": word_ids, "input_mask": [[1] * 16] * 2, "input_type_ids": [[0] * 16] * 2}


@pytest.mark.parametrize(
    "path, body, status, message",
    [
        (f"{MODEL_URL}:predict", b"{", 400, "JSON Parse error"),
        (f"{MODEL_URL}:predict", b"\xff\xfe{", 400, "JSON Parse error"),
        (f"{MODEL_URL}:predict", [1], 400, "is not an object"),
        (
            f"{MODEL_URL}:predict",
            {"signature_name": "nope", "instances": TEXTS},
            400,
            'Serving signature name: "nope" not found in signature def',
        ),
        (f"{MODEL_URL}:predict", {"inputs": {"txt": TEXTS}}, 400, "Sent extra: {txt}. Missing but required: {text}."),
        (f"{MODEL_URL}:predict", {"instances": [{"text": "a", "extra": 1}]}, 400, "Sent extra: {extra}"),
        (f"{MODEL_URL}:predict", {"instances": [1, 2]}, 400, "input text: expects DT_STRING values, got 1"),
        (
            f"{MODEL_URL}:predict",
            {"instances": [["a", "b"]]},
            400,
            "input text: shape [1, 2] does not match the signature's shape [-1]",
        ),
        (
            f"{MODEL_URL}:predict",
            {"signature_name": "serving_token_ids", "inputs": _ids([[1] * 16, [1] * 15])},
            400,
            "input input_word_ids: ragged nested lists",
        ),
        (
            f"{MODEL_URL}:predict",
            {"signature_name": "serving_token_ids", "inputs": _ids([[2**40] * 16] * 2)},
            400,
            "input input_word_ids: 1099511627776 is out of range for DT_INT32",
        ),
        (
            f"{MODEL_URL}:predict",
            {"signature_name": "serving_token_ids", "inputs": _ids([[1.5] * 16] * 2)},
            400,
            "expects DT_INT32 values, got 1.5",
        ),
        (f"{MODEL_URL}:predict", {"instances": []}, 400, "'instances' must be a non-empty list"),
        (f"{MODEL_URL}:predict", {"inputs": {"text": []}}, 400, "input text: empty batch"),
        (f"{MODEL_URL}:predict", {"instances": TEXTS, "inputs": TEXTS}, 400, "either 'instances'"),
        (f"{MODEL_URL}:predict", {"signature_name": "serving_default"}, 400, "either 'instances'"),
        (f"{MODEL_URL}:predict", {"instances": [{"b64": "not base64!"}]}, 400, "not valid base64"),
        (f"{MODEL_URL}:classify", {"examples": [{"text": {"b64": "é"}}]}, 400, "not valid base64"),
        (
            f"{MODEL_URL}:predict",
            b'{"instances": ["' + b"x" * 70_000 + b'"]}',
            400,
            "Request body exceeds the maximum of 65536 bytes",
        ),
        (f"{MODEL_URL}:classify", {"examples": []}, 400, "'examples' must be a non-empty list"),
        (f"{MODEL_URL}:classify", {"examples": [{"text": [True]}]}, 400, "feature text: expects a string"),
        (
            f"{MODEL_URL}:classify",
            {"context": {"text": "a"}, "examples": [{"text": "b"}]},
            400,
            "Features in the context must not appear in the examples: text",
        ),
        (
            f"{MODEL_URL}:classify",
            {"signature_name": "serving_default", "examples": [{"text": "a"}]},
            400,
            'Signature "serving_default" cannot classify',
        ),
        (f"{MODEL_URL}:regress", {"examples": [{"text": "a"}]}, 400, "Regress is not supported"),
        (f"{MODEL_URL}:explain", {"instances": TEXTS}, 400, f"Malformed request: POST {MODEL_URL}:explain"),
        ("/v1/models/other:predict", {"instances": TEXTS}, 404, "Servable not found for request: Latest(other)"),
        (
            f"{MODEL_URL}/versions/7:classify",
            {"examples": [{"text": "a"}]},
            404,
            f"Servable not found for request: Specific({MODEL_NAME}, 7)",
        ),
        ("/v1/models/other", None, 404, "Could not find any versions of model other"),
        (f"{MODEL_URL}/versions/7/metadata", None, 404, f"Specific({MODEL_NAME}, 7)"),
        ("/v1/models", None, 400, "Missing model name in request."),
        (f"{MODEL_URL}/versions/{'9' * 5000}:predict", {"instances": TEXTS}, 400, "Failed to convert version"),
        (f"{MODEL_URL}/versions/{2**63}", None, 400, f"Failed to convert version: {2**63} to numeric."),
        (f"{MODEL_URL}:predict", b'{"instances": ["a \\ud800 b"]}', 400, "not valid Unicode (lone surrogate"),
        (f"{MODEL_URL}:classify", b'{"examples": [{"text": "\\udfff"}]}', 400, "not valid Unicode"),
        (
            f"{MODEL_URL}:classify",
            b'{"examples": [{"\\ud800": 1}]}',
            400,
            "a feature name: a string is not valid Unicode",
        ),
        (f"{MODEL_URL}:classify", {"examples": [{"txt": "a"}]}, 400, "example 0: feature 'text' must hold one string"),
        (f"{MODEL_URL}:classify", {"examples": [{"text": "a"}, {"text": 3}]}, 400, "example 1: feature 'text'"),
        (f"{MODEL_URL}:classify", {"examples": [{"text": ["a", "b"]}]}, 400, "found 2 value(s) in a bytes_list"),
        (f"{MODEL_URL}:predict", {"instances": [[[["a"]]]]}, 400, "shape [1, 1, 1, 1] does not match"),
        (f"{MODEL_URL}:predict", b'{"instances": ' + b"[" * 500 + b"]" * 500 + b"}", 400, "does not match"),
        (f"{MODEL_URL}:predict", b'{"instances": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, "JSON Parse error"),
        (
            f"{MODEL_URL}:predict",
            {"signature_name": "serving_tf_example", "instances": [{"b64": base64.b64encode(b"\xff" * 7000).decode()}]},
            400,
            "is not a serialized tf.Example",
        ),
    ],
)
def test_bad_requests_get_tf_serving_errors(client, path, body, status, message):
    if body is None:
        response = client.get(path)
    else:
        response = client.post(path, content=body if isinstance(body, bytes) else json.dumps(body))
    assert response.status_code == status
    assert message in response.json()["error"]
    assert client.post(f"{MODEL_URL}:predict", json={"instances": TEXTS[:1]}).status_code == 200
