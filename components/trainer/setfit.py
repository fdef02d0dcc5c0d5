"""--mode setfit, the recipe of the setfit library (Tunstall et al., 2022) for a few labelled texts per class:
contrastive fine-tuning of the encoder on pairs of training texts (same label: cosine similarity 1, different: 0;
mean squared error), then a logistic-regression head on the tuned embeddings. Each text takes part in many pairs,
so 8 texts per class teach the encoder which texts belong together; a cross-entropy fine-tune on 16 texts overfits
and a head on frozen embeddings underfits."""

import logging
import math
import time

import numpy as np
import tensorflow as tf
import tf_keras

from sentence_tfx import features
from sentence_tfx.components.embedding_gen import embeddings
from sentence_tfx.components.trainer import linear_head
from sentence_tfx.components.trainer import model as classifier_model

log = logging.getLogger(__name__)
PAIR_SEED = 42
PROGRESS_REPORTS = 10  # Log lines per training run.
HEAD_C = 1.0  # setfit's head: scikit-learn's LogisticRegression() as it comes.
MAX_GRADIENT_NORM = 1.0  # The library's trainer (transformers') clips: MiniLM's norm was above 1 in 36 of 40 steps.
LISTED_PAIRS_LIMIT = 1 << 22  # Above this many pairs (n (n + 1) / 2 for n texts), pairs are drawn, not listed.


