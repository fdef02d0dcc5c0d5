"""TF Serving's gRPC PredictionService (Predict, Classify, GetModelMetadata) and ModelService (GetModelStatus).

Implemented on the official `tensorflow_serving.apis` protos, so TF Serving's own stubs work unchanged; methods not
implemented here (Regress, MultiInference, HandleReloadConfigRequest) answer UNIMPLEMENTED from the generated base.
"""

import functools
import logging
import math
from concurrent import futures

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    model_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from sentence_tfx.serving.metrics import Call
from sentence_tfx.serving.servable import Servable, ServingError, invalid
from sentence_tfx.serving.versions import VersionManager

logger = logging.getLogger(__name__)
SIGNATURE_DEF_FIELD = "signature_def"
# Requests block their thread while they wait in a batch: enough threads for a full batch of concurrent clients.
MAX_THREADS = 64


def _rpc(method_label: str):
    """Records the call's metrics, turns ServingError into the matching gRPC status and any other failure into
    INTERNAL. The method gets the Call to fill in."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, request, context):
            call = Call("grpc")
            call.method = method_label
            code, message = grpc.StatusCode.OK, ""
            try:
                return method(self, request, context, call)
            except ServingError as error:
                code, message = error.code, error.message
            except Exception as error:  # A bug must cost one request, not the server.
                logger.exception("Unexpected error in %s", method.__name__)
                code, message = grpc.StatusCode.INTERNAL, f"Internal error: {error}"
            finally:
                self._manager.metrics.finish(call, code)
            context.abort(code, message)

        return wrapper

    return decorate


def _version(spec: model_pb2.ModelSpec) -> int | None:
    if spec.WhichOneof("version_choice") == "version_label":
        raise invalid(f"Unrecognized servable version label: {spec.version_label}")
    return spec.version.value if spec.HasField("version") else None


def _spec(servable: Servable, request_spec: model_pb2.ModelSpec, signature_name: str) -> model_pb2.ModelSpec:
    spec = model_pb2.ModelSpec(name=request_spec.name, signature_name=signature_name)
    spec.version.value = servable.version
    return spec


def _ndarray(name: str, proto: tensor_pb2.TensorProto, max_elements: int) -> np.ndarray:
    """The tensor, unless its shape claims more elements than the request could carry: a TensorProto may list fewer
    values than its shape holds (the last is repeated), so a few bytes could otherwise ask for gigabytes."""
    sizes = [dim.size for dim in proto.tensor_shape.dim]
    if any(size < 0 for size in sizes) or math.prod(sizes) > max_elements:
        raise invalid(f"input {name}: shape {sizes} is negative or holds more than {max_elements} elements")
    try:
        return tf.make_ndarray(proto)
    except (TypeError, ValueError) as error:
        raise invalid(f"Malformed input TensorProto: {error}") from None


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, manager: VersionManager, max_elements: int):
        self._manager = manager
        self._max_elements = max_elements

    def _servable(self, spec: model_pb2.ModelSpec, call: Call) -> Servable:
        servable = self._manager.servable(spec.name, _version(spec))
        call.served_by(self._manager.model_name, servable.version)
        return servable

    @_rpc("predict")
    def Predict(self, request: predict_pb2.PredictRequest, context, call: Call) -> predict_pb2.PredictResponse:
        servable = self._servable(request.model_spec, call)
        inputs = {name: _ndarray(name, proto, self._max_elements) for name, proto in request.inputs.items()}
        call.signature = servable.signature(request.model_spec.signature_name)[0]
        signature_name, outputs = servable.predict(inputs, request.model_spec.signature_name)
        unknown = set(request.output_filter) - set(outputs)
        if unknown:
            raise invalid(
                f"output tensor alias not found in signature: {', '.join(sorted(unknown))} Outputs "
                f"expected to be in the set {{{','.join(sorted(outputs))}}}."
            )
        response = predict_pb2.PredictResponse(model_spec=_spec(servable, request.model_spec, signature_name))
        for name, value in outputs.items():
            if not request.output_filter or name in request.output_filter:
                response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response

    @_rpc("classify")
    def Classify(
        self, request: classification_pb2.ClassificationRequest, context, call: Call
    ) -> classification_pb2.ClassificationResponse:
        servable = self._servable(request.model_spec, call)
        kind = request.input.WhichOneof("kind")
        if kind is None:
            raise invalid("Input is empty")
        examples = getattr(request.input, kind)
        context_example = examples.context if kind == "example_list_with_context" else None
        signature_name, classes, scores = servable.classify(
            list(examples.examples), context_example, request.model_spec.signature_name
        )
        call.signature = signature_name
        response = classification_pb2.ClassificationResponse(
            model_spec=_spec(servable, request.model_spec, signature_name)
        )
        for row_classes, row_scores in zip(classes, scores):
            classifications = response.result.classifications.add()
            for label, score in zip(row_classes, row_scores):
                classifications.classes.add(label=label.decode(errors="replace"), score=score)
        return response

    @_rpc("metadata")
    def GetModelMetadata(
        self, request: get_model_metadata_pb2.GetModelMetadataRequest, context, call: Call
    ) -> get_model_metadata_pb2.GetModelMetadataResponse:
        if not request.metadata_field:
            raise invalid("GetModelMetadataRequest must specify at least one metadata_field")
        for field in request.metadata_field:
            if field != SIGNATURE_DEF_FIELD:
                raise invalid(f"Metadata field {field} is not supported")
        servable = self._servable(request.model_spec, call)
        response = get_model_metadata_pb2.GetModelMetadataResponse(model_spec=_spec(servable, request.model_spec, ""))
        response.metadata[SIGNATURE_DEF_FIELD].Pack(servable.signature_def_map())
        return response


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, manager: VersionManager):
        self._manager = manager

    @_rpc("status")
    def GetModelStatus(self, request, context, call: Call):
        status = self._manager.status(request.model_spec.name, _version(request.model_spec))
        call.model = self._manager.model_name
        return status


def create_server(manager: VersionManager, address: str, max_message_bytes: int) -> tuple[grpc.Server, int]:
    """A gRPC server bound to `address` (port 0 picks a free one); returns it unstarted with its port."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="grpc"),
        options=[("grpc.max_receive_message_length", max_message_bytes), ("grpc.max_send_message_length", -1)],
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(manager, max_elements=max_message_bytes), server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(manager), server)
    return server, server.add_insecure_port(address)
