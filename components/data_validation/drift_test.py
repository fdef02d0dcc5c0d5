"""Drift against the last accepted run, measured by TFDV on real statistics: what moves past the thresholds, what
does not, and how the gate words it."""

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

from sentence_tfx import features
from sentence_tfx.components.data_validation import drift, gate

RNG = np.random.default_rng(0)


def _stats(labels: list[str], token_counts=None):
    """Statistics as StatisticsGen (labels) and Transform (token counts) compute them."""
    counts = RNG.integers(5, 30, size=len(labels)) if token_counts is None else token_counts
    frame = pd.DataFrame({features.LABEL: labels, features.TOKEN_COUNT: counts})
    return tfdv.generate_statistics_from_dataframe(frame).datasets[0]


@pytest.fixture
def accepted(tmp_path):
    """A run that passed validation: 1,000 examples, labels 50/50, 5 to 29 tokens."""
    stats = _stats(["neg", "pos"] * 500)
    out = drift.AcceptedStatistics()
    out.uri = str(tmp_path / "accepted")
    drift.record(out, stats, stats, "tokenizer seq_length=128")
    return out


def test_labels_moving_from_50_50_to_90_10_drift_and_read_clearly(accepted):
    found = drift.label_drift(_stats(["pos"] * 900 + ["neg"] * 100), accepted, max_drift=0.1)
    assert found.drifted and found.value == pytest.approx(0.4)
    line = gate.summarize([gate.drift_problem("train", found, "--max-label-drift")]).splitlines()[1]
    assert line == (
        "  train: label: Label distribution drifted from the last accepted run: 'neg' 50% → 10%, 'pos' 50% → 90% "
        "(L-infinity distance 0.40 > --max-label-drift 0.1)"
    )


def test_a_new_sample_of_the_same_labels_does_not_drift(accepted):
    labels = list(RNG.choice(["neg", "pos"], size=3000))
    found = drift.label_drift(_stats(labels), accepted, max_drift=0.1)
    assert not found.drifted and found.value < 0.05


def test_longer_texts_drift_and_the_same_lengths_do_not(accepted):
    longer = drift.token_length_drift(_stats(["neg", "pos"] * 500, RNG.integers(20, 60, 1000)), accepted, 0.1)
    assert longer.drifted and longer.measure == "Jensen-Shannon divergence"
    assert longer.change.startswith("mean 17.")  # 5 to 29 tokens before ...
    assert "→ 39." in longer.change  # ... 20 to 59 now.
    same = drift.token_length_drift(_stats(["neg", "pos"] * 500), accepted, 0.1)
    assert not same.drifted and same.value < 0.05
