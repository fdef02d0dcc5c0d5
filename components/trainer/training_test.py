"""Training pieces on the tiny encoder: the learning-rate schedule, two learning rates, padding trimming."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tf_keras

from sentence_tfx.components.trainer import model as classifier_model
from sentence_tfx.components.trainer import training
from sentence_tfx.components.trainer.training import TwoRateClassifier
from sentence_tfx.config import PipelineConfig, TrainerSettings


@pytest.fixture
def ids(tiny_export):
    packed = hub.KerasLayer(str(tiny_export / "preprocessor"))(
        tf.constant(["a good movie", "the worst film of the year", "fun", "not good at all"])
    )
    return {name: tf.cast(value, tf.int32) for name, value in packed.items()}


def test_encoder_and_head_train_at_their_own_rates(tiny_export, ids):
    encoder = classifier_model.build_encoder(str(tiny_export / "encoder"), trainable=True)
    head = classifier_model.build_head(num_classes=2, hidden_units=8, dropout=0.0)
    model = classifier_model.build_classifier(encoder, head, seq_length=16, model_class=TwoRateClassifier)
    model.compile(optimizer=tf_keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    model.encoder_optimizer = tf_keras.optimizers.SGD(0.0)  # Encoder learning rate 0: it must not move.
    labels = tf.constant([1, 0, 1, 0])
    model.train_on_batch(ids, labels)  # Builds the head.
    before_encoder = [v.numpy() for v in encoder.trainable_variables]
    before_head = [v.numpy() for v in head.trainable_variables]
    model.train_on_batch(ids, labels)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before_encoder, encoder.trainable_variables))
    assert any(not np.array_equal(a, v.numpy()) for a, v in zip(before_head, head.trainable_variables))


def test_trimming_padding_keeps_the_prediction(tiny_export, ids):
    encoder = classifier_model.build_encoder(str(tiny_export / "encoder"), trainable=False)
    head = classifier_model.build_head(num_classes=3, hidden_units=8, dropout=0.0)
    model = classifier_model.build_classifier(encoder, head, seq_length=16)
    trimmed = classifier_model.TrimPadding()(ids)
    longest = int(tf.reduce_max(tf.reduce_sum(ids["input_mask"], axis=1)))
    assert trimmed["input_word_ids"].shape == (4, longest) and longest < 16
    untrimmed = head(encoder(ids)["pooled_output"])
    np.testing.assert_allclose(model(ids), untrimmed, atol=1e-6)


def test_the_weights_of_the_epoch_of_least_validation_loss_are_kept():
    """Validation labels are the opposite rule of train's: validation loss rises from the first epoch on."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype(np.float32)
    train = tf.data.Dataset.from_tensor_slices((x, (x[:, 0] > 0).astype(np.int64))).batch(32)
    validation_data = tf.data.Dataset.from_tensor_slices((x, (x[:, 0] < 0).astype(np.int64))).batch(32)
    model = tf_keras.Sequential([tf_keras.layers.Dense(2, activation="softmax")])
    training._compile(model, tf_keras.optimizers.Adam(0.05))
    after_epoch = []
    record = tf_keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: after_epoch.append(model.get_weights()))
    settings = PipelineConfig(train_data="t.csv").settings(TrainerSettings)
    split = training._Split(np.array([128, 128]), validation_examples=256)
    chosen = training._fit(model, settings, split, train, validation_data, 20, None, 3, [record])
    assert chosen["chosen_epoch"] == 1 and chosen["epochs_run"] == 4  # Stopped 3 epochs after the best.
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), after_epoch[0]))
    assert model.evaluate(validation_data, verbose=0)[0] == pytest.approx(chosen["validation_loss"], rel=1e-5)


def test_balanced_class_weights_are_scikit_learns():
    split = training._Split(np.array([10, 30, 0]), validation_examples=0)
    np.testing.assert_allclose(split.class_weights("balanced"), [40 / 30, 40 / 90, 0.0])
    np.testing.assert_allclose(split.class_weights("none"), [1, 1, 1])
