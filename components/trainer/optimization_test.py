"""The fused AdamW against tf_keras.optimizers.AdamW, and the learning-rate schedule."""

import numpy as np
import tensorflow as tf
import tf_keras

from sentence_tfx.components.trainer import optimization


def test_warmup_then_linear_decay_to_zero():
    schedule = optimization.WarmupLinearDecay(peak=1e-3, total_steps=100, warmup_steps=10)
    values = [float(schedule(step)) for step in (0, 5, 10, 55, 100, 120)]
    np.testing.assert_allclose(values, [0.0, 5e-4, 1e-3, 5e-4, 0.0, 0.0], atol=1e-9)


def _train(optimizer, steps: int = 6) -> dict[str, np.ndarray]:
    """A few steps on a kernel and a bias (dense gradients) and an embedding table (sparse: a gather)."""
    rng = np.random.default_rng(0)
    variables = {
        name: tf.Variable(rng.normal(size=shape).astype(np.float32), name=name)
        for name, shape in (("kernel", (4, 3)), ("bias", (3,)), ("LayerNorm/gamma", (3,)), ("word_embeddings", (10, 4)))
    }
    inputs = tf.constant(rng.normal(size=(5, 4)).astype(np.float32))
    rows = tf.constant([1, 3, 3, 7, 2])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            embedded = tf.gather(variables["word_embeddings"], rows) + inputs
            hidden = embedded @ variables["kernel"] + variables["bias"]
            loss = tf.reduce_sum(tf.square(hidden * variables["LayerNorm/gamma"] - 1.0))
        gradients = tape.gradient(loss, list(variables.values()))
        assert isinstance(gradients[-1], tf.IndexedSlices)
        optimizer.apply_gradients(zip(gradients, variables.values()))

    for _ in range(steps):
        step()
    return {name: variable.numpy() for name, variable in variables.items()}


def test_fused_adamw_makes_the_same_updates_as_keras_adamw():
    schedule = optimization.WarmupLinearDecay(peak=0.05, total_steps=6, warmup_steps=2)
    keras_adamw = tf_keras.optimizers.AdamW(schedule, weight_decay=0.3)
    keras_adamw.exclude_from_weight_decay(var_names=list(optimization.NO_DECAY))
    expected = _train(keras_adamw)
    fused = _train(optimization.AdamW(schedule, weight_decay=0.3))
    for name in expected:
        np.testing.assert_allclose(fused[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_weight_decay_spares_biases_and_layer_norms():
    """With zero gradients Adam's step is zero: what changes is the decay alone, learning rate × weight_decay."""
    variables = [tf.Variable(tf.ones([2]), name=name) for name in ("kernel", "bias", "LayerNorm/beta", "embeddings")]
    optimization.AdamW(learning_rate=0.1, weight_decay=0.5).apply_gradients(
        (tf.zeros([2]), variable) for variable in variables
    )
    np.testing.assert_allclose([v.numpy()[0] for v in variables], [0.95, 1.0, 1.0, 0.95], rtol=1e-6)
