"""The push itself on real SavedModels and directories: atomic, never reusing a version, checked to load, honest."""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import tensorflow as tf
from tfx.components.evaluator import constants as evaluator_constants
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import proto_utils

from sentence_tfx import features
from sentence_tfx.components.pusher import executor
from sentence_tfx.errors import InputError


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> str:
    """A small real SavedModel with the serving_default signature the push checks for."""

    class Doubler(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def double(self, x):
            return {"y": 2 * x}

    path = str(tmp_path_factory.mktemp("model") / "Format-Serving")
    module = Doubler()
    tf.saved_model.save(module, path, signatures={features.DEFAULT_SIGNATURE: module.double})
    return path


def _entries(base: Path) -> list[str]:
    return sorted(entry.name for entry in base.iterdir())


def _doubles(version_dir: str) -> list[float]:
    signature = tf.saved_model.load(version_dir).signatures[features.DEFAULT_SIGNATURE]
    return signature(x=tf.constant([1.0, 2.0]))["y"].numpy().tolist()


def test_a_push_is_a_complete_version_named_at_least_now(saved_model, tmp_path):
    started = int(time.time())
    version_dir = executor.push(saved_model, str(tmp_path / "serving"))
    assert Path(version_dir).parent == tmp_path / "serving"
    assert started <= int(Path(version_dir).name) <= time.time()
    assert _entries(tmp_path / "serving") == [Path(version_dir).name]  # No temporary folder left behind.
    assert _doubles(version_dir) == [2.0, 4.0]


def test_pushes_never_reuse_a_version_and_the_newest_push_is_the_highest(saved_model, tmp_path):
    """A folder named ahead of the clock (another machine's clock, a manual copy) is never overwritten or skipped:
    the next pushes go above it, each to its own number, even within the same second."""
    base = tmp_path / "serving"
    future = int(time.time()) + 1000
    (base / str(future)).mkdir(parents=True)
    (base / str(future) / "keep.txt").write_text("someone else's")
    first = executor.push(saved_model, str(base))
    second = executor.push(saved_model, str(base))
    assert (int(Path(first).name), int(Path(second).name)) == (future + 1, future + 2)
    assert (base / str(future) / "keep.txt").read_text() == "someone else's"
    assert _doubles(first) == _doubles(second) == [2.0, 4.0]


def test_concurrent_pushes_each_get_their_own_version(saved_model, tmp_path):
    """Four pushes at once compute the same next number; the rename is the claim, so the losers move on."""
    base = tmp_path / "serving"
    base.mkdir()
    results, errors = [], []

    def push():
        try:
            results.append(executor.push(saved_model, str(base)))
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=push) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(results)) == 4 and _entries(base) == sorted(Path(r).name for r in results)
    for version_dir in results:
        assert _doubles(version_dir) == [2.0, 4.0]


def test_the_rename_moves_on_when_the_number_is_taken(saved_model, tmp_path):
    base = tmp_path / "serving"
    (base / "7").mkdir(parents=True)
    (base / "8").mkdir()
    (base / "source").mkdir()
    assert executor.rename_to_free_version(str(base / "source"), str(base), 7) == str(base / "9")
    assert _entries(base) == ["7", "8", "9"]


def test_stale_temporary_folders_of_dead_pushes_are_removed_live_ones_kept(saved_model, tmp_path):
    base = tmp_path / "serving"
    host = socket.gethostname()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = base / f"{executor.TEMP_PREFIX}{int(dead.stdout)}-0123abcd-{host}"
    live = base / f"{executor.TEMP_PREFIX}{os.getpid()}-89abcdef-{host}"
    elsewhere = base / f"{executor.TEMP_PREFIX}{int(dead.stdout)}-00000000-another-host"
    for folder in (stale, live, elsewhere):
        (folder / "variables").mkdir(parents=True)
        (folder / "fingerprint.pb").write_bytes(b"partial")
    version_dir = executor.push(saved_model, str(base))
    assert _entries(base) == sorted([live.name, elsewhere.name, Path(version_dir).name])


def test_a_model_that_does_not_load_is_never_pushed(saved_model, tmp_path):
    broken = tmp_path / "broken"
    subprocess.run(["cp", "-r", saved_model, str(broken)], check=True)
    (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
    with pytest.raises(RuntimeError, match="does not load, nothing was pushed"):
        executor.push(str(broken), str(tmp_path / "serving"))
    assert _entries(tmp_path / "serving") == []


def test_a_serving_dir_that_is_a_file_is_refused_by_name(saved_model, tmp_path):
    (tmp_path / "serving").write_text("")
    with pytest.raises(InputError, match=f"serving dir {tmp_path / 'serving'} is not a directory"):
        executor.push(saved_model, str(tmp_path / "serving"))


def _run_executor(saved_model: str, tmp_path: Path, blessed: int, infra_blessed: int | None = None):
    """TFX's Pusher executor interface, called as its launcher calls it: artifacts in, artifacts out."""
    model = standard_artifacts.Model()
    model.uri, model.id = str(Path(saved_model).parent), 42
    blessing = standard_artifacts.ModelBlessing()
    blessing.set_int_custom_property("blessed", blessed)
    inputs = {standard_component_specs.MODEL_KEY: [model], standard_component_specs.MODEL_BLESSING_KEY: [blessing]}
    if infra_blessed is not None:
        infra = standard_artifacts.InfraBlessing()
        infra.set_int_custom_property("blessed", infra_blessed)
        inputs[standard_component_specs.INFRA_BLESSING_KEY] = [infra]
    pushed_model, pushed_blessing = standard_artifacts.PushedModel(), standard_artifacts.ModelBlessing()
    pushed_model.uri, pushed_blessing.uri = str(tmp_path / "pushed_model"), str(tmp_path / "pushed_blessing")
    destination = proto_utils.proto_to_json(
        executor.pusher_pb2.PushDestination(
            filesystem=executor.pusher_pb2.PushDestination.Filesystem(base_directory=str(tmp_path / "serving"))
        )
    )
    executor.Executor().Do(
        inputs,
        {standard_component_specs.PUSHED_MODEL_KEY: [pushed_model], executor.PUSHED_BLESSING_KEY: [pushed_blessing]},
        {standard_component_specs.PUSH_DESTINATION_KEY: destination},
    )
    return pushed_model, pushed_blessing


def test_the_executor_records_the_folder_it_really_wrote_and_confirms_the_blessing(saved_model, tmp_path):
    pushed_model, pushed_blessing = _run_executor(saved_model, tmp_path, blessed=1, infra_blessed=1)
    [version] = _entries(tmp_path / "serving")
    assert pushed_model.get_int_custom_property("pushed") == 1
    assert pushed_model.get_string_custom_property("pushed_destination") == str(tmp_path / "serving" / version)
    assert pushed_model.get_string_custom_property("pushed_version") == version
    assert (tmp_path / "pushed_model" / "saved_model.pb").is_file()  # TFX's archive copy in the artifact.
    assert pushed_blessing.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 1
    assert pushed_blessing.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY) == 42


@pytest.mark.parametrize("blessed, infra_blessed", [(0, None), (1, 0)])
def test_without_every_blessing_nothing_is_pushed_or_confirmed(saved_model, tmp_path, blessed, infra_blessed):
    pushed_model, pushed_blessing = _run_executor(saved_model, tmp_path, blessed, infra_blessed)
    assert pushed_model.get_int_custom_property("pushed") == 0
    assert pushed_blessing.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 0
    assert not (tmp_path / "serving").exists()
