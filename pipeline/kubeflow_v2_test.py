"""`sentence-tfx compile --orchestrator kubeflow-v2`: the real pipeline compiled to a Vertex / KFP V2 job spec.

Data sit on TensorFlow's in-memory filesystem (ram://), a stand-in for gs:// that this process can read."""

import json
import time
from pathlib import Path

import pytest
import tensorflow as tf

from sentence_tfx.pipeline import cli

IMAGE = "europe-docker.pkg.dev/my-project/ml/sentence-tfx:1.0"
ROOT = "gs://my-bucket/sentence-tfx/root"
EXECUTORS = {  # component id → executor class each container runs
    "FileBasedExampleGen": "sentence_tfx.components.example_gen.executor.Executor",
    "CuratedSchemaGen": "sentence_tfx.schemas.CuratedSchemaGen_Executor",
    "StatisticsGen": "tfx.components.statistics_gen.executor.Executor",
    "ExampleValidator": "tfx.components.example_validator.executor.Executor",
    "ValidationGate": "sentence_tfx.components.data_validation.gate.ValidationGate_Executor",
    "Transform": "sentence_tfx.components.transform.executor.Executor",
    "TokenLengthDriftGate": "sentence_tfx.components.data_validation.gate.TokenLengthDriftGate_Executor",
    "Trainer": "tfx.components.trainer.executor.GenericExecutor",
    "Evaluator": "sentence_tfx.components.evaluator.component.Executor",
    "ServingCheck": "sentence_tfx.components.serving_check.executor.Executor",
    "Pusher": "sentence_tfx.components.pusher.executor.Executor",
    "RunReport": "sentence_tfx.components.report.executor.Executor",
}


@pytest.fixture(scope="module")
def remote_data(sst2_sample):
    tf.io.gfile.makedirs("ram://data/sst2")
    for split, rows in (("train", 40), ("eval", 20)):
        tf.io.gfile.copy(sst2_sample(split, rows), f"ram://data/sst2/{split}.tsv", overwrite=True)
    return "ram://data/sst2"


def _compile(tmp_path, tiny_export, *options) -> tuple[int, Path]:
    out = tmp_path / "pipeline.json"
    code = cli.main(
        [
            "compile",
            "--orchestrator",
            "kubeflow-v2",
            "--image",
            IMAGE,
            "--out",
            str(out),
            "--encoder",
            str(tiny_export),
            "--seq-length",
            "16",
            "--text-column",
            "sentence",
            *options,
        ]
    )
    return code, out


def test_the_spec_runs_every_component_in_the_image_with_its_executor(remote_data, tiny_export, tmp_path):
    code, out = _compile(
        tmp_path,
        tiny_export,
        "--train",
        f"{remote_data}/train.tsv",
        "--eval",
        f"{remote_data}/eval.tsv",
        "--pipeline-root",
        ROOT,
        "--serving-dir",
        "gs://my-bucket/serving",
        "--mode",
        "finetune",
        "--beam-args=--runner=DataflowRunner --region=europe-west1",
    )
    assert code == 0
    job = json.loads(out.read_text())
    assert job["runtimeConfig"]["gcsOutputDirectory"] == ROOT
    spec = job["pipelineSpec"]
    tasks = spec["root"]["dag"]["tasks"]
    assert set(EXECUTORS) <= set(tasks)
    assert {task for task in tasks if task not in EXECUTORS} == {
        "latest_blessed_model_resolver-model-blessing-resolver",
        "latest_blessed_model_resolver-model-resolver",
        "previous_accepted_statistics",
    }
    executors = spec["deploymentSpec"]["executors"]
    for component, executor_class in EXECUTORS.items():
        container = executors[f"{component}_executor"]["container"]
        assert container["image"] == IMAGE, component
        args = container["args"]
        assert args[args.index("--executor_class_path") + 1] == executor_class, component
        assert "--runner=DataflowRunner" in args and "--region=europe-west1" in args, component
        assert "--beam_plugins=sentence_tfx.keras2" in args, component
    assert "ValidationGate" in tasks["Transform"]["dependentTasks"]  # Bad data stops the run before Transform.
    assert "TokenLengthDriftGate" in tasks["Trainer"]["dependentTasks"]  # Drifted token lengths: no training.
    baseline_query = executors["previous_accepted_statistics_executor"]["resolver"]["outputArtifactQueries"]
    assert baseline_query["statistics"]["filter"] == 'schema_title="sentence_tfx.AcceptedStatistics" AND state=LIVE'
    trainer_settings = json.loads(
        json.loads(
            tasks["Trainer"]["inputs"]["parameters"]["custom_config"]["runtimeValue"]["constantValue"]["stringValue"]
        )["settings"]
    )
    assert trainer_settings["mode"] == "finetune" and "label_names" not in trainer_settings  # From the schema.
    example_gen = tasks["FileBasedExampleGen"]["inputs"]["parameters"]
    assert example_gen["input_base"]["runtimeValue"]["constantValue"]["stringValue"] == remote_data
    schema_gen = tasks["CuratedSchemaGen"]
    assert "StatisticsGen" in schema_gen["dependentTasks"]  # The label names come from the train split's statistics.
    push = json.loads(
        tasks["Pusher"]["inputs"]["parameters"]["push_destination"]["runtimeValue"]["constantValue"]["stringValue"]
    )
    assert push["filesystem"]["base_directory"] == "gs://my-bucket/serving"


def test_local_paths_are_refused_by_name(sst2_sample, tiny_export, tmp_path, capsys):
    code, out = _compile(
        tmp_path,
        tiny_export,
        "--train",
        sst2_sample("train", 40),
        "--pipeline-root",
        ROOT,
        "--serving-dir",
        "gs://my-bucket/serving",
    )
    assert code == 2 and not out.exists()
    assert "give URIs (gs://bucket/...) for train_data" in capsys.readouterr().err


def test_compiling_reads_no_data(tiny_export, tmp_path):
    """Data paths on a bucket this machine cannot reach (no network here) that hold nothing yet: compiling succeeds,
    so it opened none of them. The spec resolves the span when it runs."""
    started = time.monotonic()
    code, out = _compile(
        tmp_path,
        tiny_export,
        "--train",
        "gs://no-such-bucket-sentence-tfx/reviews/{SPAN}/train-*.tsv",
        "--eval",
        "gs://no-such-bucket-sentence-tfx/reviews/{SPAN}/eval/",
        "--pipeline-root",
        ROOT,
        "--serving-dir",
        "gs://my-bucket/serving",
    )
    seconds = time.monotonic() - started
    print(f"compiled in {seconds:.1f} s")
    assert code == 0
    tasks = json.loads(out.read_text())["pipelineSpec"]["root"]["dag"]["tasks"]
    assert set(EXECUTORS) <= set(tasks)
    parameters = tasks["FileBasedExampleGen"]["inputs"]["parameters"]
    assert parameters["input_base"]["runtimeValue"]["constantValue"]["stringValue"] == (
        "gs://no-such-bucket-sentence-tfx/reviews"
    )
    splits = json.loads(parameters["input_config"]["runtimeValue"]["constantValue"]["stringValue"])["splits"]
    assert [split["pattern"] for split in splits] == ["{SPAN}/train-*.tsv", "{SPAN}/eval/*"]
