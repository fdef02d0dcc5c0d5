"""The serving check's executor: the candidate model in its own model server process, its warm-up records replayed
through REST and through gRPC, the outcome as TFX's InfraBlessing.

The model server is this project's (serving/), started as a subprocess (candidate_server.py) over a temporary base
folder whose version 1 is the candidate: it loads the model and replays the warm-up records in-process, as
`sentence-tfx serve` does on a push, then this executor sends every record again as a REST and as a gRPC request and
checks each answer has one result per input. Any sign that the model does not serve (no warm-up records, load error,
failed or malformed answer, a server that dies) means blessed=0, with the reason in the artifact's `reason` property
and in its INFRA_NOT_BLESSED file. A server that does not get ready in time fails the step instead: that says more
about the machine than the model, and a failed step, unlike a blessing, is not reused by TFX's cache.
"""

import base64
import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import tempfile
import time

import grpc
import httpx
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2, prediction_service_pb2_grpc
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from sentence_tfx.components.serving_check import candidate_server
from sentence_tfx.serving import warmup

log = logging.getLogger(__name__)
MODEL_NAME = "candidate"
VERSION = 1
LOAD_TIMEOUT_SECONDS = 600.0  # Process start, model load and in-process warm-up: generous for a loaded machine.
REQUEST_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0
LOG_TAIL_CHARS = 2000
# TFX's InfraBlessing conventions (tfx.components.infra_validator.executor), which the Pusher reads.
BLESSED_KEY, BLESSED_FILE, NOT_BLESSED_FILE = "blessed", "INFRA_BLESSED", "INFRA_NOT_BLESSED"
REASON_KEY, REQUESTS_KEY = "reason", "warmup_requests"


class CheckFailed(Exception):
    """The candidate does not serve; the message says why, for the run's output."""


@contextlib.contextmanager
def candidate_server_ports(model_dir: str, timeout: float = LOAD_TIMEOUT_SECONDS):
    """Runs candidate_server over a base folder whose version 1 is `model_dir`; yields its (REST, gRPC) ports once it
    has loaded the model (or failed to: its status says so); stops it on exit."""
    with tempfile.TemporaryDirectory(prefix="serving-check-") as base_dir:
        version_dir = os.path.join(base_dir, str(VERSION))
        if "://" in model_dir:
            io_utils.copy_dir(model_dir, version_dir)  # The server reads local files; gs://... is copied first.
        else:
            os.symlink(os.path.abspath(model_dir), version_dir)
        log_path = os.path.join(base_dir, "server.log")
        with open(log_path, "wb") as server_log:
            process = subprocess.Popen(
                [sys.executable, "-m", candidate_server.__name__, base_dir, MODEL_NAME],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=server_log,
                bufsize=0,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
                # Not the caller's: `-m` puts the working directory first on sys.path, where a source checkout's own
                # sentence_tfx/ folder (without the subpackages) would hide an installed, non-editable package.
                cwd=base_dir,
            )
        try:
            yield _wait_until_ready(process, timeout, log_path)
        finally:
            process.stdin.close()  # The server's signal to stop.
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process: subprocess.Popen, timeout: float, log_path: str) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        if not select.select([process.stdout], [], [], remaining)[0]:
            continue
        line = process.stdout.readline().decode(errors="replace")
        if not line:
            with open(log_path, encoding="utf-8", errors="replace") as server_log:
                tail = server_log.read()[-LOG_TAIL_CHARS:].strip()
            raise CheckFailed(f"the model server exited with status {process.wait()} before serving: {tail}")
        if line.startswith(candidate_server.READY):
            ports = json.loads(line[len(candidate_server.READY) :])
            return ports["rest_port"], ports["grpc_port"]
    raise TimeoutError(f"the serving check's model server did not get ready within {timeout:.0f} s")


def _json_string(value: bytes):
    try:
        return value.decode()
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(value).decode()}


def _json_tensor(array: np.ndarray):
    return np.vectorize(_json_string, otypes=[object])(array).tolist() if array.dtype == object else array.tolist()


def _rows(value) -> int:
    """The batch size of a tensor, as an array or as its nested JSON list; a scalar counts as one row."""
    if isinstance(value, np.ndarray):
        return value.shape[0] if value.ndim else 1
    return len(value) if isinstance(value, list) else 1


def _json_example(example: tf.train.Example) -> dict:
    """TF Serving's JSON form of a tf.Example: feature name → list of strings (or {"b64"}), integers or floats."""
    values = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        listed = list(getattr(feature, kind).value) if kind else []
        values[name] = [_json_string(value) for value in listed] if kind == "bytes_list" else listed
    return values


def _check_rows(what: str, rows: dict[str, int], expected: int) -> None:
    wrong = {name: count for name, count in rows.items() if count != expected}
    if not rows or wrong:
        raise CheckFailed(f"{what}: {expected} inputs, but the answer has {wrong or 'no outputs'} rows")


