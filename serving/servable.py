"""One loaded model version: its SignatureDefs as TF Serving reports them, and validated calls into its signatures.

Validation happens here, once, so REST and gRPC reject the same requests with the same messages, and before a request
joins a batch. Texts are cut to what the model's seq_length can use before they reach the tokenizer, so one huge text
costs no more than a long one.
"""

import logging
import os
import time
import threading
from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops before any model loads)
from google.protobuf import message
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, prediction_log_pb2

from sentence_tfx.features import (
    CLASSIFY_INPUTS,
    CLASSIFY_SIGNATURE,
    DEFAULT_SIGNATURE,
    TEXT,
    TOKEN_IDS_SIGNATURE,
    WORD_IDS,
)
from sentence_tfx.serving import warmup
from sentence_tfx.serving.batching import Batcher, BatchingOptions

# A wordpiece comes from a word of at most 100 characters (longer words become one [UNK]) of at most 4 UTF-8 bytes,
# plus a separator: seq_length × 404 bytes hold every token the model can use, unless the text hides long runs of
# whitespace or characters the normalizer drops.
BYTES_PER_TOKEN = 404
DEFAULT_SEQ_LENGTH = 512  # BERT's position limit, for a model without the serving_token_ids signature.
MAX_RANK = 32  # numpy's limit
# Model calls running at once in this process, whatever their version or API. More only share the same cores, and
# each call takes the GIL to start and to finish: with dozens in flight a version loading beside them (long stretches
# under the GIL) stalls them all for seconds. The others wait outside, without the GIL.
CONCURRENT_MODEL_CALLS = 2 * (os.cpu_count() or 1)
_model_calls = threading.BoundedSemaphore(CONCURRENT_MODEL_CALLS)
SERIALIZED_EXAMPLE_INPUTS = (CLASSIFY_INPUTS, "examples")  # serving_tf_example's and transform_features' inputs
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


def max_text_bytes(signature_defs: dict[str, meta_graph_pb2.SignatureDef]) -> int:
    """The per-text byte cap: BYTES_PER_TOKEN × the seq_length of serving_token_ids' input_word_ids [batch, seq]."""
    token_ids = signature_defs.get(TOKEN_IDS_SIGNATURE)
    shape = _shape(token_ids.inputs[WORD_IDS]) if token_ids and WORD_IDS in token_ids.inputs else None
    seq_length = shape[1] if shape and len(shape) == 2 and shape[1] > 0 else DEFAULT_SEQ_LENGTH
    return seq_length * BYTES_PER_TOKEN


def cut_text(text: bytes, max_bytes: int) -> bytes:
    """The first max_bytes bytes of a UTF-8 text, ending on a character boundary."""
    if len(text) <= max_bytes:
        return text
    end = max_bytes
    while end > 0 and text[end] & 0xC0 == 0x80:  # a continuation byte: the cut would split a character
        end -= 1
    return text[:end]


def _batchable(signature: meta_graph_pb2.SignatureDef) -> bool:
    """Every input and output has a leading batch dimension of unknown size, so calls can be concatenated."""
    return all(
        (shape := _shape(info)) and shape[0] == -1 for info in (*signature.inputs.values(), *signature.outputs.values())
    )


