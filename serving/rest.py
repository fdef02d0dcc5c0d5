"""TF Serving's REST API (`/v1/models/...`) on Starlette, with its JSON encoding of tensors and tf.Examples.

Paths, request and response shapes and error bodies follow TF Serving's http_rest_api_handler, so its REST clients
work unchanged. Model calls run in a thread pool: the event loop only moves bytes.
"""

import base64
import binascii
import json
import logging
import re

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sentence_tfx.serving.servable import Servable, ServingError, check_input_names, dtype_name, invalid
from sentence_tfx.serving.versions import VersionManager

logger = logging.getLogger(__name__)

_PREDICTION_PATH = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?:(classify|regress|predict)", re.IGNORECASE)
_STATUS_PATH = re.compile(r"/v1/models(?:/([^/:]+))?(?:/versions/(\d+))?(?:/(metadata))?", re.IGNORECASE)
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


def create_app(manager: VersionManager, max_body_bytes: int) -> Starlette:
    async def handle(request: Request) -> Response:
        try:
            body = await _read_body(request, max_body_bytes) if request.method == "POST" else b""
            return _json_response(
                200, await run_in_threadpool(_dispatch, manager, request.method, request.scope["path"], body)
            )
        except ServingError as error:
            return _json_response(_HTTP_STATUS.get(error.code, 500), {"error": error.message})
        except Exception as error:  # A bug must cost one request, not the server.
            logger.exception("Unexpected error on %s %s", request.method, request.scope["path"])
            return _json_response(500, {"error": f"Internal error: {error}"})

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])


def _json_response(status: int, payload: dict) -> Response:
    """NaN and ±Infinity stay JSON tokens, as TF Serving writes them."""
    return Response(json.dumps(payload, allow_nan=True), status_code=status, media_type="application/json")


async def _read_body(request: Request, max_bytes: int) -> bytes:
    too_large = invalid(f"Request body exceeds the maximum of {max_bytes} bytes")
    if int(request.headers.get("content-length", "0") or 0) > max_bytes:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _dispatch(manager: VersionManager, method: str, path: str, body: bytes) -> dict:
    if method == "POST" and (match := _PREDICTION_PATH.fullmatch(path)):
        model_name, version, verb = match.groups()
        servable = manager.servable(model_name, int(version) if version else None)
        request = _parse_json(body)
        if verb.lower() == "predict":
            return _predict(servable, request)
        if verb.lower() == "classify":
            return _classify(servable, request)
        raise invalid("Regress is not supported: the pushed model has no regression signature")
    if method == "GET" and (match := _STATUS_PATH.fullmatch(path)):
        model_name, version, metadata = match.groups()
        if not model_name:
            raise invalid("Missing model name in request.")
        version = int(version) if version else None
        if metadata:
            return _metadata(manager.servable(model_name, version), model_name)
        return json_format.MessageToDict(
            manager.status(model_name, version), preserving_proto_field_name=True, including_default_value_fields=True
        )
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


def _predict(servable: Servable, request: dict) -> dict:
    signature_name, signature = servable.signature(request.get("signature_name", ""))
    if ("instances" in request) == ("inputs" in request):
        raise invalid("Request must have either 'instances' (row format) or 'inputs' (columnar format), not both")
    row_format = "instances" in request
    columns = _row_columns(request["instances"], signature) if row_format else _columns(request["inputs"], signature)
    check_input_names(signature, columns)
    inputs = {
        name: _array(name, value, tf.dtypes.as_dtype(signature.inputs[name].dtype)) for name, value in columns.items()
    }
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


def _array(name: str, value, dtype: tf.DType) -> np.ndarray:
    """A nested JSON list → an array of `dtype`; ragged lists and values of the wrong type are rejected."""
    shape, node = [], value
    while isinstance(node, list):
        shape.append(len(node))
        node = node[0] if node else None
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


def _leaf(name: str, value, dtype: tf.DType):
    if dtype == tf.string:
        if isinstance(value, str):
            return value.encode()
        if _is_b64(value) and isinstance(value["b64"], str):
            try:
                return base64.b64decode(value["b64"], validate=True)
            except binascii.Error:
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
        return value
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


def _classify(servable: Servable, request: dict) -> dict:
    examples = request.get("examples")
    if not isinstance(examples, list) or not examples or not all(isinstance(e, dict) for e in examples):
        raise invalid("'examples' must be a non-empty list of objects (feature name → value or list)")
    context = request.get("context")
    if context is not None and not isinstance(context, dict):
        raise invalid("'context' must be an object (feature name → value or list)")
    _, classes, scores = servable.classify(
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
        feature = example.features.feature[name]
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
