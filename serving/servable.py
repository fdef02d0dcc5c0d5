"""One loaded model version: its SignatureDefs as TF Serving reports them, and validated calls into its signatures.

Validation happens here, once, so REST and gRPC reject the same requests with the same messages.
"""

import logging
import time
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops before any model loads)
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, prediction_log_pb2

from sentence_tfx.features import CLASSIFY_INPUTS, CLASSIFY_SIGNATURE, DEFAULT_SIGNATURE
from sentence_tfx.serving import warmup

logger = logging.getLogger(__name__)


class ServingError(Exception):
    """A request failure with the gRPC status code TF Serving would return (REST maps it to an HTTP status)."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


def dtype_name(dtype: int) -> str:
    return types_pb2.DataType.Name(dtype)


def _shape(info: meta_graph_pb2.TensorInfo) -> list[int] | None:
    """The signature's shape with -1 for unknown dimensions; None when even the rank is unknown."""
    return None if info.tensor_shape.unknown_rank else [dim.size for dim in info.tensor_shape.dim]


def _grpc_code(error: tf.errors.OpError) -> grpc.StatusCode:
    """TF's error codes are numerically gRPC's."""
    return next((code for code in grpc.StatusCode if code.value[0] == error.error_code), grpc.StatusCode.UNKNOWN)


class Servable:
    """A SavedModel version loaded with tag `serve`, as TF Serving loads it."""

    def __init__(self, path: Path, version: int):
        self.path = Path(path)
        self.version = version
        saved_model = saved_model_pb2.SavedModel.FromString((Path(path) / "saved_model.pb").read_bytes())
        meta_graph = next((graph for graph in saved_model.meta_graphs if "serve" in graph.meta_info_def.tags), None)
        if meta_graph is None:
            raise ValueError(f"{path} has no MetaGraph tagged 'serve'")
        self.signature_defs = dict(meta_graph.signature_def)
        self._model = tf.saved_model.load(str(path), tags=["serve"])

    def warm_up(self) -> int:
        """Replays the version's warm-up records (assets.extra/tf_serving_warmup_requests) as TF Serving does when it
        loads a model, so each signature's first, slow call happens before the version takes traffic. Like TF Serving,
        any record that fails fails the load, and a model without the file gets no warm-up. Returns the count."""
        started = time.monotonic()
        records = warmup.read(self.path)
        for number, record in enumerate(records, 1):
            try:
                self._replay(record)
            except ServingError as error:
                raise ServingError(error.code, f"warm-up record {number} of {len(records)}: {error.message}") from error
        logger.info(
            "Version %d: %d warm-up records replayed in %.2f s", self.version, len(records), time.monotonic() - started
        )
        return len(records)

    def _replay(self, record: prediction_log_pb2.PredictionLog) -> None:
        kind = record.WhichOneof("log_type")
        if kind == "predict_log":
            request = record.predict_log.request
            inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
            self.predict(inputs, request.model_spec.signature_name)
        elif kind == "classify_log":
            request = record.classify_log.request
            examples, context = warmup.classification_examples(request)
            self.classify(examples, context, request.model_spec.signature_name)
        else:
            raise ServingError(grpc.StatusCode.UNIMPLEMENTED, f"{kind} warm-up records are not supported")

    def signature(self, name: str) -> tuple[str, meta_graph_pb2.SignatureDef]:
        name = name or DEFAULT_SIGNATURE
        if name not in self.signature_defs or name not in self._model.signatures:
            raise invalid(f'Serving signature name: "{name}" not found in signature def')
        return name, self.signature_defs[name]

    def predict(self, inputs: dict[str, np.ndarray], signature_name: str) -> tuple[str, dict[str, np.ndarray]]:
        """Checks names, dtypes, shapes and batch size against the SignatureDef, then runs the signature."""
        name, signature = self.signature(signature_name)
        check_input_names(signature, inputs)
        tensors = {key: _checked_tensor(key, value, signature.inputs[key]) for key, value in inputs.items()}
        try:
            outputs = self._model.signatures[name](**tensors)
        except tf.errors.OpError as error:
            raise ServingError(_grpc_code(error), error.message) from error
        return name, {key: value.numpy() for key, value in outputs.items()}

    def classify(
        self, examples: list[tf.train.Example], context: tf.train.Example | None, signature_name: str
    ) -> tuple[str, np.ndarray, np.ndarray]:
        """Runs a signature that takes serialized tf.Examples and outputs `classes` and `scores` [batch, classes].

        TF Serving defaults to serving_default, which here takes raw text, so the default is serving_tf_example; its
        method_name is not checked, so models pushed before it became a classify signature still classify.
        """
        name, signature = self.signature(signature_name or CLASSIFY_SIGNATURE)
        inputs = dict(signature.inputs)
        if (
            signature.method_name != tf.saved_model.CLASSIFY_METHOD_NAME
            or set(inputs) != {CLASSIFY_INPUTS}
            or inputs[CLASSIFY_INPUTS].dtype != types_pb2.DT_STRING
            or not {"classes", "scores"} <= set(signature.outputs)
        ):
            raise invalid(
                f'Signature "{name}" cannot classify: like TF Serving, it needs the classify method name, '
                f"one DT_STRING input '{CLASSIFY_INPUTS}' of serialized tf.Examples, and outputs 'classes' "
                "and 'scores'"
            )
        serialized = [_with_context(example, context).SerializeToString() for example in examples]
        _, outputs = self.predict({CLASSIFY_INPUTS: np.array(serialized, dtype=object)}, name)
        return name, outputs["classes"], outputs["scores"]

    def signature_def_map(self) -> get_model_metadata_pb2.SignatureDefMap:
        return get_model_metadata_pb2.SignatureDefMap(signature_def=self.signature_defs)


def check_input_names(signature: meta_graph_pb2.SignatureDef, names) -> None:
    sent, expected = set(names), set(signature.inputs)
    if sent != expected:
        raise invalid(
            f"input size does not match signature: {len(sent)}!={len(expected)} "
            f"len({{{','.join(sorted(sent))}}}) != len({{{','.join(sorted(expected))}}}). "
            f"Sent extra: {{{','.join(sorted(sent - expected))}}}. "
            f"Missing but required: {{{','.join(sorted(expected - sent))}}}."
        )


def _with_context(example: tf.train.Example, context: tf.train.Example | None) -> tf.train.Example:
    if context is None:
        return example
    shared = set(example.features.feature) & set(context.features.feature)
    if shared:
        raise invalid(f"Features in the context must not appear in the examples: {', '.join(sorted(shared))}")
    merged = tf.train.Example()
    merged.CopyFrom(example)
    merged.features.feature.MergeFrom(context.features.feature)
    return merged


def _checked_tensor(key: str, value: np.ndarray, info: meta_graph_pb2.TensorInfo) -> tf.Tensor:
    expected_dtype = tf.dtypes.as_dtype(info.dtype)
    actual_dtype = tf.string if value.dtype == object else tf.dtypes.as_dtype(value.dtype)
    if actual_dtype != expected_dtype:
        raise invalid(
            f"input {key}: expects {dtype_name(info.dtype)} but got {dtype_name(actual_dtype.as_datatype_enum)}"
        )
    shape = _shape(info)
    if shape is not None and (
        len(shape) != value.ndim or any(want not in (-1, got) for want, got in zip(shape, value.shape))
    ):
        raise invalid(
            f"input {key}: shape {list(value.shape)} does not match the signature's shape {shape} (-1: any size)"
        )
    if value.ndim and value.shape[0] == 0:
        raise invalid(f"input {key}: empty batch")
    return tf.constant(value, dtype=expected_dtype)