class Servable:
    """A SavedModel version loaded with tag `serve`, as TF Serving loads it.

    With `batching`, calls of each batchable signature go through a Batcher; `on_batch(signature, rows)` sees each
    merged call.
    """

    def __init__(
        self,
        path: Path,
        version: int,
        batching: BatchingOptions | None = None,
        on_batch: Callable[[str, int], None] | None = None,
    ):
        self.path = Path(path)
        self.version = version
        saved_model = saved_model_pb2.SavedModel.FromString((Path(path) / "saved_model.pb").read_bytes())
        meta_graph = next((graph for graph in saved_model.meta_graphs if "serve" in graph.meta_info_def.tags), None)
        if meta_graph is None:
            raise ValueError(f"{path} has no MetaGraph tagged 'serve'")
        self.signature_defs = dict(meta_graph.signature_def)
        self.max_text_bytes = max_text_bytes(self.signature_defs)
        self._model = tf.saved_model.load(str(path), tags=["serve"])
        self._batching = batching
        self._on_batch = on_batch or (lambda signature, rows: None)
        self._batchers: dict[str, Batcher | None] = {}
        self._batchers_lock = threading.Lock()

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
        """Checks names, dtypes, shapes and batch size against the SignatureDef, cuts texts, then runs the signature."""
        name, signature = self.signature(signature_name)
        check_input_names(signature, inputs)
        arrays = {
            key: self._cut(key, _checked_array(key, value, signature.inputs[key])) for key, value in inputs.items()
        }
        batcher = self._batcher(name)
        return name, batcher(arrays) if batcher else self._call(name, arrays)

    def retire(self) -> None:
        """Stops the batch threads once queued calls are done (the version was swapped out)."""
        with self._batchers_lock:
            batchers = [batcher for batcher in self._batchers.values() if batcher]
        for batcher in batchers:
            batcher.retire()

    def _batcher(self, name: str) -> Batcher | None:
        if self._batching is None:
            return None
        with self._batchers_lock:
            if name not in self._batchers:
                self._batchers[name] = (
                    Batcher(
                        lambda arrays: self._call(name, arrays),
                        self._batching,
                        lambda rows: self._on_batch(name, rows),
                    )
                    if _batchable(self.signature_defs[name])
                    else None
                )
            return self._batchers[name]

    def _call(self, name: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs = self.signature_defs[name].inputs
        tensors = {
            key: tf.constant(value, dtype=tf.dtypes.as_dtype(inputs[key].dtype)) for key, value in arrays.items()
        }
        try:
            with _model_calls:
                outputs = self._model.signatures[name](**tensors)
        except tf.errors.OpError as error:
            raise ServingError(_grpc_code(error), error.message) from error
        return {key: value.numpy() for key, value in outputs.items()}

    def _cut(self, key: str, value: np.ndarray) -> np.ndarray:
        """Texts, and the texts inside serialized tf.Examples, cut to max_text_bytes."""
        if value.dtype != object or key not in (TEXT, *SERIALIZED_EXAMPLE_INPUTS):
            return value
        cut = cut_text if key == TEXT else _cut_serialized_example
        flat = [
            element if len(element) <= self.max_text_bytes else cut(element, self.max_text_bytes)
            for element in value.ravel()
        ]
        return np.array(flat, dtype=object).reshape(value.shape)

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
        merged = [_with_context(example, context) for example in examples]
        for index, example in enumerate(merged):
            _check_text_feature(index, example)
            text = example.features.feature[TEXT].bytes_list.value
            text[0] = cut_text(text[0], self.max_text_bytes)
        serialized = [example.SerializeToString() for example in merged]
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


def _check_text_feature(index: int, example: tf.train.Example) -> None:
    """The models parse `text` with a default of "": without it they would classify an empty text."""
    feature = example.features.feature.get(TEXT)
    kind = feature.WhichOneof("kind") if feature is not None else None
    if kind != "bytes_list" or len(feature.bytes_list.value) != 1:
        found = "none" if kind is None else f"{len(getattr(feature, kind).value)} value(s) in a {kind}"
        raise invalid(f"example {index}: feature '{TEXT}' must hold one string, the text to classify; found {found}")


def _cut_serialized_example(serialized: bytes, max_bytes: int) -> bytes:
    example = tf.train.Example()
    try:
        example.ParseFromString(serialized)
    except message.DecodeError:
        raise invalid(f"a {len(serialized)}-byte string is not a serialized tf.Example") from None
    feature = example.features.feature.get(TEXT)
    if feature is not None and feature.WhichOneof("kind") == "bytes_list":
        texts = feature.bytes_list.value
        texts[:] = [cut_text(text, max_bytes) for text in texts]
    return example.SerializeToString()


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


def _checked_array(key: str, value: np.ndarray, info: meta_graph_pb2.TensorInfo) -> np.ndarray:
    expected_dtype = tf.dtypes.as_dtype(info.dtype)
    actual_dtype = tf.string if value.dtype == object else tf.dtypes.as_dtype(value.dtype)
    if actual_dtype != expected_dtype:
        raise invalid(
            f"input {key}: expects {dtype_name(info.dtype)} but got {dtype_name(actual_dtype.as_datatype_enum)}"
        )
    check_shape(key, list(value.shape), info)
    if value.ndim and value.shape[0] == 0:
        raise invalid(f"input {key}: empty batch")
    return value


def check_shape(key: str, shape: list[int], info: meta_graph_pb2.TensorInfo) -> None:
    expected = _shape(info)
    if expected is not None and (
        len(expected) != len(shape) or any(want not in (-1, got) for want, got in zip(expected, shape))
    ):
        raise invalid(f"input {key}: shape {shape} does not match the signature's shape {expected} (-1: any size)")
    if len(shape) > MAX_RANK:
        raise invalid(f"input {key}: {len(shape)} dimensions; at most {MAX_RANK} are supported")
