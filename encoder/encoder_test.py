"""The encoder SavedModel through hub.KerasLayer: interface, dropout, gradients, pooling variants."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401

from sentence_tfx.encoder import encoder, st_model, weights

TEXTS = ["a good movie", "the worst film of the year, by far", "who directed it?"]


@pytest.fixture(scope="module")
def inputs(tiny_export):
    return hub.KerasLayer(str(tiny_export / "preprocessor"))(tf.constant(TEXTS))


def test_dict_in_dict_out_with_sentence_embedding(tiny_export, inputs):
    outputs = hub.KerasLayer(str(tiny_export / "encoder"))(inputs)
    assert outputs["pooled_output"].shape == (3, 32)
    np.testing.assert_array_equal(outputs["default"], outputs["pooled_output"])
    np.testing.assert_allclose(np.linalg.norm(outputs["pooled_output"], axis=1), 1.0, atol=1e-6)
    assert len(outputs["encoder_outputs"]) == 2
    np.testing.assert_array_equal(outputs["encoder_outputs"][-1], outputs["sequence_output"])


def test_training_flag_toggles_dropout(tiny_export, inputs):
    layer = hub.KerasLayer(str(tiny_export / "encoder"), trainable=True)
    inference = [layer(inputs, training=False)["pooled_output"] for _ in range(2)]
    training = [layer(inputs, training=True)["pooled_output"] for _ in range(2)]
    np.testing.assert_array_equal(inference[0], inference[1])
    assert np.abs(training[0] - training[1]).max() > 1e-3


def test_dropout_draws_the_same_masks_in_every_load(tiny_export, inputs):
    """Seeded dropout: fine-tuning the same texts twice, in two processes, gives the same model."""
    first, second = (hub.KerasLayer(str(tiny_export / "encoder"), trainable=True) for _ in range(2))
    masks = [[layer(inputs, training=True)["sequence_output"] for _ in range(2)] for layer in (first, second)]
    np.testing.assert_array_equal(masks[0][0], masks[1][0])
    np.testing.assert_array_equal(masks[0][1], masks[1][1])


def test_gradients_reach_every_variable_when_trainable(tiny_export, inputs):
    layer = hub.KerasLayer(str(tiny_export / "encoder"), trainable=True)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(inputs, training=True)["pooled_output"][:, :5])
    gradients = tape.gradient(loss, layer.trainable_variables)
    assert len(layer.trainable_variables) == 5 + 2 * 16  # embeddings + 2 transformer blocks
    missing = [v.name for v, g in zip(layer.trainable_variables, gradients) if g is None]
    assert not missing
    assert all(np.isfinite(tf.convert_to_tensor(g).numpy()).all() for g in gradients)


def test_frozen_layer_has_no_trainable_variables(tiny_export):
    assert hub.KerasLayer(str(tiny_export / "encoder"), trainable=False).trainable_variables == []


def test_trimming_padding_does_not_change_the_embedding(tiny_export, inputs):
    layer = hub.KerasLayer(str(tiny_export / "encoder"))
    longest = int(tf.reduce_max(tf.reduce_sum(inputs["input_mask"], axis=1)))
    trimmed = {name: value[:, :longest] for name, value in inputs.items()}
    np.testing.assert_allclose(layer(trimmed)["pooled_output"], layer(inputs)["pooled_output"], atol=1e-6)


def test_pooling_modes_and_dense_module_follow_sentence_transformers(tiny_model_dir, tmp_path, inputs):
    """cls + max + mean_sqrt_len concatenated, then a tanh Dense module, no Normalize: checked in numpy."""
    folder = shutil.copytree(tiny_model_dir, tmp_path / "variant")
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {"pooling_mode_cls_token": True, "pooling_mode_max_tokens": True, "pooling_mode_mean_sqrt_len_tokens": True}
        )
    )
    rng = np.random.default_rng(1)
    kernel, bias = rng.normal(size=(96, 8)).astype(np.float32), rng.normal(size=8).astype(np.float32)
    (folder / "2_Dense").mkdir()
    (folder / "2_Dense" / "config.json").write_text(
        json.dumps(
            {
                "in_features": 96,
                "out_features": 8,
                "bias": True,
                "activation_function": "torch.nn.modules.activation.Tanh",
            }
        )
    )
    weights.write_safetensors(
        folder / "2_Dense" / "model.safetensors", {"linear.weight": np.ascontiguousarray(kernel.T), "linear.bias": bias}
    )
    modules = json.loads((folder / "modules.json").read_text())[:2]
    modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    model = st_model.load(folder)
    encoder.save(encoder.build(model), tmp_path / "encoder")
    outputs = hub.KerasLayer(str(tmp_path / "encoder"))(inputs)

    sequence, mask = outputs["sequence_output"].numpy(), inputs["input_mask"].numpy()[:, :, None].astype(bool)
    count = mask.sum(axis=1)
    pooled = np.concatenate(
        [sequence[:, 0], np.where(mask, sequence, -np.inf).max(axis=1), (sequence * mask).sum(axis=1) / np.sqrt(count)],
        axis=1,
    )
    np.testing.assert_allclose(outputs["pooled_output"], np.tanh(pooled @ kernel + bias), atol=1e-5)
