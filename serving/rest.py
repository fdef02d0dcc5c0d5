"""TF Serving's REST API (`/v1/models/...`) on Starlette, with its JSON encoding of tensors and tf.Examples.

Paths, request and response shapes and error bodies follow TF Serving's http_rest_api_handler, so its REST clients
work unchanged. Model calls run in a thread pool: the event loop only moves bytes. Besides the model API: Prometheus
metrics at TF Serving's path, and the liveness and readiness probes (`/healthz`, `/readyz`).
"""

import asyncio
import base64
import json
import logging
import re
import threading

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from starlette.applications import Starlette
from tensorflow.core.protobuf import meta_graph_pb2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sentence_tfx.serving.metrics import METRICS_PATH, Call
from sentence_tfx.serving.servable import (
    Servable,
    ServingError,
    check_input_names,
    check_shape,
    dtype_name,
    invalid,
)
from sentence_tfx.serving.versions import INT64_MAX, VersionManager

logger = logging.getLogger(__name__)

LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
_PREDICTION_PATH = re.compile(r"/v1/models/([^/:]+)(?:/versions/([0-9]+))?:(classify|regress|predict)", re.IGNORECASE)
_STATUS_PATH = re.compile(r"/v1/models(?:/([^/:]+))?(?:/versions/([0-9]+))?(?:/(metadata))?", re.IGNORECASE)
_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def create_app(
    manager: VersionManager, max_body_bytes: int, body_timeout: float, draining: threading.Event
) -> Starlette:
    """`draining` set: readiness fails and every response closes its connection, so clients move elsewhere."""

    def respond(status: int, payload: dict) -> Response:
        response = _json_response(status, payload)
        if draining.is_set():
            response.headers["connection"] = "close"
        return response

    async def handle(request: Request) -> Response:
        call = Call("rest")
        try:
            body = await _read_body(request, max_body_bytes, body_timeout) if request.method == "POST" else b""
        except ServingError as error:  # Too large (400) or too slow (408): the rest of it is not worth reading.
            manager.metrics.finish(call, error.code)
            slow = error.code == grpc.StatusCode.DEADLINE_EXCEEDED
            response = respond(408 if slow else 400, {"error": error.message})
            response.headers["connection"] = "close"
            return response
        try:
            payload = await run_in_threadpool(_dispatch, manager, request.method, request.scope["path"], body, call)
            manager.metrics.finish(call, grpc.StatusCode.OK)
            return respond(200, payload)
        except ServingError as error:
            manager.metrics.finish(call, error.code)
            return respond(_HTTP_STATUS.get(error.code, 500), {"error": error.message})
        except Exception as error:  # A bug must cost one request, not the server.
            logger.exception("Unexpected error on %s %s", request.method, request.scope["path"])
            manager.metrics.finish(call, grpc.StatusCode.INTERNAL)
            return respond(500, {"error": f"Internal error: {error}"})

    async def metrics(request: Request) -> Response:
        return Response(manager.metrics.exposition(), media_type=manager.metrics.content_type)

    async def liveness(request: Request) -> Response:
        """The process answers and its version watcher runs: restarting it would not help otherwise."""
        alive = manager.watching
        return respond(200 if alive else 503, {"status": "alive" if alive else "version watcher stopped"})

    async def readiness(request: Request) -> Response:
        """A version is loaded and the server is not draining: send it traffic."""
        if draining.is_set():
            return respond(503, {"status": "draining"})
        if not manager.ready:
            return respond(503, {"status": "no version loaded"})
        return respond(200, {"status": "ready"})

    return Starlette(
        routes=[
            Route(METRICS_PATH, metrics, methods=["GET"]),
            Route(LIVENESS_PATH, liveness, methods=["GET"]),
            Route(READINESS_PATH, readiness, methods=["GET"]),
            Route("/{path:path}", handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]
    )


def _json_response(status: int, payload: dict) -> Response:
    """NaN and ±Infinity stay JSON tokens, as TF Serving writes them."""
    return Response(json.dumps(payload, allow_nan=True), status_code=status, media_type="application/json")


async def _read_body(request: Request, max_bytes: int, timeout: float) -> bytes:
    """The whole body within `timeout` seconds of the request head, and at most `max_bytes` long."""
    too_large = invalid(f"Request body exceeds the maximum of {max_bytes} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large

    async def read() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(read(), timeout)
    except asyncio.TimeoutError:
        raise ServingError(
            grpc.StatusCode.DEADLINE_EXCEEDED, f"Request body not received within {timeout:g} s"
        ) from None


def _version(text: str | None) -> int | None:
    """A version from the URL, within TF Serving's int64 (it answers 400 for what does not convert)."""
    if not text:
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(INT64_MAX)) or int(digits) > INT64_MAX:
        shown = text if len(text) <= 30 else f"{text[:30]}... ({len(text)} digits)"
        raise invalid(f"Failed to convert version: {shown} to numeric.")
    return int(digits)


def _dispatch(manager: VersionManager, method: str, path: str, body: bytes, call: Call) -> dict:
    if method == "POST" and (match := _PREDICTION_PATH.fullmatch(path)):
        model_name, version, verb = match.groups()
        call.method = verb.lower()
        servable = manager.servable(model_name, _version(version))
        call.served_by(manager.model_name, servable.version)
        request = _parse_json(body)
        if call.method == "predict":
            return _predict(servable, request, call)
        if call.method == "classify":
            return _classify(servable, request, call)
        raise invalid("Regress is not supported: the pushed model has no regression signature")
    if method == "GET" and (match := _STATUS_PATH.fullmatch(path)):
        model_name, version, metadata = match.groups()
        call.method = "metadata" if metadata else "status"
        if not model_name:
            raise invalid("Missing model name in request.")
        version = _version(version)
        if metadata:
            servable = manager.servable(model_name, version)
            call.served_by(manager.model_name, servable.version)
            return _metadata(servable, model_name)
        status = manager.status(model_name, version)
        call.model = manager.model_name
        return json_format.MessageToDict(status, preserving_proto_field_name=True, including_default_value_fields=True)
    raise invalid(f"Malformed request: {method} {path}")


def _parse_json(body: bytes) -> dict:
    try:
        request = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise invalid(f"JSON Parse error: {error}") from None
    if not isinstance(request, dict):
        raise invalid("JSON Value is not an object")
    signature_name = request.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise invalid("'signature_name' must be a string")
    return request


def _metadata(servable: Servable, model_name: str) -> dict:
    def as_dict(message):
        return json_format.MessageToDict(message, preserving_proto_field_name=True, including_default_value_fields=True)

    spec = {"name": model_name, "signature_name": "", "version": str(servable.version)}
    return {"model_spec": spec, "metadata": {"signature_def": as_dict(servable.signature_def_map())}}


def _is_b64(value) -> bool:
    return isinstance(value, dict) and list(value) == ["b64"]


def _predict(servable: Servable, request: dict, call: Call) -> dict:
    signature_name, signature = servable.signature(request.get("signature_name", ""))
    call.signature = signature_name
    if ("instances" in request) == ("inputs" in request):
        raise invalid("Request must have either 'instances' (row format) or 'inputs' (columnar format), not both")
    row_format = "instances" in request
    columns = _row_columns(request["instances"], signature) if row_format else _columns(request["inputs"], signature)
    check_input_names(signature, columns)
    inputs = {name: _array(name, value, signature.inputs[name]) for name, value in columns.items()}
    _, outputs = servable.predict(inputs, signature_name)
    values = {name: _json_values(name, array) for name, array in outputs.items()}
    if not row_format:
        return {"outputs": next(iter(values.values())) if len(values) == 1 else values}
    if len(values) == 1:
        return {"predictions": next(iter(values.values()))}
    batch = {name: array.shape[0] if array.ndim else None for name, array in outputs.items()}
    size = next(iter(batch.values()))
    for name, rows in batch.items():
        if rows != size:
            raise invalid(f"Tensor name: {name} has inconsistent batch size: {rows} expecting: {size}")
    return {"predictions": [{name: value[row] for name, value in values.items()} for row in range(size)]}


def _row_columns(instances, signature) -> dict:
    """Row format: a list of values for a one-input signature, else a list of {input name: value} objects."""
    if not isinstance(instances, list) or not instances:
        raise invalid("'instances' must be a non-empty list")
    named = [isinstance(instance, dict) and not _is_b64(instance) for instance in instances]
    if all(named):
        names = set(instances[0])
        if any(set(instance) != names for instance in instances):
            raise invalid("Every object in 'instances' must have the same input names")
        return {name: [instance[name] for instance in instances] for name in names}
    if any(named):
        raise invalid("'instances' mixes named-input objects and plain values")
    if len(signature.inputs) != 1:
        raise invalid(
            f"The signature has {len(signature.inputs)} inputs; each instance must be an object "
            f"with keys {sorted(signature.inputs)}"
        )
    return {next(iter(signature.inputs)): instances}


def _columns(inputs, signature) -> dict:
    """Columnar format: {input name: tensor}, or the bare tensor for a one-input signature."""
    if isinstance(inputs, dict) and not _is_b64(inputs):
        return inputs
    if len(signature.inputs) != 1:
        raise invalid(
            f"The signature has {len(signature.inputs)} inputs; 'inputs' must be an object "
            f"with keys {sorted(signature.inputs)}"
        )
    return {next(iter(signature.inputs)): inputs}


def _array(name: str, value, info: meta_graph_pb2.TensorInfo) -> np.ndarray:
    """A nested JSON list → an array of the input's dtype and shape; ragged lists and wrong types are rejected."""
    shape, node = [], value
    while isinstance(node, list):
        shape.append(len(node))
        node = node[0] if node else None
    check_shape(name, shape, info)
    dtype = tf.dtypes.as_dtype(info.dtype)
    flat = []

    def walk(node, depth):
        if depth == len(shape):
            if isinstance(node, list):
                raise invalid(f"input {name}: ragged nested lists; every list at one depth must have one length")
            flat.append(_leaf(name, node, dtype))
        elif not isinstance(node, list) or len(node) != shape[depth]:
            raise invalid(f"input {name}: ragged nested lists; every list at one depth must have one length")
        else:
            for child in node:
                walk(child, depth + 1)

    walk(value, 0)
    return np.array(flat, dtype=object if dtype == tf.string else dtype.as_numpy_dtype).reshape(shape)


def _utf8(what: str, text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError as error:  # a JSON "\ud800" escape decodes to a lone surrogate
        raise invalid(f"{what}: a string is not valid Unicode (lone surrogate at character {error.start})") from None


def _leaf(name: str, value, dtype: tf.DType):
    if dtype == tf.string:
        if isinstance(value, str):
            return _utf8(f"input {name}", value)
        if _is_b64(value) and isinstance(value["b64"], str):
            try:
                return base64.b64decode(value["b64"], validate=True)
            except ValueError:  # binascii.Error, or a non-ASCII character
                raise invalid(f"input {name}: 'b64' value is not valid base64") from None
    elif dtype == tf.bool:
        if isinstance(value, bool):
            return value
    elif dtype.is_integer:
        if isinstance(value, int) and not isinstance(value, bool):
            if dtype.min <= value <= dtype.max:
                return value
            raise invalid(f"input {name}: {value} is out of range for {dtype_name(dtype.as_datatype_enum)}")
    elif dtype.is_floating and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise invalid(f"input {name}: {value} is out of range for {dtype_name(dtype.as_datatype_enum)}") from None
    raise invalid(f"input {name}: expects {dtype_name(dtype.as_datatype_enum)} values, got {json.dumps(value)[:100]}")


def _json_values(name: str, array: np.ndarray):
    """Strings as text (base64 objects for `*_bytes` outputs or non-UTF-8 bytes), float32 in its shortest form."""
    if array.dtype == object:
        return _map_nested(array.tolist(), lambda raw: _string_value(name, raw))
    if array.dtype in (np.float16, np.float32):
        return array.astype(str).astype(np.float64).tolist()
    return array.tolist()


def _string_value(name: str, raw: bytes):
    if not name.endswith("_bytes"):
        try:
            return raw.decode()
        except UnicodeDecodeError:
            pass
    return {"b64": base64.b64encode(raw).decode()}


def _map_nested(value, function):
    return [_map_nested(item, function) for item in value] if isinstance(value, list) else function(value)


def _classify(servable: Servable, request: dict, call: Call) -> dict:
    examples = request.get("examples")
    if not isinstance(examples, list) or not examples or not all(isinstance(e, dict) for e in examples):
        raise invalid("'examples' must be a non-empty list of objects (feature name → value or list)")
    context = request.get("context")
    if context is not None and not isinstance(context, dict):
        raise invalid("'context' must be an object (feature name → value or list)")
    call.signature, classes, scores = servable.classify(
        [_example(example) for example in examples],
        _example(context) if context is not None else None,
        request.get("signature_name", ""),
    )
    labels = _json_values("classes", classes)
    return {
        "results": [
            [[label, score] for label, score in zip(row_labels, row_scores)]
            for row_labels, row_scores in zip(labels, _json_values("scores", scores))
        ]
    }


def _example(features: dict) -> tf.train.Example:
    """TF Serving's JSON tf.Example: strings and {"b64"} → bytes_list, integers → int64_list, numbers → float_list."""
    example = tf.train.Example()
    for name, value in features.items():
        values = value if isinstance(value, list) else [value]
        feature = example.features.feature[_utf8("a feature name", name).decode()]
        if values and all(isinstance(v, str) or _is_b64(v) for v in values):
            feature.bytes_list.value.extend(_leaf(name, v, tf.string) for v in values)
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            feature.int64_list.value.extend(_leaf(name, v, tf.int64) for v in values)
        elif values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            feature.float_list.value.extend(values)
        else:
            raise invalid(
                f'feature {name}: expects a string, {{"b64": ...}}, number, or a non-empty list of '
                f"one of those kinds, got {json.dumps(value)[:100]}"
            )
    return example
