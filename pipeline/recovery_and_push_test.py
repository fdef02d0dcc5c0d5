"""kill -9 and push tests: the real CLI in subprocesses on the tiny encoder, killed when the file system shows the
target stage at work, then rerun. A rerun finishes, reuses the completed steps and leaves no RUNNING execution in ML
Metadata and no partial version folder; pushes in the same second get distinct, complete versions; a failed push never
becomes the next run's baseline."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the pushed models' Transform graph needs its ops)
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from sentence_tfx.components.pusher import executor
from sentence_tfx.pipeline import results, runners

pytestmark = pytest.mark.slow
NAME = "sentence-tfx"
TIMEOUT = 1800  # s per run: 30–120 s on an idle machine, much longer on a shared one.
# The drift gates run again: their baseline is now the killed run's accepted statistics.
STEPS_BEFORE_TRAINER = {
    "CuratedSchemaGen",
    "FileBasedExampleGen",
    "StatisticsGen",
    "ExampleValidator",
    "Transform",
    "EmbeddingGen",
}
ACTIVE = (metadata_store_pb2.Execution.NEW, metadata_store_pb2.Execution.RUNNING)


@pytest.fixture(scope="module")
def cli_args(tiny_export, sst2_sample):
    """cli_args(folder, *more) → the `sentence-tfx run` command of a run whose root and serving dir are in folder."""
    train, eval_data = sst2_sample("train", 96), sst2_sample("eval", 48)

    def make(folder: Path, *more: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "sentence_tfx.pipeline.cli",
            "run",
            *("--train", train, "--eval", eval_data, "--text-column", "sentence", "--encoder", str(tiny_export)),
            *("--seq-length", "16", "--epochs", "2", "--min-accuracy", "0", "--max-accuracy-drop", "1"),
            *("--pipeline-root", str(folder / "pipeline"), "--serving-dir", str(folder / "serving"), *more),
        ]

    return make


def _run(args: list[str]) -> tuple[int, str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT)
    return done.returncode, done.stdout + done.stderr


def _start(args: list[str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:  # A file, not a pipe: a stopped reader cannot block the run.
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def _wait_for(condition, process: subprocess.Popen, what: str):
    """Polls condition() every 5 ms until it returns something true, which it returns."""
    deadline = time.monotonic() + TIMEOUT
    while not (found := condition()):
        assert process.poll() is None, f"the run ended (exit {process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} after {TIMEOUT} s"
        time.sleep(0.005)
    return found


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()  # Reaped: a zombie would still look alive to the next push.


def _entries(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.is_dir() else []


def _store(folder: Path) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(folder / "pipeline" / "metadata.sqlite")
    return metadata_store.MetadataStore(config)


def _executions(store) -> list[tuple[str, metadata_store_pb2.Execution]]:
    return [(results.node_of(store, e, NAME), e) for e in sorted(store.get_executions(), key=lambda e: e.id)]


def _reused(out: str) -> set[str]:
    [line] = [line for line in out.splitlines() if line.startswith("reused from earlier runs (TFX cache): ")]
    return set(line.split(": ", 1)[1].split(", "))


def _pushed(out: str) -> Path:
    [line] = [line for line in out.splitlines() if line.startswith("pushed:  ")]
    path = Path(line.split()[1])
    assert line.endswith(f"(version {path.name}: copied, loaded and renamed into place by this run)"), line
    return path


def _assert_complete(version_dir: Path) -> None:
    scores = tf.saved_model.load(str(version_dir)).signatures["serving_default"](text=tf.constant(["a fine film"]))
    assert scores["scores"].shape == (1, 2)


def _assert_abandoned_and_nothing_running(store, node: str, execution_id: int) -> None:
    executions = _executions(store)
    assert [(n, e.id) for n, e in executions if e.last_known_state in ACTIVE] == []
    [killed] = [e for n, e in executions if e.id == execution_id]
    assert killed.last_known_state == metadata_store_pb2.Execution.FAILED
    result = json.loads(killed.custom_properties["__execution_result__"].string_value)  # TFX's own record of a failure.
    assert result["resultMessage"] == runners.ABANDONED_MESSAGE


def test_kill_during_training_then_rerun(cli_args, tmp_path):
    args = cli_args(tmp_path)
    process = _start(args, tmp_path / "killed.log")
    _wait_for(lambda: _entries(tmp_path / "pipeline" / "Trainer" / "model_run"), process, "a Trainer execution")
    _kill(process)
    [(_, killed)] = [(n, e) for n, e in _executions(_store(tmp_path)) if n == "Trainer"]
    assert killed.last_known_state == metadata_store_pb2.Execution.RUNNING  # What TFX leaves after a kill.
    partial = tmp_path / "pipeline" / "Trainer" / "model" / str(killed.id)
    assert partial.is_dir()

    started = time.monotonic()
    code, out = _run(args)
    print(f"rerun after the kill: {time.monotonic() - started:.0f} s, exit {code}")
    assert code == 0, out
    assert f"Trainer execution {killed.id} was left RUNNING by a run that did not finish: marked FAILED" in out
    assert _reused(out) == STEPS_BEFORE_TRAINER, out
    _assert_abandoned_and_nothing_running(_store(tmp_path), "Trainer", killed.id)
    assert not partial.exists()
    [version] = _entries(tmp_path / "serving")
    assert _pushed(out) == tmp_path / "serving" / version
    _assert_complete(tmp_path / "serving" / version)


@pytest.mark.long  # Each of these: two or three whole runs; `make test` keeps the kill during training.
def test_kill_mid_push_then_rerun(cli_args, tmp_path):
    args = cli_args(tmp_path)
    serving = tmp_path / "serving"
    process = _start(args, tmp_path / "killed.log")
    in_progress = _wait_for(
        lambda: [name for name in _entries(serving) if name.startswith(executor.TEMP_PREFIX)], process, "a push"
    )
    _kill(process)
    assert _entries(serving) == in_progress  # Killed while copying or loading: no version folder at all.
    [(_, killed)] = [(n, e) for n, e in _executions(_store(tmp_path)) if n == "Pusher"]

    code, out = _run(args)
    assert code == 0, out
    assert f"Removing {serving / in_progress[0]}, left by a push that did not finish" in out
    assert _reused(out) == STEPS_BEFORE_TRAINER | {"Trainer", "Evaluator", "ServingCheck"}, out
    [version] = _entries(serving)  # The stale temporary folder is gone; one complete version.
    assert _pushed(out) == serving / version
    _assert_complete(serving / version)
    _assert_abandoned_and_nothing_running(_store(tmp_path), "Pusher", killed.id)


def _trained_variables(folder: Path) -> bytes:
    _, trainer = results.latest_outputs(_store(folder), NAME, "Trainer")
    return (
        Path(trainer["model"][0].uri) / "Format-Serving" / "variables" / "variables.data-00000-of-00001"
    ).read_bytes()


@pytest.mark.long
def test_pushes_in_the_same_second_get_distinct_complete_versions(cli_args, tmp_path):
    """Two pipelines (MLP heads trained for 2 and 3 epochs, so different models) push to one serving dir that
    already holds a version ahead of the clock (another machine's clock, a manual copy), so both pushes compute the
    same next number, as two pushes in the same second compute the same `now`: TFX's own Pusher would then skip the
    second copy and still report it. Each run is stopped (SIGSTOP) as soon as its temporary folder appears and both
    are let go together."""
    serving = tmp_path / "serving"
    ahead = int(time.time()) + 1_000_000
    (serving / str(ahead)).mkdir(parents=True)
    (serving / str(ahead) / "keep.txt").write_text("someone else's")
    runs = {
        e: cli_args(tmp_path / f"epochs{e}", "--serving-dir", str(serving), "--head", "mlp", "--epochs", e)
        for e in "23"
    }
    processes = {epochs: _start(args, tmp_path / f"epochs{epochs}.log") for epochs, args in runs.items()}
    stopped: set[str] = set()
    while len(stopped) < len(processes):
        for epochs, process in processes.items():
            if epochs not in stopped and any(
                name.startswith(f"{executor.TEMP_PREFIX}{process.pid}-") for name in _entries(serving)
            ):
                process.send_signal(signal.SIGSTOP)
                stopped.add(epochs)
            assert process.poll() is None, (tmp_path / f"epochs{epochs}.log").read_text()
        time.sleep(0.005)
    for process in processes.values():
        process.send_signal(signal.SIGCONT)
    pushed = {}
    for epochs, process in processes.items():
        assert process.wait(timeout=TIMEOUT) == 0
        pushed[epochs] = _pushed((tmp_path / f"epochs{epochs}.log").read_text())
    print(f"versions pushed: {sorted(int(path.name) - ahead for path in pushed.values())} above the one ahead")
    assert sorted(int(path.name) for path in pushed.values()) == [ahead + 1, ahead + 2]
    assert _entries(serving) == sorted(str(version) for version in (ahead, ahead + 1, ahead + 2))  # No temp folder.
    assert (serving / str(ahead) / "keep.txt").read_text() == "someone else's"
    assert _trained_variables(tmp_path / "epochs2") != _trained_variables(tmp_path / "epochs3")
    for epochs, version_dir in pushed.items():
        _assert_complete(version_dir)
        assert (version_dir / "variables" / "variables.data-00000-of-00001").read_bytes() == _trained_variables(
            tmp_path / f"epochs{epochs}"
        )  # Each run printed the folder that holds its own model.


@pytest.mark.long
def test_a_failed_push_leaves_the_next_runs_baseline_on_the_last_pushed_model(cli_args, tmp_path):
    code, out = _run(cli_args(tmp_path))
    assert code == 0, out
    store = _store(tmp_path)
    pushed_model = results.latest_outputs(store, NAME, "Trainer")[1]["model"][0]

    retrained = cli_args(tmp_path, "--epochs", "3")  # A new Trainer execution, hence a new model.
    serving = tmp_path / "serving"
    process = _start(retrained, tmp_path / "failed.log")
    _wait_for(lambda: len(_entries(tmp_path / "pipeline" / "Trainer" / "model")) == 2, process, "the second Trainer")
    shutil.rmtree(serving)
    serving.write_text("a file where the serving dir was")  # Found by the Pusher, after training and evaluation.
    assert process.wait(timeout=TIMEOUT) == 2
    assert (
        f"error: serving dir {serving} is not a directory; nothing was pushed" in (tmp_path / "failed.log").read_text()
    )
    _, evaluator = results.latest_outputs(store, NAME, "Evaluator")
    blessing = evaluator["blessing"][0]
    assert blessing.custom_properties["blessed"].int_value == 1  # TFX's LatestBlessedModelStrategy would take it.
    assert blessing.custom_properties["current_model_id"].int_value != pushed_model.id

    serving.unlink()
    code, out = _run(retrained)
    assert code == 0, out
    _, evaluator_inputs = results.latest_outputs(store, NAME, "Evaluator", results.INPUT_EVENTS)
    assert [model.id for model in evaluator_inputs["baseline_model"]] == [pushed_model.id]
    assert {"Trainer", "Evaluator"} <= _reused(out)  # The retrained model, now pushed: blessed against the old one.
    _assert_complete(_pushed(out))
