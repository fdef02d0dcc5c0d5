"""sentence_encoder/ through hub.KerasLayer: one embedding tensor from the dict or from token ids alone, the same
weights and embedding as encoder/, and the Reusable SavedModel parts that fine-tuning needs."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401

from sentence_tfx import features
from sentence_tfx.encoder import sentence_encoder

TEXTS = ["a good movie", "the worst film of the year, by far", "who directed it?"]


@pytest.fixture(scope="module")
def inputs(tiny_export):
    return hub.KerasLayer(str(tiny_export / "preprocessor"))(tf.constant(TEXTS))


@pytest.fixture(scope="module")
def reference(tiny_export, inputs):
    """encoder/'s pooled_output: the embedding sentence_encoder/ must return."""
    return hub.KerasLayer(str(tiny_export / "encoder"))(inputs)["pooled_output"].numpy()


def test_returns_encoders_embedding_as_one_tensor_from_the_dict(tiny_export, inputs, reference):
    embedding = hub.KerasLayer(str(tiny_export / "sentence_encoder"))(inputs)
    assert isinstance(embedding, tf.Tensor) and embedding.shape == (3, 32)
    np.testing.assert_array_equal(embedding, reference)


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64])
def test_token_ids_alone_give_the_same_embedding(tiny_export, inputs, reference, dtype):
    """mask = ids != [PAD] and type ids 0 are what the preprocessor gives a single text, so nothing changes."""
    layer = hub.KerasLayer(str(tiny_export / "sentence_encoder"))
    word_ids = inputs[features.WORD_IDS]
    assert (word_ids == 0).numpy().any()  # Padded: the mask is really derived.
    np.testing.assert_allclose(layer(tf.cast(word_ids, dtype)), reference, atol=1e-6)
    np.testing.assert_allclose(layer({k: tf.cast(v, dtype) for k, v in inputs.items()}), reference, atol=1e-6)


def test_same_weights_as_encoder(tiny_export):
    ours, theirs = (tf.saved_model.load(str(tiny_export / part)) for part in ("sentence_encoder", "encoder"))
    assert [v.name for v in ours.trainable_variables] == [v.name for v in theirs.trainable_variables]
    for mine, original in zip(ours.variables, theirs.variables):
        np.testing.assert_array_equal(mine.numpy(), original.numpy(), err_msg=mine.name)
    assert list(ours.regularization_losses) == list(theirs.regularization_losses) == []


def test_training_flag_toggles_dropout(tiny_export, inputs):
    layer = hub.KerasLayer(str(tiny_export / "sentence_encoder"), trainable=True)
    word_ids = inputs[features.WORD_IDS]
    inference = [layer(word_ids, training=False).numpy() for _ in range(2)]
    training = [layer(word_ids, training=True).numpy() for _ in range(2)]
    np.testing.assert_array_equal(inference[0], inference[1])
    assert np.abs(training[0] - training[1]).max() > 1e-3


def test_trainable_layer_gets_gradients_for_every_variable_and_frozen_has_none(tiny_export, inputs):
    layer = hub.KerasLayer(str(tiny_export / "sentence_encoder"), trainable=True)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(inputs[features.WORD_IDS], training=True)[:, :5])
    gradients = tape.gradient(loss, layer.trainable_variables)
    assert len(layer.trainable_variables) == 5 + 2 * 16  # embeddings + 2 transformer blocks, as encoder/
    assert not [v.name for v, g in zip(layer.trainable_variables, gradients) if g is None]
    assert hub.KerasLayer(str(tiny_export / "sentence_encoder"), trainable=False).trainable_variables == []


def test_serving_signature_takes_token_ids(tiny_export, inputs, reference):
    serve = tf.saved_model.load(str(tiny_export / "sentence_encoder")).signatures["serving_default"]
    assert set(serve.structured_input_signature[1]) == {features.WORD_IDS}
    outputs = serve(input_word_ids=inputs[features.WORD_IDS])
    np.testing.assert_allclose(outputs[sentence_encoder.EMBEDDING_OUTPUT], reference, atol=1e-6)
