"""Multi-worker training as a training service runs it: two Trainer replicas on 127.0.0.1, each one
`python -m tfx.scripts.run_executor` with TFX's Trainer executor and its own TF_CONFIG, on the Transform output of a
real pipeline run; the two-worker model must match the single-worker one."""

import dataclasses
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401
from tfx import v1 as tfx
from tfx.types import artifact_utils, standard_artifacts

from sentence_tfx.pipeline import pipeline, results
from sentence_tfx.config import PipelineConfig, TrainerSettings

pytestmark = [pytest.mark.slow, pytest.mark.long]  # Two training workers and a reference run: `make test-all` only.

ACCURACY_TOLERANCE = 0.05  # Two workers vs one, same data, same global batch and steps; measured difference: 0.
POSITIVE = ("good", "great", "best", "fun", "love", "liked", "better")
NEGATIVE = ("bad", "worst", "boring", "hate", "dislike", "never")
FILLER = (
    "the",
    "a",
    "movie",
    "film",
    "story",
    "plot",
    "acting",
    "director",
    "script",
    "scene",
    "it",
    "was",
    "is",
    "this",
    "and",
    "with",
    "people",
    "time",
    "one",
    "two",
)


def _write_cue_word_data(path, rows: int, seed: int) -> list[tuple[str, str]]:
    """Sentences of filler words with one positive or negative cue word: learnable by the tiny encoder."""
    rng = random.Random(seed)
    data = []
    for _ in range(rows):
        label = rng.choice(("pos", "neg"))
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 8))]
        words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label == "pos" else NEGATIVE))
        data.append((" ".join(words), label))
    path.write_text("text\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in data), encoding="utf-8")
    return data


def _accuracy(model_dir: str, data) -> float:
    serve = tf.saved_model.load(model_dir).signatures["serving_default"]
    predicted = serve(text=tf.constant([text for text, _ in data]))["label"].numpy()
    return float(np.mean([p.decode() == label for p, (_, label) in zip(predicted, data)]))


@pytest.fixture(scope="module")
def single_worker_run(tiny_export, tmp_path_factory):
    root = tmp_path_factory.mktemp("distribution")
    _write_cue_word_data(root / "train.tsv", 320, seed=1)
    eval_data = _write_cue_word_data(root / "eval.tsv", 100, seed=2)
    config = pipeline.prepare(
        PipelineConfig(
            train_data=str(root / "train.tsv"),
            eval_data=str(root / "eval.tsv"),
            preprocessor_handle=str(tiny_export / "preprocessor"),
            encoder_handle=str(tiny_export / "encoder"),
            seq_length=16,
            mode="finetune",
            epochs=8,
            batch_size=32,
            head_learning_rate=3e-3,
            encoder_learning_rate=1e-3,
            dropout=0.0,
            min_accuracy=0.0,
            pipeline_root=str(root / "pipeline"),
            serving_dir=str(root / "serving"),
        )
    )
    tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
    return config, eval_data, root


def _jsonify(artifacts_by_key: dict, store) -> str:
    typed = {}
    for key, artifacts in artifacts_by_key.items():
        types = store.get_artifact_types_by_id([a.type_id for a in artifacts])
        typed[key] = [artifact_utils.deserialize_artifact(t, a) for t, a in zip(types, artifacts)]
    return artifact_utils.jsonify_artifact_dict(typed)


def test_two_workers_train_one_model_as_good_as_one_worker(single_worker_run, free_ports):
    config, eval_data, root = single_worker_run
    store = results.open_store(config)
    _, trainer_inputs = results.latest_outputs(store, config.pipeline_name, "Trainer", results.INPUT_EVENTS)
    _, trainer_outputs = results.latest_outputs(store, config.pipeline_name, "Trainer")
    model, model_run = standard_artifacts.Model(), standard_artifacts.ModelRun()
    model.uri, model_run.uri = str(root / "two_workers" / "model"), str(root / "two_workers" / "model_run")
    two_worker_config = dataclasses.replace(config, distribution="multi_worker_mirrored")
    command = [
        sys.executable,
        "-m",
        "tfx.scripts.run_executor",
        "--executor_class_path=tfx.components.trainer.executor.GenericExecutor",
        f"--inputs={_jsonify(trainer_inputs, store)}",
        f"--outputs={artifact_utils.jsonify_artifact_dict({'model': [model], 'model_run': [model_run]})}",
        "--exec-properties="
        + json.dumps(
            {
                "run_fn": "sentence_tfx.components.trainer.training.run_fn",
                "train_args": "{}",
                "eval_args": "{}",
                "custom_config": json.dumps({"settings": two_worker_config.settings(TrainerSettings).to_json()}),
            }
        ),
    ]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = [
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={
                **os.environ,
                "TF_USE_LEGACY_KERAS": "1",
                "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            },
        )
        for index in range(2)
    ]
    logs = [worker.communicate(timeout=600)[0] for worker in workers]
    for index, (worker, log) in enumerate(zip(workers, logs)):
        assert worker.returncode == 0, f"worker {index} failed:\n{log[-5000:]}"
        assert f"multi-worker training: worker {index} of" in log and "2 replicas in sync" in log, log[-3000:]
    single = _accuracy(os.path.join(trainer_outputs["model"][0].uri, "Format-Serving"), eval_data)
    two = _accuracy(str(root / "two_workers" / "model" / "Format-Serving"), eval_data)
    print(f"eval accuracy: one worker {single:.3f}, two workers {two:.3f}")
    assert single >= 0.9, "the single-worker baseline did not learn the cue words"
    assert abs(two - single) <= ACCURACY_TOLERANCE
    assert os.listdir(model_run.uri), "the chief wrote no TensorBoard logs"
