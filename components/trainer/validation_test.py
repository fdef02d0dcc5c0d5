"""The validation split: deterministic, about the asked share, the same text always on the same side."""

import numpy as np

from sentence_tfx.components.trainer import validation


def test_split_share_determinism_and_duplicates():
    texts = [f"review number {i}" for i in range(5000)]
    mask = validation.held_out_mask(texts, 0.1)
    assert 0.08 < mask.mean() < 0.12
    np.testing.assert_array_equal(mask, validation.held_out_mask(list(reversed(texts)), 0.1)[::-1])
    repeated = validation.held_out_mask(texts[:100] * 3, 0.1).reshape(3, 100)
    assert (repeated == repeated[0]).all()
    assert not validation.held_out_mask(texts, 0.0).any()


def test_too_few_held_out_means_no_validation_split():
    texts = [f"t{i}" for i in range(40)]  # About 4 held out at 10 %: fewer than MIN_EXAMPLES.
    assert validation.is_held_out(texts, 0.1).numpy().sum() < validation.MIN_EXAMPLES
    assert not validation.held_out_mask(texts, 0.1).any()
