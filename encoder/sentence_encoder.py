"""The encoder in the form Keras snippets expect: `hub.KerasLayer(".../sentence_encoder")` → embedding tensor.

`encoder/` keeps TF Hub's BERT interface (dict in, dict out) that the pipeline and TF Hub users rely on. The common
Keras snippets put `Dense` straight on the layer's output and may feed one tensor of token ids, so this second
Reusable SavedModel, with the same weights, takes either the preprocessor's dict or an int32/int64
[batch, seq_length] tensor of ids (mask = ids != [PAD], type ids 0) and returns the sentence embedding [batch, dim].
"""

from pathlib import Path

import tensorflow as tf
import tf_keras

from sentence_tfx import features

EMBEDDING_OUTPUT = "embedding"  # The serving_default signature's output (input: input_word_ids).
_ID_DTYPES = (tf.int32, tf.int64)


class SentenceEncoder(tf.__internal__.tracking.AutoTrackable):
    """TF Hub's Reusable SavedModel interface: `__call__(inputs, training=False)`, `variables`,
    `trainable_variables`, `regularization_losses` (empty, as encoder/'s: the converted weights carry no
    regularizers; weight decay belongs to the optimizer)."""

    def __init__(self, keras_encoder: tf_keras.Model, pad_id: int):
        self.variables = list(keras_encoder.variables)
        self.trainable_variables = list(keras_encoder.trainable_variables)
        self.regularization_losses = []
        # One trace of the encoder per `training` value, called by every input form's trace of __call__. A
        # closure, not the Keras model as an attribute, so Keras's own SavedModel functions are not written again.
        self._encode = tf.function(
            lambda inputs, training: keras_encoder(inputs, training=training)["pooled_output"], autograph=False
        )
        self._pad_id = pad_id

    @tf.function
    def __call__(self, inputs, training=False):
        if isinstance(inputs, dict):
            inputs = {name: tf.cast(inputs[name], tf.int32) for name in features.TOKEN_FEATURES}
        else:
            word_ids = tf.cast(inputs, tf.int32)
            inputs = {
                features.WORD_IDS: word_ids,
                features.MASK: tf.cast(word_ids != self._pad_id, tf.int32),
                features.TYPE_IDS: tf.zeros_like(word_ids),
            }
        return self._encode(inputs, training)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name=features.WORD_IDS)])
    def serve_token_ids(self, input_word_ids):
        return {EMBEDDING_OUTPUT: self(input_word_ids)}


def save(keras_encoder: tf_keras.Model, pad_id: int, out_dir: Path) -> None:
    """Traces `__call__` for every input form (dict or one tensor, int32 or int64, training or not) and saves."""
    module = SentenceEncoder(keras_encoder, pad_id)
    for spec in (tf.TensorSpec([None, None], dtype) for dtype in _ID_DTYPES):
        for inputs in (spec, dict.fromkeys(features.TOKEN_FEATURES, spec)):
            for training in (False, True):
                module.__call__.get_concrete_function(inputs, training=training)
    tf.saved_model.save(module, str(out_dir), signatures={"serving_default": module.serve_token_ids})
