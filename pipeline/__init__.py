"""The sentence-tfx TFX pipeline: assembly (create_pipeline), runners, orchestrator compilers and the CLI."""

from sentence_tfx import keras2  # noqa: F401  (Keras 2 before TensorFlow loads)
