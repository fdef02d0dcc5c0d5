"""Sentence-transformer → TF Hub-style preprocessor + encoder SavedModels."""

from sentence_tfx import keras2  # noqa: F401  (Keras 2 before TensorFlow loads)
