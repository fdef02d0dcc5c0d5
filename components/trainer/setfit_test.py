"""--mode setfit's pieces on the tiny encoder: the pair sampling, the contrastive step, the head copied from the
logistic regression."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
from sklearn.linear_model import LogisticRegression

from sentence_tfx import features
from sentence_tfx.components.embedding_gen import embeddings
from sentence_tfx.components.trainer import model as classifier_model
from sentence_tfx.components.trainer import setfit
from sentence_tfx.config import PipelineConfig, TrainerSettings

TEXTS = ["a good movie", "a great film", "fun and fine", "the worst film", "dull and bad", "not good at all"]
LABELS = np.array([1, 1, 1, 0, 0, 0])


def _pair_counts(first, second, target, labels):
    """{(i, j) with i ≤ j: times used}, after checking each target says whether the pair's classes agree."""
    assert np.array_equal(labels[first] == labels[second], target == 1.0)
    pairs = np.sort(np.stack([first, second], axis=1), axis=1)
    return {tuple(pair): count for pair, count in zip(*np.unique(pairs, axis=0, return_counts=True))}


def test_pairs_are_setfits_all_pairs_of_each_kind_in_turn():
    labels = np.array([0, 0, 1, 1, 1, 2])
    first, second, target = setfit.sample_pairs(labels, iterations=5)
    assert (target == 1.0).sum() == (target == 0.0).sum() == 5 * len(labels)
    used = _pair_counts(first, second, target, labels)
    same = [(i, j) for i in range(6) for j in range(i, 6) if labels[i] == labels[j]]  # (2, 2): itself, too.
    other = [(i, j) for i in range(6) for j in range(i, 6) if labels[i] != labels[j]]
    for kind in (same, other):  # 30 of each kind, cycling over all of them: each used ⌊30 / n⌋ or ⌈30 / n⌉ times.
        times = [used.get(pair, 0) for pair in kind]
        assert sum(times) == 30 and max(times) - min(times) <= 1
    again = setfit.sample_pairs(labels, iterations=5)
    assert all(np.array_equal(a, b) for a, b in zip((first, second, target), again))


def test_pairs_of_large_training_sets_are_drawn_from_the_same_pairs(monkeypatch):
    monkeypatch.setattr(setfit, "LISTED_PAIRS_LIMIT", 10)
    labels = np.array([0] * 30 + [1] * 10)
    first, second, target = setfit.sample_pairs(labels, iterations=100)
    assert (target == 1.0).sum() == (target == 0.0).sum() == 100 * len(labels)
    used = _pair_counts(first, second, target, labels)
    # Uniform over the 465 + 55 pairs of one class (a text with itself included; i ≤ j) and the 300 of two.
    same_pairs = [(i, j) for i in range(40) for j in range(i, 40) if labels[i] == labels[j]]
    assert sum(used.get(pair, 0) > 0 for pair in same_pairs) > 0.99 * len(same_pairs)
    assert abs(sum(used.get((i, i), 0) for i in range(40)) / 4000 - 40 / 520) < 0.02
    assert abs(sum(used.get(pair, 0) for pair in same_pairs if pair[0] >= 30) / 4000 - 55 / 520) < 0.02


def test_one_class_has_no_pairs_to_learn_from():
    with pytest.raises(ValueError, match="two classes"):
        setfit.sample_pairs(np.array([1, 1, 1]), iterations=2)


@pytest.fixture
def ids(tiny_export):
    packed = hub.KerasLayer(str(tiny_export / "preprocessor"))(tf.constant(TEXTS))
    return {name: tf.cast(value, tf.int32).numpy() for name, value in packed.items()}


def _similarities(encoder, ids):
    vectors = embeddings.embed_in_length_order(embeddings.embedding_function(encoder), ids)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = vectors @ vectors.T
    same = LABELS[:, None] == LABELS[None, :]
    off_diagonal = ~np.eye(len(LABELS), dtype=bool)
    return similarity[same & off_diagonal].mean(), similarity[~same].mean()


