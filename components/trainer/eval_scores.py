"""The trained classifier's scores on every eval example, written by the Trainer into its ModelRun beside the
TensorBoard logs: the run report's reliability diagram and most confident mistakes come from them, so the report does
not load the model and run the encoder over the eval split a second time.

Frozen: the head over EmbeddingGen's eval embeddings (the same computation the exported model does, without the
encoder pass). Fine-tuned: the classifier over Transform's eval ids, shortest first.
"""

import os

import numpy as np
import tensorflow as tf
import tf_keras
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from sentence_tfx import features
from sentence_tfx.components.embedding_gen import embeddings

FILE = "eval_scores.tfrecord.gz"
SCORES = "scores"  # float32 [classes] per example, beside label_xf and text.
_READ_BATCH = 4096


def _path(model_run_dir: str) -> str:
    return os.path.join(model_run_dir, FILE)


def write(model_run_dir: str, scores: np.ndarray, label_indices: np.ndarray, texts: list) -> None:
    records = embeddings.serialize(scores, label_indices, np.asarray(texts, object), vector_name=SCORES)
    with tf.io.TFRecordWriter(_path(model_run_dir), options="GZIP") as writer:
        for record in records:
            writer.write(record)


def read(model_run_dir: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """scores [n, classes], label indices [n], texts: the eval split as the Trainer scored it."""
    return embeddings.read_rows([_path(model_run_dir)], SCORES)


def head_scores(head: tf_keras.Model, vectors: np.ndarray) -> np.ndarray:
    """The head called directly, a read batch at a time (no predict(): no strategy, no callbacks)."""
    batches = range(0, len(vectors), _READ_BATCH)
    return np.concatenate([head(vectors[i : i + _READ_BATCH], training=False).numpy() for i in batches])


def of_head(head: tf_keras.Model, eval_files: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The frozen classifier's scores: the head over EmbeddingGen's eval embeddings (the encoder does not run)."""
    vectors, labels, texts = embeddings.read_rows(eval_files, features.EMBEDDING)
    return head_scores(head, vectors), labels, texts


def of_classifier(
    classifier: tf_keras.Model, fn_args: tfx.components.FnArgs, files: list[str], schema, keep=None
) -> tuple[np.ndarray, np.ndarray, list[bytes]]:
    """The fine-tuned classifier over Transform's examples in `files`, a read batch at a time, each in length order;
    `keep(texts)` (a bool array per batch), if given, chooses the examples scored."""
    score = embeddings.traced_over_ids(lambda ids: classifier(ids, training=False))
    dataset = fn_args.data_accessor.tf_dataset_factory(
        files, tfxio.TensorFlowDatasetOptions(batch_size=_READ_BATCH, shuffle=False, num_epochs=1), schema
    )
    scores, labels, texts = [], [], []
    for batch in dataset:
        batch_texts = batch[features.TEXT].numpy().reshape(-1)
        rows = keep(batch_texts) if keep is not None else np.ones(len(batch_texts), bool)
        if not rows.any():
            continue
        ids = {name: tf.cast(batch[name], tf.int32).numpy()[rows] for name in features.TOKEN_FEATURES}
        scores.append(embeddings.embed_in_length_order(score, ids))
        labels.append(batch[features.LABEL_INDEX].numpy().reshape(-1)[rows])
        texts += batch_texts[rows].tolist()
    return np.concatenate(scores), np.concatenate(labels), texts
