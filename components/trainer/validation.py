"""The validation split: carved from train by a hash of each text, it picks the epoch and fits the temperature, so
the eval split (TFMA's metrics, the blessing) plays no part in choosing the model. A text repeated in train is on
one side only, and the same text is on the same side in every run and mode."""

import numpy as np
import tensorflow as tf

HASH_BUCKETS = 10_000
MIN_EXAMPLES = 10  # With fewer held out, choosing an epoch or a temperature is noise: train on all of train instead.


def is_held_out(texts, fraction: float) -> tf.Tensor:
    """True for the texts (a string tensor, any shape) in the validation split."""
    return tf.strings.to_hash_bucket_fast(texts, HASH_BUCKETS) < round(fraction * HASH_BUCKETS)


def held_out_mask(texts: list[str], fraction: float) -> np.ndarray:
    """is_held_out for a list of texts; all False when fewer than MIN_EXAMPLES would be held out."""
    if not texts:
        return np.zeros(0, bool)
    mask = is_held_out(tf.constant(texts), fraction).numpy()
    return mask if mask.sum() >= MIN_EXAMPLES else np.zeros_like(mask)
