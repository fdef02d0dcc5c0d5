"""The classifier over pre-tokenized ids: int32 ids → trim padding → hub encoder → pooled_output → MLP head."""

import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401  (the encoder handle may come with text ops)
import tf_keras

from sentence_tfx import features

ENCODER_LAYER = "sentence_encoder"


class TrimPadding(tf_keras.layers.Layer):
    """Cuts the batch to its longest real sequence: the fixed-length interface stays, padding costs nothing."""

    def call(self, inputs):
        longest = tf.reduce_max(tf.reduce_sum(inputs[features.MASK], axis=1))
        return {name: value[:, :longest] for name, value in inputs.items()}


def token_inputs(seq_length: int) -> dict:
    return {name: tf_keras.Input([seq_length], dtype=tf.int32, name=name) for name in features.TOKEN_FEATURES}


def build_head(num_classes: int, hidden_units: int, dropout: float) -> tf_keras.Sequential:
    return tf_keras.Sequential(
        [
            tf_keras.layers.Dense(hidden_units, activation="relu", name="hidden"),
            tf_keras.layers.Dropout(dropout, name="head_dropout"),
            tf_keras.layers.Dense(num_classes, activation="softmax", name="probabilities"),
        ],
        name="head",
    )


def build_linear_head(num_classes: int) -> tf_keras.Sequential:
    """A softmax layer: --mode setfit's head, whose weights come from a logistic regression."""
    return tf_keras.Sequential(
        [tf_keras.layers.Dense(num_classes, activation="softmax", name="probabilities")], name="head"
    )


def build_encoder(encoder_handle: str, trainable: bool) -> hub.KerasLayer:
    return hub.KerasLayer(encoder_handle, trainable=trainable, name=ENCODER_LAYER)


def sentence_embedding(encoder: hub.KerasLayer, ids: dict, training=None) -> tf.Tensor:
    return encoder(TrimPadding()(ids), training=training)["pooled_output"]


def build_classifier(
    encoder: hub.KerasLayer, head: tf_keras.Sequential, seq_length: int, model_class=tf_keras.Model
) -> tf_keras.Model:
    inputs = token_inputs(seq_length)
    return model_class(inputs=inputs, outputs=head(sentence_embedding(encoder, inputs)), name="classifier")
