"""The exported model's signatures. Tokenization comes from the Transform graph, so serving cannot drift from training.

- serving_default: raw text strings → scores, classes (label names), label (the top class)
- serving_tf_example: `inputs`, serialized tf.Example → scores, classes: a classification signature, so TF Serving's
  Classify API and TFMA can use it
- serving_token_ids: the three int32 [batch, seq_length] id tensors → same outputs
- embed: raw text → the (fine-tuned) encoder's sentence embedding
- transform_features: serialized tf.Example → transformed features (TFMA's label preprocessing)
"""

import os

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras
from tensorflow.core.protobuf import saved_model_pb2

from sentence_tfx import features
from sentence_tfx.components.trainer import model as classifier_model
from sentence_tfx.features import CLASSIFY_INPUTS, CLASSIFY_SIGNATURE


def export(
    classifier: tf_keras.Model, encoder, tft_output: tft.TFTransformOutput, label_names, seq_length: int, path: str
) -> None:
    raw_spec = tft_output.raw_feature_spec()
    serving_spec = {name: spec for name, spec in raw_spec.items() if name != features.LABEL}
    classifier.tft_layer = tft_output.transform_features_layer()  # Tracked, so its assets are saved.
    classes = tf.constant(list(label_names))

    def predict(ids):
        scores = classifier(ids, training=False)
        return {
            "scores": scores,
            "classes": tf.tile(classes[tf.newaxis], [tf.shape(scores)[0], 1]),
            "label": tf.gather(classes, tf.argmax(scores, axis=-1)),
        }

    def token_ids(transformed):
        return {name: tf.cast(transformed[name], tf.int32) for name in features.TOKEN_FEATURES}

    def transform_text(text):
        return classifier.tft_layer({features.TEXT: tf.sparse.from_dense(tf.reshape(text, [-1, 1]))})

    text_spec = tf.TensorSpec([None], tf.string, name=features.TEXT)
    # autograph=False throughout: no Python control flow here depends on tensors, so converting source is wasted time.

    @tf.function(input_signature=[text_spec], autograph=False)
    def serve_text(text):
        return predict(token_ids(transform_text(text)))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=CLASSIFY_INPUTS)], autograph=False)
    def serve_tf_example(inputs):
        outputs = predict(token_ids(classifier.tft_layer(tf.io.parse_example(inputs, serving_spec))))
        return {key: outputs[key] for key in ("classes", "scores")}  # TF Serving's Classify allows just these.

    @tf.function(
        input_signature=[
            {name: tf.TensorSpec([None, seq_length], tf.int32, name=name) for name in features.TOKEN_FEATURES}
        ],
        autograph=False,
    )
    def serve_token_ids(ids):
        return predict(ids)

    @tf.function(input_signature=[text_spec], autograph=False)
    def embed(text):
        ids = token_ids(transform_text(text))
        return {"embedding": classifier_model.sentence_embedding(encoder, ids, training=False)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")], autograph=False)
    def transform_features(examples):
        return classifier.tft_layer(tf.io.parse_example(examples, raw_spec))

    classifier.save(
        path,
        save_format="tf",
        include_optimizer=False,
        save_traces=False,  # Nothing loads it back as Keras: served and evaluated by its signatures only.
        signatures={
            features.DEFAULT_SIGNATURE: serve_text,
            CLASSIFY_SIGNATURE: serve_tf_example,
            features.TOKEN_IDS_SIGNATURE: serve_token_ids,
            features.EMBED_SIGNATURE: embed,
            features.TRANSFORM_SIGNATURE: transform_features,
        },
    )
    mark_as_classification(path, CLASSIFY_SIGNATURE)


def mark_as_classification(path: str, signature: str) -> None:
    """TF2 saves every signature as a predict one; TF Serving's Classify insists on the classify method name."""
    saved_model_file = os.path.join(path, "saved_model.pb")
    saved_model = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(saved_model_file, "rb") as file:
        saved_model.ParseFromString(file.read())
    for meta_graph in saved_model.meta_graphs:
        meta_graph.signature_def[signature].method_name = tf.saved_model.CLASSIFY_METHOD_NAME
    with tf.io.gfile.GFile(saved_model_file, "wb") as file:
        file.write(saved_model.SerializeToString())
