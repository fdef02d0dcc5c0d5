"""Our executor for TFX's Pusher: a push is atomic, never reuses a version number, and is checked before it is visible.

TFX's own executor copies into `<base>/<current second>/` in place (a killed copy leaves a partial version forever) and
skips the copy when that folder already exists while still recording the push. Here the model is copied to a hidden
temporary sibling, loaded from there, then renamed to the next free version (an integer ≥ now and above every
existing version); the PushedModel artifact records the folder that was really written.
"""

import logging
import os
import re
import socket
import time
import uuid

import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops of the model's Transform graph, needed to load it)
from tfx.components.evaluator import constants as evaluator_constants
from tfx.components.pusher import executor as tfx_pusher_executor
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

from sentence_tfx import features
from sentence_tfx.errors import InputError

log = logging.getLogger(__name__)

PUSHED_BLESSING_KEY = "pushed_blessing"  # Output: a ModelBlessing, blessed only when the model was pushed.
TEMP_PREFIX = ".push-tmp-"  # Not an integer: model servers never take a folder being written for a version.
_TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"(?P<pid>\d+)-[0-9a-f]{8}-(?P<host>.+)")
_MAX_VERSION = 2**63 - 1  # TF Serving's versions are int64.


def _temp_name() -> str:
    """Names the pushing process, so a later push can tell a killed push's leftovers from a running one."""
    return f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-{socket.gethostname()}"


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # Another user's process.
        return True
    return True


def _remove_stale_temp_folders(base_directory: str) -> None:
    """Removes the temporary folders of pushes from this host whose process is gone (killed mid-push)."""
    host = socket.gethostname()
    for name in tf.io.gfile.listdir(base_directory):
        match = _TEMP_NAME.fullmatch(name.rstrip("/"))
        if match and match["host"] == host and not _process_exists(int(match["pid"])):
            path = os.path.join(base_directory, name.rstrip("/"))
            log.warning("Removing %s, left by a push that did not finish (process %s is gone)", path, match["pid"])
            tf.io.gfile.rmtree(path)


def _existing_versions(base_directory: str) -> list[int]:
    """The version numbers taken in base_directory: every plain int64 folder name, complete or not."""
    names = (name.rstrip("/") for name in tf.io.gfile.listdir(base_directory))
    return [int(name) for name in names if name.isdigit() and int(name) <= _MAX_VERSION]


def rename_to_free_version(source: str, base_directory: str, first_candidate: int) -> str:
    """Renames source to base_directory/<first free integer ≥ first_candidate>; the rename is the claim, so a
    concurrent push that took the same number first makes this one move on to the next."""
    version = first_candidate
    while True:
        target = os.path.join(base_directory, str(version))
        try:
            tf.io.gfile.rename(source, target, overwrite=False)
            return target
        except tf.errors.OpError:
            if not tf.io.gfile.exists(target):
                raise
            version += 1


def _check_loads(path: str) -> None:
    try:
        signatures = tf.saved_model.load(path).signatures
    except Exception as error:  # noqa: BLE001  (whatever stops it loading stops the push)
        raise RuntimeError(f"the copy of the model in {path} does not load, nothing was pushed: {error}") from error
    if features.DEFAULT_SIGNATURE not in signatures:
        raise RuntimeError(f"the model in {path} has no {features.DEFAULT_SIGNATURE} signature, nothing was pushed")


def push(model_path: str, base_directory: str) -> str:
    """Copies the SavedModel at model_path to a new version under base_directory; returns that version's folder."""
    if tf.io.gfile.exists(base_directory) and not tf.io.gfile.isdir(base_directory):
        raise InputError(f"serving dir {base_directory} is not a directory; nothing was pushed")
    tf.io.gfile.makedirs(base_directory)
    _remove_stale_temp_folders(base_directory)
    temp = os.path.join(base_directory, _temp_name())
    try:
        io_utils.copy_dir(model_path, temp)
        _check_loads(temp)
        first_candidate = max([int(time.time()), *(version + 1 for version in _existing_versions(base_directory))])
        return rename_to_free_version(temp, base_directory, first_candidate)
    finally:
        if tf.io.gfile.exists(temp):
            tf.io.gfile.rmtree(temp)


def _base_directory(exec_properties: dict) -> str:
    destination = proto_utils.json_to_proto(
        exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], pusher_pb2.PushDestination()
    )
    if destination.WhichOneof("destination") != "filesystem" or destination.filesystem.versioning not in (
        pusher_pb2.Versioning.AUTO,
        pusher_pb2.Versioning.UNIX_TIMESTAMP,
    ):
        raise ValueError(f"this Pusher pushes to a file system with automatic versions, not {destination}")
    return destination.filesystem.base_directory


class Executor(tfx_pusher_executor.Executor):
    """TFX's Pusher executor (blessing checks, model path, PushedModel properties) with an atomic, checked push,
    confirmed by a blessing of the pushed model (see component.py)."""

    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        pushed_model = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        pushed_blessing = artifact_utils.get_single_instance(output_dict[PUSHED_BLESSING_KEY])
        pushed_blessing.set_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY, 0)
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(pushed_model)
            return
        model_path = self.GetModelPath(input_dict)
        version_dir = push(model_path, _base_directory(exec_properties))
        log.info("Pushed %s to %s", model_path, version_dir)
        io_utils.copy_dir(model_path, pushed_model.uri)  # The artifact's own copy, as TFX's Pusher keeps it.
        self._MarkPushed(pushed_model, pushed_destination=version_dir, pushed_version=os.path.basename(version_dir))
        model = artifact_utils.get_single_instance(input_dict[standard_component_specs.MODEL_KEY])
        pushed_blessing.set_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY, 1)
        pushed_blessing.set_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, model.id)
        pushed_blessing.set_string_custom_property(
            evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY, model.uri
        )