def test_a_step_encodes_each_distinct_text_once_and_scores_every_pair(tiny_export, ids):
    encoder = classifier_model.build_encoder(str(tiny_export / "encoder"), trainable=True)
    vectors = embeddings.embed_in_length_order(embeddings.embedding_function(encoder), ids)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    first, second, target = setfit.sample_pairs(LABELS, iterations=3)
    pair_model, start = setfit._PairModel(encoder), 0
    for (batch_ids, first_at, second_at), batch_target in setfit._pair_batches(ids, first, second, target, 8):
        rows = slice(start, start + len(batch_target))
        start = rows.stop
        copies = {text + len(TEXTS) if text == partner else text for text, partner in zip(second[rows], first[rows])}
        assert len(batch_ids[features.WORD_IDS]) == len(set(first[rows]) | copies)  # Itself: encoded twice.
        np.testing.assert_array_equal(batch_target, target[rows])
        expected = (vectors[first[rows]] * vectors[second[rows]]).sum(axis=1)
        got = pair_model((batch_ids, first_at, second_at), training=False).numpy()
        np.testing.assert_allclose(got, expected, atol=1e-5)
        itself = (first[rows] == second[rows]).nonzero()[0]  # Two dropout masks: below 1 while training.
        assert (pair_model((batch_ids, first_at, second_at), training=True).numpy()[itself] < 1 - 1e-4).all()
    assert start == len(target) and (first == second).any()


def test_contrastive_training_brings_same_class_texts_together(tiny_export, ids):
    encoder = classifier_model.build_encoder(str(tiny_export / "encoder"), trainable=True)
    same_before, other_before = _similarities(encoder, ids)
    config = PipelineConfig(train_data="t.csv", mode="setfit", setfit_iterations=10, setfit_epochs=3, batch_size=4)
    settings = config.settings(TrainerSettings)
    steps = setfit.train_encoder(encoder, ids, LABELS, settings, lambda total: tf.keras.optimizers.Adam(1e-3))
    assert steps == 3 * (2 * 10 * 6) // 4
    same_after, other_after = _similarities(encoder, ids)
    assert same_after - other_after > same_before - other_before + 0.1


def test_the_head_scores_exactly_what_the_logistic_regression_learnt(tiny_export, ids):
    encoder = classifier_model.build_encoder(str(tiny_export / "encoder"), trainable=False)
    vectors = embeddings.embed_in_length_order(embeddings.embedding_function(encoder), ids)
    for labels, classes in ((LABELS, 2), (np.array([0, 0, 2, 2, 3, 3]), 4)):  # Class 1 has no training text.
        head = classifier_model.build_linear_head(classes)
        setfit.fit_head(encoder, head, ids, labels, classes, balanced=False)
        expected = LogisticRegression(max_iter=1000).fit(vectors, labels).predict_proba(vectors)
        got = head(vectors).numpy()
        np.testing.assert_allclose(
            np.delete(got, [c for c in range(classes) if c not in labels], axis=1), expected, atol=1e-5
        )
        assert got[:, [c for c in range(classes) if c not in labels]].max(initial=0) < 1e-6


def _one_step_update(tiny_export, ids) -> np.ndarray:
    """All of the encoder's variables' change in one plain SGD step (learning rate 1): the clipped gradient."""
    encoder = classifier_model.build_encoder(str(tiny_export / "encoder"), trainable=True)
    before = [v.numpy().copy() for v in encoder.trainable_variables]
    settings = PipelineConfig(train_data="t.csv", mode="setfit", setfit_iterations=1, batch_size=12).settings(
        TrainerSettings
    )
    assert setfit.train_encoder(encoder, ids, LABELS, settings, lambda total: tf.keras.optimizers.SGD(1.0)) == 1
    return np.concatenate([(v.numpy() - b).ravel() for v, b in zip(encoder.trainable_variables, before)])


def test_a_step_clips_the_gradients_global_norm_as_setfits_trainer_does(tiny_export, ids, monkeypatch):
    monkeypatch.setattr(setfit, "MAX_GRADIENT_NORM", 0.1)  # Far below this gradient's norm: every step clipped.
    update = _one_step_update(tiny_export, ids)
    assert np.linalg.norm(update) == pytest.approx(0.1, rel=1e-3)  # All variables together, not each to 0.1.
