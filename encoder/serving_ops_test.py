"""Exported SavedModels use only ops that stock TF Serving 2.16 (TF 2.16 core + TF Text 2.12.1) has."""

import pytest
import tensorflow as tf
import tensorflow_text as text

from sentence_tfx.encoder import serving_ops


@pytest.mark.parametrize("part", ["preprocessor", "encoder", "sentence_encoder"])
def test_tiny_export_is_servable_by_stock_tf_serving(tiny_export, part):
    ops = serving_ops.saved_model_ops(tiny_export / part)
    assert "StatefulPartitionedCall" in ops or "PartitionedCall" in ops  # The functions' bodies were read too.
    assert serving_ops.unservable_ops(tiny_export / part) == set()


@pytest.mark.integration
@pytest.mark.parametrize("part", ["preprocessor", "encoder", "sentence_encoder"])
def test_minilm_export_is_servable_by_stock_tf_serving(minilm_export, part):
    assert serving_ops.unservable_ops(minilm_export / part) == set()


def test_check_catches_ops_newer_than_tf_serving(tmp_path):
    """TF Text 2.16's RoundRobinTrimmer emits an op that TF Text 2.12.1 (in TF Serving 2.16) lacks."""
    module = tf.Module()
    trimmer = text.RoundRobinTrimmer(max_seq_length=4)
    module.trim = tf.function(
        lambda a, b: trimmer.trim([a, b]), input_signature=[tf.RaggedTensorSpec([None, None], tf.int32)] * 2
    )
    tf.saved_model.save(module, str(tmp_path))
    assert "TFText>RoundRobinTrim" in serving_ops.unservable_ops(tmp_path)
    assert "WordpieceTokenizeWithOffsets" in serving_ops.stock_serving_ops()
