"""The CLI's console log: this project's lines, errors, and TFX's start/finish line of every component, through the
whole run, without the CUDA lines TensorFlow prints on every import."""

import logging
import os
import re
import sys
import tempfile

from absl import logging as absl_logging

# XLA registers its CUDA plugins twice in the pip TensorFlow and says so, at ERROR level from C++, on every import,
# GPU or not (tensorflow/tensorflow#62075). Only these exact lines are dropped.
_CUDA_FACTORY_NOISE = re.compile(
    rb"Unable to register cu(FFT|DNN|BLAS) factory: Attempting to register factory for plugin cu(FFT|DNN|BLAS) "
    rb"when one has already been registered"
)


class ProgressFilter(logging.Filter):
    """Keeps errors, this project's own lines and TFX's "Component X is running/finished"; drops library chatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR or record.name.split(".")[0] == "sentence_tfx":
            return True
        message = record.getMessage()
        return (
            record.name == "absl"
            and message.startswith("Component ")
            and message.endswith((" is running.", " is finished."))
        )


def configure(verbose: bool, progress_only: bool) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if progress_only:
        for handler in logging.getLogger().handlers:
            handler.addFilter(ProgressFilter())
    # TFX logs component starts through absl. Its level must be set as absl's verbosity, not only on the logger:
    # every SavedModel export (Transform's graph, the Trainer's model) sets absl's verbosity to FATAL and back to
    # the *flag's* value, WARNING unless set here, which silenced the log after Transform.
    absl_logging.set_verbosity(absl_logging.DEBUG if verbose else absl_logging.INFO)
    for name in ("absl", "sentence_tfx"):  # Explicit levels: TF and Beam lower the root's mid-run.
        logging.getLogger(name).setLevel(level)


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow with file descriptor 2 sent to a temporary file, then writes back everything but the CUDA
    factory lines: C++ writes them to the descriptor, where no Python filter sees them, and TF_CPP_MIN_LOG_LEVEL
    would hide real errors with them. A file, not a pipe, so an import that writes a lot cannot block."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
            captured.seek(0)
            os.write(2, drop_cuda_factory_noise(captured.read()))


def drop_cuda_factory_noise(output: bytes) -> bytes:
    return b"".join(line for line in output.splitlines(keepends=True) if not _CUDA_FACTORY_NOISE.search(line))
