"""The eval scores file: what the Trainer writes is what the report reads, row for row."""

import numpy as np

from sentence_tfx.components.trainer import eval_scores


def test_scores_labels_and_texts_come_back_row_for_row(tmp_path):
    texts = ["a great film", "ünïcödé ✓", "", "line\nbreak"]
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.0, 1.0]], np.float32)
    labels = np.array([0, 1, 1, 0])
    eval_scores.write(str(tmp_path), scores, labels, [text.encode() for text in texts])
    got_scores, got_labels, got_texts = eval_scores.read(str(tmp_path))
    np.testing.assert_array_equal(got_scores, scores)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_texts == texts
