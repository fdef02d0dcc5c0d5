"""Small tf_keras layers that compute exactly what HF BertModel + sentence-transformers pooling compute."""

import math

import tensorflow as tf
import tf_keras

_ATTENTION_MASK_VALUE = -1e9  # Added to scores of padding positions: softmax gives them weight 0.
# Dropout layers get fixed seeds: unseeded, their ops draw new ones in each process, and fine-tuning the same texts
# twice would give two models. A layer's seed advances by one per call it traces, so layers' seeds are this far apart.
SEED_SPACING = 1000


class BertEmbeddings(tf_keras.layers.Layer):
    """word + token type + absolute position embeddings, LayerNorm, dropout (HF BertEmbeddings)."""

    def __init__(
        self, vocab_size, hidden_size, max_positions, type_vocab_size, dropout, layer_norm_eps, seed, **kwargs
    ):
        super().__init__(**kwargs)
        self._config = dict(
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            max_positions=max_positions,
            type_vocab_size=type_vocab_size,
            dropout=dropout,
            layer_norm_eps=layer_norm_eps,
            seed=seed,
        )
        self.word_embeddings = self.add_weight("word_embeddings", [vocab_size, hidden_size])
        self.position_embeddings = self.add_weight("position_embeddings", [max_positions, hidden_size])
        self.token_type_embeddings = self.add_weight("token_type_embeddings", [type_vocab_size, hidden_size])
        self.layer_norm = tf_keras.layers.LayerNormalization(epsilon=layer_norm_eps, name="layer_norm")
        self.dropout = tf_keras.layers.Dropout(dropout, seed=seed)

    def call(self, word_ids, type_ids, training=None):
        seq_length = tf.shape(word_ids)[1]
        embeddings = tf.gather(self.word_embeddings, word_ids) + tf.gather(self.token_type_embeddings, type_ids)
        embeddings += self.position_embeddings[tf.newaxis, :seq_length]
        return self.dropout(self.layer_norm(embeddings), training=training)

    def get_config(self):
        return {**super().get_config(), **self._config}


class TransformerEncoderBlock(tf_keras.layers.Layer):
    """Post-LayerNorm self-attention + GELU feed-forward block (HF BertLayer)."""

    def __init__(
        self, hidden_size, num_heads, intermediate_size, dropout, attention_dropout, layer_norm_eps, seed, **kwargs
    ):
        super().__init__(**kwargs)
        self._config = dict(
            hidden_size=hidden_size,
            num_heads=num_heads,
            intermediate_size=intermediate_size,
            dropout=dropout,
            attention_dropout=attention_dropout,
            layer_norm_eps=layer_norm_eps,
            seed=seed,
        )
        self._num_heads = num_heads
        self._head_size = hidden_size // num_heads
        dense = tf_keras.layers.Dense
        self.query, self.key, self.value = (dense(hidden_size, name=n) for n in ("query", "key", "value"))
        self.attention_output = dense(hidden_size, name="attention_output")
        self.attention_layer_norm = tf_keras.layers.LayerNormalization(
            epsilon=layer_norm_eps, name="attention_layer_norm"
        )
        self.intermediate = dense(
            intermediate_size,
            activation="gelu",  # exact erf GELU
            name="intermediate",
        )
        self.output_dense = dense(hidden_size, name="output")
        self.output_layer_norm = tf_keras.layers.LayerNormalization(epsilon=layer_norm_eps, name="output_layer_norm")
        self.attention_dropout = tf_keras.layers.Dropout(attention_dropout, seed=seed)
        self.dropout = tf_keras.layers.Dropout(dropout, seed=seed + SEED_SPACING // 2)

    def _heads(self, x):
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        return tf.transpose(tf.reshape(x, [batch, length, self._num_heads, self._head_size]), [0, 2, 1, 3])

    def call(self, hidden, mask, training=None):
        query, key, value = (
            self._heads(self.query(hidden)),
            self._heads(self.key(hidden)),
            self._heads(self.value(hidden)),
        )
        scores = tf.matmul(query, key, transpose_b=True) / math.sqrt(self._head_size)
        scores += (1.0 - tf.cast(mask, scores.dtype))[:, tf.newaxis, tf.newaxis, :] * _ATTENTION_MASK_VALUE
        weights = self.attention_dropout(tf.nn.softmax(scores, axis=-1), training=training)
        context = tf.transpose(tf.matmul(weights, value), [0, 2, 1, 3])
        context = tf.reshape(context, tf.shape(hidden))
        attended = self.attention_layer_norm(self.dropout(self.attention_output(context), training=training) + hidden)
        transformed = self.output_dense(self.intermediate(attended))
        return self.output_layer_norm(self.dropout(transformed, training=training) + attended)

    def get_config(self):
        return {**super().get_config(), **self._config}


class SentenceEmbeddingPooling(tf_keras.layers.Layer):
    """sentence-transformers' Pooling: cls / max / mean / mean_sqrt_len over real tokens, concatenated."""

    def __init__(self, modes, **kwargs):
        super().__init__(**kwargs)
        self.modes = tuple(modes)

    def call(self, sequence, mask):
        mask = tf.cast(mask, sequence.dtype)[:, :, tf.newaxis]
        count = tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)
        pooled = {
            "cls": lambda: sequence[:, 0],
            "max": lambda: tf.reduce_max(tf.where(mask > 0, sequence, _ATTENTION_MASK_VALUE), axis=1),
            "mean": lambda: tf.reduce_sum(sequence * mask, axis=1) / count,
            "mean_sqrt_len": lambda: tf.reduce_sum(sequence * mask, axis=1) / tf.sqrt(count),
        }
        return tf.concat([pooled[mode]() for mode in self.modes], axis=-1)

    def get_config(self):
        return {**super().get_config(), "modes": self.modes}


class L2Normalization(tf_keras.layers.Layer):
    """x / max(‖x‖, 1e-12), as torch.nn.functional.normalize in sentence-transformers' Normalize."""

    def call(self, x):
        return x / tf.maximum(tf.norm(x, axis=-1, keepdims=True), 1e-12)