def _replay_grpc(stub, record: prediction_log_pb2.PredictionLog, what: str) -> None:
    try:
        if record.HasField("predict_log"):
            request = type(record.predict_log.request)()
            request.CopyFrom(record.predict_log.request)
            request.model_spec.name = MODEL_NAME
            response = stub.Predict(request, timeout=REQUEST_TIMEOUT_SECONDS)
            expected = _rows(tf.make_ndarray(next(iter(request.inputs.values()))))
            rows = {name: _rows(tf.make_ndarray(proto)) for name, proto in response.outputs.items()}
        else:
            request = type(record.classify_log.request)()
            request.CopyFrom(record.classify_log.request)
            request.model_spec.name = MODEL_NAME
            response = stub.Classify(request, timeout=REQUEST_TIMEOUT_SECONDS)
            expected = len(warmup.classification_examples(request)[0])
            rows = {"classifications": len(response.result.classifications)}
    except grpc.RpcError as error:
        raise CheckFailed(f"{what}: {error.code().name}: {error.details()}") from None
    _check_rows(what, rows, expected)


def _replay_rest(client: httpx.Client, record: prediction_log_pb2.PredictionLog, what: str) -> None:
    url = f"/v1/models/{MODEL_NAME}/versions/{VERSION}"
    if record.HasField("predict_log"):
        request = record.predict_log.request
        inputs = {name: _json_tensor(tf.make_ndarray(proto)) for name, proto in request.inputs.items()}
        body = {"signature_name": request.model_spec.signature_name, "inputs": inputs}
        path, expected = f"{url}:predict", _rows(next(iter(inputs.values())))
    else:
        request = record.classify_log.request
        examples, context = warmup.classification_examples(request)
        body = {"signature_name": request.model_spec.signature_name}
        body["examples"] = [_json_example(example) for example in examples]
        if context is not None:
            body["context"] = _json_example(context)
        path, expected = f"{url}:classify", len(examples)
    try:
        response = client.post(path, json=body)
    except httpx.HTTPError as error:
        raise CheckFailed(f"{what}: {type(error).__name__}: {error}") from None
    if response.status_code != 200:
        raise CheckFailed(f"{what}: HTTP {response.status_code}: {response.text[:LOG_TAIL_CHARS]}")
    answer = response.json()
    if "results" in answer:
        rows = {"results": len(answer["results"])}
    else:
        outputs = answer.get("outputs", {})
        rows = {name: _rows(value) for name, value in (outputs if isinstance(outputs, dict) else {"": outputs}).items()}
    _check_rows(what, rows, expected)


def _describe(record: prediction_log_pb2.PredictionLog) -> str:
    if record.HasField("predict_log"):
        request = record.predict_log.request
        return f"Predict {request.model_spec.signature_name or 'serving_default'}"
    return f"Classify {record.classify_log.request.model_spec.signature_name}"


def _check_loaded(client: httpx.Client) -> None:
    """The server loads (and warms up) its version before it reports ready; its status says whether that worked."""
    try:
        status = client.get(f"/v1/models/{MODEL_NAME}")
    except httpx.HTTPError as error:
        raise CheckFailed(f"the model server does not answer: {type(error).__name__}: {error}") from None
    if status.status_code != 200:
        raise CheckFailed(f"the model server has no model: {status.text[:LOG_TAIL_CHARS]}")
    [version] = status.json()["model_version_status"]
    if version["state"] != "AVAILABLE":
        raise CheckFailed(f"the model does not load in the model server: {version['status']['error_message']}")


def check_serving(model_dir: str) -> int:
    """Raises CheckFailed unless the model loads and answers each warm-up record over both APIs; returns the count."""
    try:
        records = warmup.read(model_dir)
    except ValueError as error:
        raise CheckFailed(str(error)) from None
    if not records:
        raise CheckFailed(f"{warmup.warmup_path(model_dir)} is missing or empty: no requests to check the model with")
    with (
        candidate_server_ports(model_dir) as (rest_port, grpc_port),
        httpx.Client(base_url=f"http://127.0.0.1:{rest_port}", timeout=REQUEST_TIMEOUT_SECONDS) as client,
        grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel,
    ):
        _check_loaded(client)
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        for number, record in enumerate(records, 1):
            what = f"warm-up request {number} of {len(records)} ({_describe(record)})"
            _replay_rest(client, record, f"{what} over REST")
            _replay_grpc(stub, record, f"{what} over gRPC")
    return len(records)


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:
        model = artifact_utils.get_single_instance(input_dict["model"])
        blessing = artifact_utils.get_single_instance(output_dict["blessing"])
        model_dir = path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model))
        started = time.monotonic()
        try:
            requests = check_serving(model_dir)
        except CheckFailed as failure:
            log.error("Serving check failed, the model will not be pushed: %s", failure)
            io_utils.write_string_file(os.path.join(blessing.uri, NOT_BLESSED_FILE), str(failure))
            blessing.set_int_custom_property(BLESSED_KEY, 0)
            blessing.set_string_custom_property(REASON_KEY, str(failure))
            return
        log.info(
            "Serving check passed in %.1f s: %d warm-up requests answered over REST and over gRPC",
            time.monotonic() - started,
            requests,
        )
        io_utils.write_string_file(os.path.join(blessing.uri, BLESSED_FILE), "")
        blessing.set_int_custom_property(BLESSED_KEY, 1)
        blessing.set_int_custom_property(REQUESTS_KEY, requests)
