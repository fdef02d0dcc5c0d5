"""What EmbeddingGen writes and the Trainer reads: per split, gzipped TFRecords of tf.Examples with `embedding`
(float32 [dim], the frozen encoder's pooled_output), `label_xf` and the raw `text` (the Trainer's warm-up requests);
and the encoder pass itself, shortest texts first so each batch is trimmed to nearly its own length."""

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import tensorflow as tf
import tensorflow_hub as hub
from tfx_bsl.coders import example_coder

from sentence_tfx import features
from sentence_tfx.components.trainer import model as classifier_model

BATCH_SIZE = 128  # Inference only: larger than a training batch, small enough for long texts.
_READ_BATCH = 4096
_ENCODER = example_coder.RecordBatchToExamplesEncoder()


def embedding_function(encoder: hub.KerasLayer) -> Callable[[dict], tf.Tensor]:
    """ids → embeddings, the same computation as the exported classifier's (trimmed padding, pooled_output)."""
    return traced_over_ids(lambda ids: classifier_model.sentence_embedding(encoder, ids, training=False))


def traced_over_ids(function: Callable[[dict], tf.Tensor]) -> Callable[[dict], tf.Tensor]:
    """`function` as one graph for id batches of any size and length. No autograph: nothing in Keras' or the
    encoder's call depends on a tensor in Python, and converting their source took 5 s of a setfit Trainer."""
    ids_spec = {name: tf.TensorSpec([None, None], tf.int32) for name in features.TOKEN_FEATURES}
    return tf.function(function, input_signature=[ids_spec], autograph=False)


def embed_in_length_order(embed: Callable[[dict], tf.Tensor], ids: dict[str, np.ndarray]) -> np.ndarray:
    """embed() over `ids` (int32 [n, seq_length] per token feature) in batches of BATCH_SIZE, shortest first;
    the rows come back in the order of `ids`."""
    order = np.argsort(ids[features.MASK].sum(axis=1), kind="stable")
    parts = [embed({name: value[rows] for name, value in ids.items()}).numpy() for rows in _batches(order)]
    embeddings = np.empty((len(order), parts[0].shape[1]), np.float32)
    embeddings[order] = np.concatenate(parts)
    return embeddings


def _batches(order: np.ndarray) -> list[np.ndarray]:
    return [order[start : start + BATCH_SIZE] for start in range(0, len(order), BATCH_SIZE)]


def serialize(vectors: np.ndarray, label_indices: np.ndarray, texts: np.ndarray, vector_name: str) -> list[bytes]:
    """One serialized tf.Example per row: `vector_name` (float32 [dim]), label index and raw text (tfx_bsl's C++
    encoder: no Python proto per example)."""
    rows, dim = vectors.shape
    columns = {
        vector_name: pa.LargeListArray.from_arrays(
            np.arange(0, rows * dim + 1, dim, dtype=np.int64), pa.array(vectors.reshape(-1), pa.float32())
        ),
        features.LABEL_INDEX: pa.LargeListArray.from_arrays(
            np.arange(rows + 1, dtype=np.int64), pa.array(label_indices, pa.int64())
        ),
        features.TEXT: pa.LargeListArray.from_arrays(
            np.arange(rows + 1, dtype=np.int64), pa.array(list(texts), pa.large_binary())
        ),
    }
    return _ENCODER.encode(pa.RecordBatch.from_arrays(list(columns.values()), list(columns)))


def read_rows(file_patterns: list[str], vector_name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """What serialize() wrote, in file order: vectors [n, dim], label indices [n] and texts."""
    files = [name for pattern in file_patterns for name in tf.io.gfile.glob(pattern)]
    spec = {
        vector_name: tf.io.RaggedFeature(tf.float32),
        features.LABEL_INDEX: tf.io.FixedLenFeature([], tf.int64),
        features.TEXT: tf.io.FixedLenFeature([], tf.string),
    }
    batches = [
        tf.io.parse_example(records, spec)
        for records in tf.data.TFRecordDataset(files, compression_type="GZIP").batch(_READ_BATCH)
    ]
    if not batches:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64), []
    vectors = np.concatenate([batch[vector_name].to_tensor().numpy() for batch in batches])
    labels = np.concatenate([batch[features.LABEL_INDEX].numpy() for batch in batches])
    texts = [text.decode("utf-8", errors="replace") for batch in batches for text in batch[features.TEXT].numpy()]
    return vectors, labels, texts


def read(file_patterns: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A split's embeddings [n, dim], label indices [n] and texts, in a canonical order (by label, then by the
    vectors' first values): the head then trains the same whatever order Beam's workers wrote the rows in."""
    vectors, labels, texts = read_rows(file_patterns, features.EMBEDDING)
    order = np.lexsort((*vectors[:, 3::-1].T, labels))
    return vectors[order], labels[order], [texts[i] for i in order]
