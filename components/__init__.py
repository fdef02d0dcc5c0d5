"""TFX pipeline stages for sentence-transformer text classifiers.

tensorflow_hub's KerasLayer only works with Keras 2 (tf_keras), so the legacy Keras switch is set here, before any
TensorFlow import that goes through this package.
"""
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
