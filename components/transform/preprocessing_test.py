"""preprocessing_fn on its own, eagerly, with the tiny encoder's preprocessor: label indices, padding, truncation."""

import numpy as np
import tensorflow as tf

from conftest import TINY_SEQ_LENGTH
from sentence_tfx import features
from sentence_tfx.components.transform.preprocessing import preprocessing_fn
from sentence_tfx.config import TransformSettings


def _one_value_each(values: list[str | None]) -> tf.SparseTensor:
    """A VarLenFeature batch as TFT feeds it: one value per example, none where the value is None."""
    indices = [[row, 0] for row, value in enumerate(values) if value is not None]
    return tf.SparseTensor(
        tf.constant(indices, tf.int64, shape=[len(indices), 2]),
        tf.constant([value for value in values if value is not None], tf.string),
        [len(values), 1],
    )


def _transform(tiny_export, texts: list[str | None], labels: list[str | None]) -> dict:
    settings = TransformSettings(TINY_SEQ_LENGTH, str(tiny_export / "preprocessor"))
    inputs = {features.TEXT: _one_value_each(texts), features.LABEL: _one_value_each(labels)}
    return preprocessing_fn(inputs, {"settings": settings.to_json()}, label_names=("neg", "pos"))


def test_label_index_follows_the_label_order_and_is_minus_one_otherwise(tiny_export):
    outputs = _transform(tiny_export, ["good", "bad", "fine", "odd", "none"], ["pos", "neg", "neutral", "Pos", None])
    assert outputs[features.LABEL_INDEX].numpy().tolist() == [1, 0, -1, -1, -1]  # Unknown, other case, missing.
    assert outputs[features.LABEL_INDEX].dtype == tf.int64


def test_ids_are_fixed_length_and_truncation_is_flagged_exactly_at_the_limit(tiny_export):
    room = TINY_SEQ_LENGTH - 2  # [CLS] and [SEP]
    fits, cut = " ".join(["film"] * room), " ".join(["film"] * (room + 1))
    outputs = _transform(tiny_export, ["a good film", fits, cut, None], ["pos"] * 4)
    for name in features.TOKEN_FEATURES:
        assert outputs[name].shape == (4, TINY_SEQ_LENGTH) and outputs[name].dtype == tf.int64, name
    assert outputs[features.TRUNCATED].numpy().tolist() == [0, 0, 1, 0]
    mask = outputs[features.MASK].numpy()
    assert mask.sum(axis=1).tolist() == [5, TINY_SEQ_LENGTH, TINY_SEQ_LENGTH, 2]  # An empty text is [CLS] [SEP].
    assert outputs[features.TOKEN_COUNT].numpy().tolist() == [5, TINY_SEQ_LENGTH, TINY_SEQ_LENGTH, 2]
    ids = outputs[features.WORD_IDS].numpy()
    np.testing.assert_array_equal(ids[mask == 0], 0)  # [PAD] after the text, nothing else.
    np.testing.assert_array_equal(ids[1, 1:-1], ids[2, 1:-1])  # The cut text keeps its first words.
    assert ids[1, -1] == ids[2, -1]  # ... and still ends with [SEP].
