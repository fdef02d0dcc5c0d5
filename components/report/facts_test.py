"""The report's numbers on data small enough to count by hand."""

import numpy as np
import pytest

from sentence_tfx.components.report import facts

LABELS = ("neg", "pos")


def _split(rows, truncated=()):
    texts, labels = zip(*rows)
    return facts.Split(
        list(texts),
        np.array(labels),
        np.array([len(t.split()) + 2 for t in texts]),
        np.array([i in truncated for i in range(len(rows))]),
    )


def test_data_facts_count_labels_empties_duplicates_and_leakage():
    train = _split(
        [("a fine film", 1), ("a fine film", 1), ("a fine film", 0), ("dull", 0), ("", 0), ("great", 1)], [0]
    )
    eval_split = _split([("dull", 1), ("new text", 1), ("great", 1)])
    found = facts.data_facts({"train": train, "eval": eval_split}, LABELS)
    assert found.rows == {"train": 6, "eval": 3}
    assert found.label_counts == {"train": [3, 3], "eval": [0, 3]}
    assert found.truncated_share == {"train": pytest.approx(1 / 6), "eval": 0.0}
    assert found.empty_texts == {"train": 1, "eval": 0}
    assert found.duplicate_rows == 2 and found.contradicting_texts == 1
    assert found.most_repeated == [facts.Repeated("a fine film", 3, ("neg", "pos"))]
    assert found.leaked_rows == 2
    assert found.leaked == [facts.Leaked("dull", "pos", ("neg",)), facts.Leaked("great", "pos", ("pos",))]


def test_prediction_facts_match_hand_counts():
    scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.45, 0.55], [0.05, 0.95]])
    labels = np.array([0, 1, 1, 0, 1])
    found = facts.prediction_facts(scores, labels, ["a", "b", "c", "d", "e"], LABELS)
    assert found.confusion.tolist() == [[1, 1], [1, 2]]
    assert found.accuracy == pytest.approx(3 / 5)
    np.testing.assert_allclose(found.precision, [1 / 2, 2 / 3])
    np.testing.assert_allclose(found.recall, [1 / 2, 2 / 3])
    assert found.macro_f1 == pytest.approx((1 / 2 + 2 / 3) / 2)
    # Top scores 0.9, 0.8, 0.7, 0.55, 0.95 → bins (of 1/15) 13, 12, 10, 8, 14: one each.
    assert found.bin_counts.tolist() == [1, 1, 1, 1, 1]
    np.testing.assert_allclose(found.bin_confidence, [0.55, 0.7, 0.8, 0.9, 0.95])
    np.testing.assert_allclose(found.bin_accuracy, [0, 1, 0, 1, 1])
    assert found.expected_calibration_error == pytest.approx((0.55 + 0.3 + 0.8 + 0.1 + 0.05) / 5)
    assert found.confident_mistakes == [facts.Mistake("b", "pos", "neg", 0.8), facts.Mistake("d", "neg", "pos", 0.55)]
