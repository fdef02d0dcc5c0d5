"""Importing this selects Keras 2 (tf_keras) for TensorFlow: tensorflow_hub's KerasLayer only works with it.

It must run before the first TensorFlow import, so the packages that build or load Keras models (components,
encoder, schemas, pipeline) import it first thing, and Beam workers load it as a plugin. The model server does not:
loading a SavedModel needs no Keras.
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
