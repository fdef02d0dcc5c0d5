"""The TFX stages of the pipeline, one folder each: component factory, executor or module file, tests beside them.

Stages import the leaf modules (`sentence_tfx.config`, `sentence_tfx.features`), the encoder converter and the
schemas, never `sentence_tfx.pipeline`.
"""

from sentence_tfx import keras2  # noqa: F401  (Keras 2 before TensorFlow loads)
