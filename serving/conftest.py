"""Serving fixtures: real SavedModels with the pushed model's signatures (tiny encoder, random head), and a server.

Version 2 lists its classes in the opposite order to version 1, so every response shows which version answered.
"""

import contextlib
import shutil

import pytest

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from conftest import TINY_SEQ_LENGTH

MODEL_NAME = "sentiment"
CLASSES = {1: ["negative", "positive"], 2: ["positive", "negative"]}


def write_classifier(export_dir, out_dir, classes: list[str], seed: int) -> None:
    """Writes a SavedModel whose signature names, inputs and outputs are those of components/trainer/signatures.py."""
    import tensorflow as tf
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401

    from sentence_tfx import features
    from sentence_tfx.components.trainer.signatures import mark_as_classification
    from sentence_tfx.features import CLASSIFY_INPUTS, CLASSIFY_SIGNATURE

    class Classifier(tf.Module):
        def __init__(self):
            super().__init__()
            self.preprocess = hub.KerasLayer(str(export_dir / "preprocessor"))
            self.encoder = hub.KerasLayer(str(export_dir / "encoder"))
            dim = self.encoder(self.preprocess(tf.constant(["x"])))["pooled_output"].shape[-1]
            self.head = tf.Variable(tf.random.stateless_normal([dim, len(classes)], seed=[seed, 0]) * 10)
            self.classes = tf.constant(classes)

        def predict(self, ids):
            scores = tf.nn.softmax(self.encoder(ids)["pooled_output"] @ self.head)
            return {
                "scores": scores,
                "classes": tf.tile(self.classes[tf.newaxis], [tf.shape(scores)[0], 1]),
                "label": tf.gather(self.classes, tf.argmax(scores, axis=-1)),
            }

    model = Classifier()
    text_spec = tf.TensorSpec([None], tf.string, name=features.TEXT)
    examples_spec = tf.TensorSpec([None], tf.string, name=CLASSIFY_INPUTS)
    ids_spec = {name: tf.TensorSpec([None, TINY_SEQ_LENGTH], tf.int32, name=name) for name in features.TOKEN_FEATURES}
    parse_spec = {features.TEXT: tf.io.FixedLenFeature([], tf.string, default_value="")}
    signatures = {
        "serving_default": tf.function(lambda text: model.predict(model.preprocess(text)), input_signature=[text_spec]),
        CLASSIFY_SIGNATURE: tf.function(
            lambda inputs: {
                key: value
                for key, value in model.predict(
                    model.preprocess(tf.io.parse_example(inputs, parse_spec)["text"])
                ).items()
                if key in ("classes", "scores")
            },
            input_signature=[examples_spec],
        ),
        "serving_token_ids": tf.function(model.predict, input_signature=[ids_spec]),
        "embed": tf.function(
            lambda text: {"embedding": model.encoder(model.preprocess(text))["pooled_output"]},
            input_signature=[text_spec],
        ),
    }
    tf.saved_model.save(model, str(out_dir), signatures=signatures)
    mark_as_classification(str(out_dir), CLASSIFY_SIGNATURE)


@pytest.fixture(scope="session")
def model_versions(tiny_export, tmp_path_factory):
    """{version: SavedModel directory}, written once per session."""
    root = tmp_path_factory.mktemp("serving_models")
    for version, classes in CLASSES.items():
        write_classifier(tiny_export, root / str(version), classes, seed=version)
    return {version: root / str(version) for version in CLASSES}


@contextlib.contextmanager
def running_server(model_versions, base_dir, push_first: bool = True, **options):
    """A server on ephemeral 127.0.0.1 ports over `base_dir`, with version 1 pushed unless `push_first` is False;
    fast polling, 64 KiB bodies unless `options` (ModelServer's) say otherwise."""
    from sentence_tfx.serving.server import ModelServer

    if push_first:
        shutil.copytree(model_versions[1], base_dir / "1")
    options = {"poll_interval": 0.2, "max_body_bytes": 64 * 1024, **options}
    server = ModelServer(base_dir, MODEL_NAME, rest_port=0, grpc_port=0, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(model_versions, tmp_path_factory):
    """Shared by a module's tests, which do not change the served versions."""
    with running_server(model_versions, tmp_path_factory.mktemp("serving")) as server:
        yield server
