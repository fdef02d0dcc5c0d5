"""preprocessing_fn: raw text → fixed-length token ids with the encoder's preprocessor SavedModel.

The same graph is embedded in the exported model (TFTransformOutput.transform_features_layer), so serving tokenizes
exactly as training did.
"""

import functools

import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401  (registers the preprocessor's ops in this process and in Beam workers)
import tensorflow_transform as tft

from sentence_tfx import features
from sentence_tfx.config import TransformSettings


def preprocessing_fn(inputs: dict, custom_config: dict, label_names: tuple[str, ...]) -> dict:
    """TransformSettings arrive as JSON in custom_config["settings"]; the label names, in class index order, from the
    schema artifact (see executor.py)."""
    settings = TransformSettings.from_json(custom_config["settings"])
    preprocessor = _load_preprocessor(settings.preprocessor_handle)
    if tf.inside_function():  # TFT's traces, not an eager call (tests, notebooks): the transform graph needs its state.
        tft.make_and_track_object(functools.partial(_state_of, settings.preprocessor_handle))
    seq_length = settings.seq_length
    text = _single_value(inputs[features.TEXT])
    tokens = preprocessor.tokenize(text)
    packed = preprocessor.bert_pack_inputs([tokens], seq_length=tf.constant(seq_length))
    outputs = {name: tf.cast(packed[name], tf.int64) for name in features.TOKEN_FEATURES}
    wordpieces = tokens.merge_dims(-2, -1).row_lengths()
    outputs[features.TRUNCATED] = tf.cast(wordpieces > seq_length - 2, tf.int64)
    # Its post-transform statistics are what the token-length drift check compares between runs.
    outputs[features.TOKEN_COUNT] = tf.reduce_sum(outputs[features.MASK], axis=1)
    outputs[features.LABEL_INDEX] = _label_index(_single_value(inputs[features.LABEL]), label_names)
    outputs[features.TEXT] = text  # Passed through: the Trainer writes the serving warm-up requests from it.
    return outputs


@functools.lru_cache(maxsize=4)
def _load_preprocessor(handle: str):
    """Loaded once per process: TFT traces preprocessing_fn about ten times per run (inspection, schema, analysis,
    export), and each load of the preprocessor SavedModel costs ~1.3 s."""
    return hub.load(handle)


@functools.lru_cache(maxsize=4)
def _state_of(handle: str) -> tf.Module:
    """The preprocessor's tables, assets and variables, which the transform graph's functions capture: TFT tracks
    this module in every graph it saves. Not the preprocessor itself, whose every function (unused packing variants
    included) would then be saved too: a 3× larger transform graph, slower to load wherever the model goes."""
    state = tf.Module()
    state.tracked = [
        item
        for item in tf.train.TrackableView(_load_preprocessor(handle)).descendants()
        if isinstance(item, (tf.Variable, tf.saved_model.experimental.TrackableResource, tf.saved_model.Asset))
    ]
    return state


def _label_index(labels: tf.Tensor, label_names) -> tf.Tensor:
    """Index of each label in label_names, -1 if absent. A comparison, not a lookup table: a table made inside the
    traced function would be re-initialized on every serving call."""
    matches = tf.equal(labels[:, tf.newaxis], tf.constant(list(label_names))[tf.newaxis, :])
    return tf.where(
        tf.reduce_any(matches, axis=1), tf.argmax(tf.cast(matches, tf.int64), axis=1), tf.constant(-1, tf.int64)
    )


def _single_value(feature: tf.SparseTensor) -> tf.Tensor:
    """[batch] strings from a feature the schema requires to hold exactly one value (value_count 1, so TFT sees a
    VarLenFeature); the validation gate has refused examples that break that. A missing value reads as "" (the
    label of unlabelled examples at serving time: label index -1)."""
    one_column = tf.SparseTensor(feature.indices, feature.values, [feature.dense_shape[0], 1])
    return tf.reshape(tf.sparse.to_dense(one_column, default_value=""), [-1])
