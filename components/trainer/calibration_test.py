"""Temperature scaling: the fit finds the temperature that made scores overconfident, and folding it into a model
changes its scores exactly as the numpy rescaling does, never its top class."""

import numpy as np
import pytest

from sentence_tfx.components.trainer import calibration


def _overconfident(temperature: float, examples: int = 4000, classes: int = 3, seed: int = 0):
    """Labels drawn from softmax(logits); scores softmax(logits × temperature): too sure when temperature > 1."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (examples, classes))
    true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(classes, p=p) for p in true])
    sharp = np.exp(logits * temperature)
    return sharp / sharp.sum(axis=1, keepdims=True), labels


def test_fit_recovers_the_temperature_and_lowers_the_calibration_error():
    scores, labels = _overconfident(temperature=2.5)
    fitted = calibration.fit_temperature(scores, labels)
    assert fitted == pytest.approx(2.5, rel=0.1)
    before = calibration.expected_calibration_error(scores, labels)
    after = calibration.expected_calibration_error(calibration.rescale(scores, fitted), labels)
    assert after < before / 3


def test_a_calibrated_model_is_left_alone():
    scores, labels = _overconfident(temperature=1.0, seed=1)
    assert calibration.fit_temperature(scores, labels) == pytest.approx(1.0, rel=0.1)


def test_the_layer_computes_what_rescale_computes_and_keeps_the_top_class():
    scores, _ = _overconfident(temperature=3.0, examples=50)
    scores = scores.astype(np.float32)
    layered = calibration.Temperature(2.0)(scores).numpy()
    np.testing.assert_allclose(layered, calibration.rescale(scores, 2.0), atol=1e-5)
    np.testing.assert_array_equal(layered.argmax(axis=1), scores.argmax(axis=1))
    restored = calibration.Temperature.from_config(calibration.Temperature(2.0).get_config())
    assert restored.temperature == 2.0


def test_expected_calibration_error_by_hand():
    scores = np.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.3, 0.7]])
    labels = np.array([0, 1, 0, 1])
    # Bins of 1/15: 0.95 → two examples, one right (|0.5 − 0.95|); 0.55 → right (0.45); 0.7 → right (0.3).
    assert calibration.expected_calibration_error(scores, labels) == pytest.approx((2 * 0.45 + 0.45 + 0.3) / 4)
