"""Warm-up records: TF Serving's file format, replayed by the server when it loads a version, before the swap."""

import shutil

import grpc
import pytest
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

from sentence_tfx.serving import warmup
from sentence_tfx.serving.servable import Servable, ServingError
from sentence_tfx.serving.versions import VersionManager

TEXTS = [
    b"a great film",
    b"dull",
    b"a long, slow and ultimately pointless film about nothing",
    b"fine",
    b"\xc3\xa9t\xc3\xa9",
]


def _version_with_records(model_dir, target, records):
    shutil.copytree(model_dir, target)
    warmup.write(target, records)
    return target


def test_the_file_is_a_tfrecord_of_prediction_logs_for_both_signatures(tmp_path):
    path = warmup.write(tmp_path, warmup.requests_for(TEXTS))
    assert path == str(tmp_path / "assets.extra" / "tf_serving_warmup_requests")
    logs = [
        prediction_log_pb2.PredictionLog.FromString(record)
        for record in tf.data.TFRecordDataset(path).as_numpy_iterator()
    ]
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log"] * 4 + ["classify_log"] * 4
    predicts = [log.predict_log.request for log in logs[:4]]
    assert {request.model_spec.signature_name for request in predicts} == {"serving_default"}
    batches = [tf.make_ndarray(request.inputs["text"]).tolist() for request in predicts]
    assert batches == [[b"dull"], [TEXTS[4]], [TEXTS[2]], TEXTS]  # Shortest, median, longest (bytes), all.
    classifies = [log.classify_log.request for log in logs[4:]]
    assert {request.model_spec.signature_name for request in classifies} == {"serving_tf_example"}
    assert [
        [example.features.feature["text"].bytes_list.value[0] for example in request.input.example_list.examples]
        for request in classifies
    ] == batches


def test_a_loaded_version_replays_its_records(model_versions, tmp_path):
    version = _version_with_records(model_versions[1], tmp_path / "1", warmup.requests_for(TEXTS))
    assert Servable(version, 1).warm_up() == 8
    assert Servable(model_versions[1], 1).warm_up() == 0  # No file: no warm-up, as in TF Serving.


def _bad_text_request() -> prediction_log_pb2.PredictionLog:
    request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(signature_name="serving_default"))
    request.inputs["text"].CopyFrom(tf.make_tensor_proto([[1.5]]))  # Floats of rank 2 where strings [batch] go.
    return prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))


def test_a_failing_record_fails_the_load_and_the_served_version_stays(model_versions, tmp_path):
    _version_with_records(model_versions[1], tmp_path / "1", warmup.requests_for(TEXTS))
    records = [*warmup.requests_for(TEXTS[:1]), _bad_text_request()]  # 2 Predict + 2 Classify, then the bad one.
    _version_with_records(model_versions[2], tmp_path / "2", records)
    with pytest.raises(ServingError, match="warm-up record 5 of 5: input text: expects DT_STRING but got DT_FLOAT"):
        Servable(tmp_path / "2", 2).warm_up()

    manager = VersionManager(tmp_path, "sentiment")
    shutil.move(tmp_path / "2", tmp_path / "later")  # Version 1 first, then a push of version 2.
    manager.poll()
    shutil.move(tmp_path / "later", tmp_path / "2")
    manager.poll()
    assert manager.servable("sentiment").version == 1
    [failed, served] = manager.status("sentiment").model_version_status
    assert (failed.version, served.version, served.status.error_code) == (2, 1, grpc.StatusCode.OK.value[0])
    assert failed.status.error_message.startswith("Failed to load: warm-up record 5 of 5: input text: expects")


def test_files_tf_serving_would_refuse_are_refused(tmp_path):
    record = warmup.requests_for(TEXTS[:1])[0]
    with pytest.raises(ValueError, match="1001 warm-up records; TF Serving reads at most 1000"):
        warmup.write(tmp_path, [record] * 1001)
    path = warmup.write(tmp_path, [record])
    with tf.io.TFRecordWriter(path) as writer:
        for _ in range(1001):
            writer.write(record.SerializeToString())
    with pytest.raises(ValueError, match="holds more than 1000 warm-up records"):
        warmup.read(tmp_path)
    with open(path, "wb") as file:
        file.write(b"not a TFRecord file at all")
    with pytest.raises(ValueError, match="record 1 is not a TFRecord of PredictionLog"):
        warmup.read(tmp_path)
