"""TF Serving's warm-up file, `<model>/assets.extra/tf_serving_warmup_requests`: a TFRecord of PredictionLogs that a
model server replays when it loads a version, before the version takes traffic.

The Trainer writes it with real texts from the eval split; `sentence-tfx serve` and real TF Serving both replay it,
and the pipeline's serving check replays it over REST and gRPC. Writer and reader live here so the format is defined
once.
"""

import os

import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow_serving.apis import classification_pb2, model_pb2, predict_pb2, prediction_log_pb2

from sentence_tfx.features import CLASSIFY_SIGNATURE, DEFAULT_SIGNATURE, TEXT

ASSETS_EXTRA = "assets.extra"  # tf.saved_model's directory for files that are not part of the graph.
WARMUP_FILE = "tf_serving_warmup_requests"
MAX_RECORDS = 1000  # TF Serving fails the load of a model with more (WarmupConsts::kMaxNumRecords).


def warmup_path(model_dir) -> str:
    return os.path.join(str(model_dir), ASSETS_EXTRA, WARMUP_FILE)


def _text_example(text: bytes) -> tf.train.Example:
    return tf.train.Example(
        features=tf.train.Features(feature={TEXT: tf.train.Feature(bytes_list=tf.train.BytesList(value=[text]))})
    )


def requests_for(texts: list[bytes]) -> list[prediction_log_pb2.PredictionLog]:
    """Predict requests for serving_default, then Classify requests for the classify signature: each with the
    shortest, a median and the longest of `texts` alone, then with all of them, so the longest inputs and a batch as
    large as a client's have run once before the first real request."""
    if not texts:
        return []
    by_length = sorted(texts, key=len)
    batches = [[by_length[index]] for index in sorted({0, len(texts) // 2, len(texts) - 1})] + [list(texts)]
    records = []
    for batch in batches:
        predict = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(signature_name=DEFAULT_SIGNATURE))
        predict.inputs[TEXT].CopyFrom(tf.make_tensor_proto(batch, dtype=tf.string))
        records.append(prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=predict)))
    for batch in batches:
        classify = classification_pb2.ClassificationRequest(
            model_spec=model_pb2.ModelSpec(signature_name=CLASSIFY_SIGNATURE)
        )
        classify.input.example_list.examples.extend(_text_example(text) for text in batch)
        records.append(prediction_log_pb2.PredictionLog(classify_log=prediction_log_pb2.ClassifyLog(request=classify)))
    return records


def classification_examples(
    request: classification_pb2.ClassificationRequest,
) -> tuple[list[tf.train.Example], tf.train.Example | None]:
    """A Classify request's examples and its context example (None without one)."""
    kind = request.input.WhichOneof("kind")
    if kind is None:
        return [], None
    holder = getattr(request.input, kind)
    return list(holder.examples), holder.context if kind == "example_list_with_context" else None


def write(model_dir, records: list[prediction_log_pb2.PredictionLog]) -> str:
    if len(records) > MAX_RECORDS:
        raise ValueError(f"{len(records)} warm-up records; TF Serving reads at most {MAX_RECORDS}")
    path = warmup_path(model_dir)
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record.SerializeToString())
    return path


def read(model_dir) -> list[prediction_log_pb2.PredictionLog]:
    """The model's warm-up records; none if it has no warm-up file. Like TF Serving, a record that does not parse or
    more than MAX_RECORDS records are an error (ValueError, naming the file)."""
    path = warmup_path(model_dir)
    if not tf.io.gfile.exists(path):
        return []
    records = []
    try:
        for serialized in tf.data.TFRecordDataset(path).take(MAX_RECORDS + 1).as_numpy_iterator():
            records.append(prediction_log_pb2.PredictionLog.FromString(serialized))
    except (tf.errors.OpError, DecodeError) as error:  # DataLossError: not a TFRecord file.
        raise ValueError(f"{path}: record {len(records) + 1} is not a TFRecord of PredictionLog: {error}") from None
    if len(records) > MAX_RECORDS:
        raise ValueError(f"{path} holds more than {MAX_RECORDS} warm-up records, the most TF Serving reads")
    return records
