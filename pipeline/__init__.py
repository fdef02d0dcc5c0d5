"""The sentence-tfx TFX pipeline: configuration, pipeline assembly and the `sentence-tfx` command line."""
import components  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
