"""Builds the sentence encoder as a tf_keras model with TF Hub's BERT encoder interface, and saves it.

Inputs: dict of int32 [batch, seq] `input_word_ids`, `input_mask`, `input_type_ids` (any seq ≤ max positions, so
callers may trim padding). Outputs: `pooled_output` / `default` = the sentence-transformers embedding (pooling,
Dense modules, L2 normalisation as configured), `sequence_output`, `encoder_outputs` (one per layer).
"""

from pathlib import Path

import tensorflow as tf
import tf_keras

from sentence_tfx import features
from sentence_tfx.encoder import layers
from sentence_tfx.encoder.st_model import SentenceTransformerModel, UnsupportedModelError

INPUT_NAMES = features.TOKEN_FEATURES  # TF Hub BERT encoder interface


def build(model: SentenceTransformerModel) -> tf_keras.Model:
    """The Keras encoder with the converted weights loaded."""
    config = model.bert
    inputs = {name: tf_keras.Input([None], dtype=tf.int32, name=name) for name in INPUT_NAMES}
    embeddings = layers.BertEmbeddings(
        config.vocab_size,
        config.hidden_size,
        config.max_positions,
        config.type_vocab_size,
        config.hidden_dropout,
        config.layer_norm_eps,
        seed=layers.SEED_SPACING,
        name="embeddings",
    )
    hidden = embeddings(inputs["input_word_ids"], inputs["input_type_ids"])
    encoder_outputs, blocks = [], []
    for index in range(config.num_layers):
        block = layers.TransformerEncoderBlock(
            config.hidden_size,
            config.num_heads,
            config.intermediate_size,
            config.hidden_dropout,
            config.attention_dropout,
            config.layer_norm_eps,
            seed=(index + 2) * layers.SEED_SPACING,
            name=f"transformer_layer_{index}",
        )
        hidden = block(hidden, inputs["input_mask"])
        encoder_outputs.append(hidden)
        blocks.append(block)
    pooled = layers.SentenceEmbeddingPooling(model.pooling_modes, name="pooling")(hidden, inputs["input_mask"])
    dense_layers = [
        tf_keras.layers.Dense(
            d.kernel.shape[1], activation=d.activation, use_bias=d.bias is not None, name=f"dense_{i}"
        )
        for i, d in enumerate(model.dense_layers)
    ]
    for dense in dense_layers:
        pooled = dense(pooled)
    if model.normalize:
        pooled = layers.L2Normalization(name="normalize")(pooled)
    keras_model = tf_keras.Model(
        inputs=inputs,
        name="sentence_encoder",
        outputs={
            "pooled_output": pooled,
            "default": pooled,
            "sequence_output": hidden,
            "encoder_outputs": encoder_outputs,
        },
    )
    _load_weights(model, embeddings, blocks, dense_layers)
    return keras_model


def _load_weights(model, embeddings, blocks, dense_layers) -> None:
    hf = model.bert_weights
    used = set()

    def take(name, transpose=False):
        used.add(name)
        return hf[name].T if transpose else hf[name]

    def linear(dense, prefix):
        dense.set_weights([take(f"{prefix}.weight", transpose=True), take(f"{prefix}.bias")])

    def layer_norm(norm, prefix):
        norm.set_weights([take(f"{prefix}.weight"), take(f"{prefix}.bias")])

    embeddings.word_embeddings.assign(take("embeddings.word_embeddings.weight"))
    embeddings.position_embeddings.assign(take("embeddings.position_embeddings.weight"))
    embeddings.token_type_embeddings.assign(take("embeddings.token_type_embeddings.weight"))
    layer_norm(embeddings.layer_norm, "embeddings.LayerNorm")
    for index, block in enumerate(blocks):
        prefix = f"encoder.layer.{index}"
        for dense, name in (
            (block.query, "attention.self.query"),
            (block.key, "attention.self.key"),
            (block.value, "attention.self.value"),
            (block.attention_output, "attention.output.dense"),
            (block.intermediate, "intermediate.dense"),
            (block.output_dense, "output.dense"),
        ):
            linear(dense, f"{prefix}.{name}")
        layer_norm(block.attention_layer_norm, f"{prefix}.attention.output.LayerNorm")
        layer_norm(block.output_layer_norm, f"{prefix}.output.LayerNorm")
    unused = sorted(set(hf) - used)
    if unused:
        raise UnsupportedModelError(f"{model.path}: weights not used by the BERT encoder: {unused[:5]}")
    for dense, spec in zip(dense_layers, model.dense_layers):
        dense.set_weights([spec.kernel] + ([spec.bias] if spec.bias is not None else []))


def save(keras_model: tf_keras.Model, out_dir: Path) -> None:
    tf.saved_model.save(keras_model, str(out_dir))
