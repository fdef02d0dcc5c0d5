"""The console log: TensorFlow's CUDA factory lines dropped and nothing else, component lines kept after exports."""

import logging
import os
import subprocess
import sys

import tensorflow as tf
from absl import logging as absl_logging

from sentence_tfx.pipeline import logs

NOISE = b"Unable to register cu"


def test_only_the_cuda_factory_lines_are_dropped():
    output = (
        b"2026-01-01 E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:479] Unable to register cuFFT factory: "
        b"Attempting to register factory for plugin cuFFT when one has already been registered\n"
        b"2026-01-01 E tensorflow/core/framework/op_kernel.cc:1] a real error\n"
        b"E0000 cuda_dnn.cc:8579] Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN "
        b"when one has already been registered\n"
        b"E0000 cuda_blas.cc:1407] Unable to register cuBLAS factory: Attempting to register factory for plugin cuBLAS "
        b"when one has already been registered\n"
        b"UserWarning: something Python said\n"
        b"Unable to register cuDNN factory: for another reason\n"
        b"last line without a newline"
    )
    assert logs.drop_cuda_factory_noise(output) == (
        b"2026-01-01 E tensorflow/core/framework/op_kernel.cc:1] a real error\n"
        b"UserWarning: something Python said\n"
        b"Unable to register cuDNN factory: for another reason\n"
        b"last line without a newline"
    )


def _stderr_of_import(statement: str) -> bytes:
    """What a fresh interpreter prints on stderr while importing TensorFlow, its C++ INFO lines included."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}
    return subprocess.run([sys.executable, "-c", statement], capture_output=True, check=True, env=env).stderr


def test_tensorflow_imports_without_the_cuda_lines_and_with_all_else():
    plain = _stderr_of_import("import tensorflow")
    quiet = _stderr_of_import("from sentence_tfx.pipeline import logs; logs.import_tensorflow_quietly()")
    assert plain.count(NOISE) == 3, plain.decode()  # What every pip TensorFlow 2.16 import prints.
    assert NOISE not in quiet, quiet.decode()
    assert b"cpu_feature_guard" in plain and b"cpu_feature_guard" in quiet  # A C++ INFO line of the import: kept.


def test_component_lines_survive_a_saved_model_export(tmp_path, caplog):
    """TF's SavedModel export sets absl's verbosity to FATAL and back to the flag's value: with only the logger's
    level set, TFX's INFO lines were gone after Transform's first export."""
    verbosity = absl_logging.get_verbosity()
    try:
        logs.configure(verbose=False, progress_only=True)
        module = tf.Module()
        module.double = tf.function(lambda x: 2 * x, input_signature=[tf.TensorSpec([], tf.float32)])
        tf.saved_model.save(module, str(tmp_path / "model"))
        with caplog.at_level(logging.INFO):
            absl_logging.info("Component Trainer is running.")
            absl_logging.info("library chatter")
        assert caplog.messages == ["Component Trainer is running."]
    finally:
        absl_logging.set_verbosity(verbosity)
