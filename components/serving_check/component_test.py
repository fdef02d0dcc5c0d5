"""ServingCheck in a real TFX pipeline (Importer → ServingCheck → Pusher, LocalDagRunner, SQLite ML Metadata): a model
that serves is pushed; one whose serving signature fails at call time is not, and the Pusher's output says so."""

import os

import pytest
import tensorflow as tf
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from sentence_tfx.components.pusher.component import create_pusher
from sentence_tfx.components.serving_check import executor
from sentence_tfx.components.serving_check.component import ServingCheck
from sentence_tfx.serving import warmup
from sentence_tfx.serving.conftest import write_classifier

TEXTS = [b"a great film", b"a dreadful, boring film", b"fine"]


class NumbersOnly(tf.Module):
    """Its signature parses each text as a number: it traces, saves and loads, and fails on the first real text."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def predict(self, text):
        return {"scores": tf.strings.to_number(text)[:, tf.newaxis]}


def _run(model_root, tmp_path) -> tuple[metadata_store_pb2.Artifact, metadata_store_pb2.Artifact]:
    """Imports `model_root` (a Trainer-style Model: <root>/Format-Serving) and runs the check and the Pusher on it;
    returns the InfraBlessing and PushedModel artifacts from ML Metadata."""
    connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(str(tmp_path / "metadata.sqlite"))
    model = tfx.dsl.Importer(
        source_uri=str(model_root),
        artifact_type=tfx.types.standard_artifacts.Model,
        custom_properties={"tfx_version": tfx.__version__},  # A current Model: its SavedModel is in Format-Serving.
    ).with_id("model")
    check = ServingCheck(model=model.outputs["result"])
    pusher = create_pusher(
        str(tmp_path / "serving"), model.outputs["result"], None, infra_blessing=check.outputs["blessing"]
    )
    tfx.orchestration.LocalDagRunner().run(
        tfx.dsl.Pipeline(
            pipeline_name="serving-check-test",
            pipeline_root=str(tmp_path / "root"),
            components=[model, check, pusher],
            metadata_connection_config=connection,
        )
    )
    store = metadata_store.MetadataStore(connection)
    [blessing] = store.get_artifacts_by_type("InfraBlessing")
    [pushed] = store.get_artifacts_by_type("PushedModel")
    return blessing, pushed


def test_a_model_that_serves_is_blessed_and_pushed(tiny_export, tmp_path):
    model_dir = tmp_path / "model" / "Format-Serving"
    write_classifier(tiny_export, model_dir, ["negative", "positive"], seed=1)
    warmup.write(model_dir, warmup.requests_for(TEXTS))
    blessing, pushed = _run(model_dir.parent, tmp_path)
    assert blessing.custom_properties["blessed"].int_value == 1
    assert blessing.custom_properties["warmup_requests"].int_value == 8  # Each over REST and over gRPC.
    assert os.listdir(blessing.uri) == ["INFRA_BLESSED"]
    assert pushed.custom_properties["pushed"].int_value == 1
    [version] = os.listdir(tmp_path / "serving")
    assert warmup.read(tmp_path / "serving" / version) == warmup.read(model_dir)


def test_a_model_whose_signature_fails_at_call_time_is_not_pushed(tmp_path):
    model_dir = tmp_path / "model" / "Format-Serving"
    model = NumbersOnly()
    tf.saved_model.save(model, str(model_dir), signatures={"serving_default": model.predict})
    warmup.write(model_dir, warmup.requests_for(TEXTS)[:1])
    blessing, pushed = _run(model_dir.parent, tmp_path)
    reason = blessing.custom_properties["reason"].string_value
    print(f"serving check: {reason}")
    assert blessing.custom_properties["blessed"].int_value == 0
    assert reason.startswith("the model does not load in the model server: Failed to load: warm-up record 1 of 1")
    assert "StringToNumberOp could not correctly convert string: fine" in reason
    with open(os.path.join(blessing.uri, "INFRA_NOT_BLESSED"), encoding="utf-8") as file:
        assert file.read() == reason
    assert pushed.custom_properties["pushed"].int_value == 0  # The Pusher's output: not pushed ...
    assert not (tmp_path / "serving").exists()  # ... and nothing reached the serving directory.


def test_a_model_without_warmup_records_fails_before_any_server_starts(tmp_path):
    with pytest.raises(executor.CheckFailed, match="tf_serving_warmup_requests is missing or empty"):
        executor.check_serving(str(tmp_path))