def sample_pairs(
    labels: np.ndarray, iterations: int, seed: int = PAIR_SEED
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """setfit's pairs (its ContrastiveDataset with num_iterations): iterations × texts pairs of the same class, a text
    with itself included, and as many of different classes, taken in turn from all such pairs in a shuffled order,
    so each pair is used as evenly as the count allows; then shuffled. Returns the two index arrays and the targets
    (1.0 / 0.0)."""
    if len(np.unique(labels)) < 2:
        raise ValueError("setfit needs training texts of at least two classes: no pair of different classes")
    rng, texts = np.random.default_rng(seed), len(labels)
    count = iterations * texts
    if texts * (texts + 1) // 2 <= LISTED_PAIRS_LIMIT:
        pairs = np.stack(np.triu_indices(texts), axis=1)
        pairs = pairs[rng.permutation(len(pairs))]
        same = labels[pairs[:, 0]] == labels[pairs[:, 1]]
        kinds = [kind[np.arange(count) % len(kind)] for kind in (pairs[same], pairs[~same])]
    else:
        kinds = _drawn_pairs(labels, count, rng)
    pairs, target = np.concatenate(kinds), np.repeat(np.array([1.0, 0.0], np.float32), count)
    order = rng.permutation(2 * count)
    return pairs[order, 0], pairs[order, 1], target[order]


def _drawn_pairs(labels: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """`count` pairs of the same class and `count` of different classes, each drawn uniformly from all pairs of its
    kind (a text with itself included): for training sets with too many pairs to list, where `count` is far below
    their number and taking them in turn from a shuffled list comes to the same."""
    same, other = np.empty((0, 2), np.int64), np.empty((0, 2), np.int64)
    while len(same) < count or len(other) < count:
        pairs = rng.integers(len(labels), size=(4 * count, 2))
        pairs = pairs[pairs[:, 0] <= pairs[:, 1]]  # Unordered: one of the two orders of each pair, as the list has.
        kind = labels[pairs[:, 0]] == labels[pairs[:, 1]]
        same, other = np.concatenate([same, pairs[kind]])[:count], np.concatenate([other, pairs[~kind]])[:count]
    return [same, other]


class _PairModel(tf_keras.Model):
    """Cosine similarity of the encoder's embeddings of pairs of texts. A step's batch holds each of its distinct
    texts once (`ids`) and the pairs as positions in it: with a few texts per class most of a step's 2 × batch
    texts repeat, and each is encoded once (its occurrences share a dropout mask). A text paired with itself is
    encoded twice, as setfit does: its two dropout masks are all that pair learns from."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def call(self, batch, training=None):
        ids, first, second = batch
        vectors = tf.math.l2_normalize(
            classifier_model.sentence_embedding(self.encoder, ids, training=training), axis=-1
        )
        return tf.reduce_sum(tf.gather(vectors, first) * tf.gather(vectors, second), axis=-1)


def _pair_batches(ids: dict[str, np.ndarray], first, second, target, batch_size: int):
    """((distinct texts' ids, positions of the first texts, of the second), target) batches of pairs. Plain numpy:
    over a tf.data dataset the loop sat idle for 7 s (once 50 s) between the last step and its end."""
    count = len(next(iter(ids.values())))
    second = np.where(second == first, second + count, second)  # Itself: a second copy, its own dropout mask.
    for start in range(0, len(target), batch_size):
        rows = slice(start, start + batch_size)
        texts, positions = np.unique(np.concatenate([first[rows], second[rows]]), return_inverse=True)
        positions = positions.astype(np.int32)
        size = len(target[rows])
        batch_ids = {name: value[texts % count] for name, value in ids.items()}
        yield (batch_ids, positions[:size], positions[size:]), target[rows]


_BATCH_SPEC = (
    (
        {name: tf.TensorSpec([None, None], tf.int32) for name in features.TOKEN_FEATURES},
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None], tf.int32),
    ),
    tf.TensorSpec([None], tf.float32),
)


def _rows_once(gradient):
    """An embedding's gradient (IndexedSlices: one row per token occurrence) with each row once, repeats summed:
    its norm is then the dense gradient's, the one torch clips; with repeats it is not."""
    if not isinstance(gradient, tf.IndexedSlices):
        return gradient
    rows, positions = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(gradient.values, positions, tf.shape(rows)[0])
    return tf.IndexedSlices(values, rows, gradient.dense_shape)


def train_encoder(encoder, ids: dict[str, np.ndarray], labels: np.ndarray, settings, optimizer_for) -> int:
    """Contrastive fine-tuning of `encoder` on pairs of the texts `ids` (int32 [n, seq_length] per token feature);
    `optimizer_for(total_steps)` makes the optimizer. Returns the number of optimizer steps.

    A plain loop over one step traced without autograph, not Keras fit: fit's train function goes through
    autograph, and its first step took 22.7 s (12 s of it converting Keras' and the optimizer's source) of a 35 s
    epoch of 40 steps; this step's first run takes 5 s. setfit mode trains on one worker."""
    first, second, target = sample_pairs(labels, settings.setfit_iterations)
    steps_per_epoch = math.ceil(len(target) / settings.batch_size)
    total_steps = settings.setfit_epochs * steps_per_epoch
    log.info(
        "setfit: %d pairs of %d texts (%d iterations), %d epochs of %d steps, batch %d pairs",
        len(target),
        len(labels),
        settings.setfit_iterations,
        settings.setfit_epochs,
        steps_per_epoch,
        settings.batch_size,
    )
    pair_model, optimizer = _PairModel(encoder), optimizer_for(total_steps)
    ids = {name: value.astype(np.int32) for name, value in ids.items()}

    @tf.function(input_signature=_BATCH_SPEC, autograph=False)
    def train_step(batch, batch_target):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(pair_model(batch, training=True) - batch_target))
        variables = pair_model.trainable_variables
        gradients = [_rows_once(gradient) for gradient in tape.gradient(loss, variables)]
        gradients, _ = tf.clip_by_global_norm(gradients, MAX_GRADIENT_NORM)
        optimizer.apply_gradients(zip(gradients, variables))
        return loss

    started, step, report_every = time.monotonic(), 0, max(total_steps // PROGRESS_REPORTS, 1)
    for epoch in range(1, settings.setfit_epochs + 1):
        losses = []
        for batch, batch_target in _pair_batches(ids, first, second, target, settings.batch_size):
            losses.append(float(train_step(batch, batch_target)))
            step += 1
            if step % report_every == 0 or step == total_steps:
                log.info(
                    "setfit: epoch %d, step %d of %d, loss %.4f (mean of the epoch so far %.4f), %.1f s",
                    epoch,
                    step,
                    total_steps,
                    losses[-1],
                    np.mean(losses),
                    time.monotonic() - started,
                )
    return total_steps


def fit_head(encoder, head: tf_keras.Model, ids: dict, labels: np.ndarray, classes: int, balanced: bool) -> None:
    """setfit's default head, logistic regression at C = 1, on the tuned embeddings of the training texts."""
    vectors = embeddings.embed_in_length_order(embeddings.embedding_function(encoder), ids)
    linear_head.fit(head, vectors, labels, classes, HEAD_C, balanced)


def read_ids(batches) -> tuple[dict[str, np.ndarray], np.ndarray, list[bytes]]:
    """All (ids, labels, texts) batches of a dataset in memory: few-shot training sets are small."""
    ids, labels, texts = {name: [] for name in features.TOKEN_FEATURES}, [], []
    for batch_ids, batch_labels, batch_texts in batches:
        for name in ids:
            ids[name].append(batch_ids[name].numpy())
        labels.append(batch_labels.numpy().reshape(-1))
        texts += batch_texts.numpy().tolist()
    return {name: np.concatenate(parts) for name, parts in ids.items()}, np.concatenate(labels), texts
