"""TFX pipeline stages for sentence-transformer text classifiers.

tensorflow_hub's KerasLayer only works with Keras 2 (tf_keras), so the legacy Keras switch is set here, before any
TensorFlow import that goes through this package.
"""
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"


def __getattr__(name):
    """components.ValidationReport, imported on first use: Kubeflow V2 containers resolve the custom artifact type
    from its TYPE_NAME "components.ValidationReport"; a lazy import keeps `import components` free of TensorFlow."""
    if name == "ValidationReport":
        from components.data_validation.gate import ValidationReport
        return ValidationReport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
