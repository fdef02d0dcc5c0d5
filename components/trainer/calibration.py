"""Temperature scaling (Guo et al., 2017): one number T, fitted on the validation split, divides the classifier's
log-scores before the softmax. The top class never changes; the scores become probabilities a user can read (an
accuracy of 0.8 among the texts scored 0.8). Fitted after training, folded into the exported model."""

import numpy as np
import tensorflow as tf
import tf_keras

ECE_BINS = 15  # Equal-width bins of the top score, as in Guo et al.
_LOWEST, _HIGHEST = 0.05, 20.0  # Range searched for T.
_TINY = 1e-12


class Temperature(tf_keras.layers.Layer):
    """softmax(log(scores) / T): the head's probabilities, recalibrated. T is a constant of the exported graph."""

    def __init__(self, temperature: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.temperature = float(temperature)

    def call(self, scores):
        return tf.nn.softmax(tf.math.log(tf.maximum(scores, _TINY)) / self.temperature, axis=-1)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


def rescale(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature's computation in numpy."""
    logits = np.log(np.maximum(scores, _TINY)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def log_loss(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(np.maximum(scores[np.arange(len(labels)), labels], _TINY))))


def fit_temperature(scores: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.05, 20] of least log loss on (scores, labels): golden-section search on log T (the loss is convex
    in 1/T)."""
    low, high = np.log(_LOWEST), np.log(_HIGHEST)
    ratio = (np.sqrt(5) - 1) / 2

    def loss(log_t):
        return log_loss(rescale(scores, np.exp(log_t)), labels)

    a, b = high - ratio * (high - low), low + ratio * (high - low)
    loss_a, loss_b = loss(a), loss(b)
    for _ in range(60):
        if loss_a <= loss_b:
            high, b, loss_b = b, a, loss_a
            a = high - ratio * (high - low)
            loss_a = loss(a)
        else:
            low, a, loss_a = a, b, loss_b
            b = low + ratio * (high - low)
            loss_b = loss(b)
    return float(np.exp((low + high) / 2))


def reliability_bins(scores: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS):
    """Per non-empty bin of the top score: its mean, the share of correct argmax predictions, and the count."""
    top = scores.max(axis=1)
    correct = scores.argmax(axis=1) == labels
    index = np.minimum((top * bins).astype(int), bins - 1)
    used = np.unique(index)
    counts = np.array([np.sum(index == b) for b in used])
    confidence = np.array([top[index == b].mean() for b in used])
    accuracy = np.array([correct[index == b].mean() for b in used])
    return confidence, accuracy, counts


def expected_calibration_error(scores: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean |accuracy − confidence| over the bins, weighted by their counts."""
    if not len(labels):
        return 0.0
    confidence, accuracy, counts = reliability_bins(scores, labels, bins)
    return float(np.sum(counts * np.abs(accuracy - confidence)) / len(labels))
