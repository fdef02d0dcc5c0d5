"""End to end on the tiny encoder: a real TFX run (Beam FnApiRunner, SQLite ML Metadata), checked through MLMD."""

import dataclasses
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401
from ml_metadata.proto import metadata_store_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tfx import v1 as tfx

from sentence_tfx.pipeline import cli, pipeline, results
from sentence_tfx.config import PipelineConfig

SST2_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sst2" / "train.tsv"
TEXTS = ["a gripping , beautifully acted film", "a tedious , joyless mess", "who directed it ?"]


EXPECTED_OUTPUTS = {
    "FileBasedExampleGen": ["examples"],
    "CuratedSchemaGen": ["schema"],
    "StatisticsGen": ["statistics"],
    "ExampleValidator": ["anomalies"],
    "ValidationGate": ["report"],
    "Transform": ["transform_graph", "transformed_examples", "post_transform_stats"],
    "TokenLengthDriftGate": ["report", "accepted_statistics"],
    "EmbeddingGen": ["embeddings"],
    "Trainer": ["model", "model_run"],
    "Evaluator": ["evaluation", "blessing"],
    "Pusher": ["pushed_model"],
}


def test_every_component_ran_and_recorded_its_artifacts(frozen_run):
    store = results.open_store(frozen_run)
    for node, keys in EXPECTED_OUTPUTS.items():
        execution, outputs = results.latest_outputs(store, frozen_run.pipeline_name, node)
        assert execution.last_known_state == metadata_store_pb2.Execution.COMPLETE, node
        for key in keys:
            assert outputs.get(key), f"{node} recorded no {key}"
            assert os.listdir(outputs[key][0].uri), f"{node}.{key} is empty: {outputs[key][0].uri}"
    _, examples = results.latest_outputs(store, frozen_run.pipeline_name, "FileBasedExampleGen")
    assert sorted(os.listdir(examples["examples"][0].uri)) == ["Split-eval", "Split-train"]


def test_run_summary_reports_metrics_blessing_and_push(frozen_run):
    summary = results.summarize_run(frozen_run)
    assert summary.metrics["example_count"] == 48
    assert 0.0 <= summary.metrics["sparse_categorical_accuracy"] <= 1.0
    assert {"precision[0]", "recall[1]", "auc[1]"} <= summary.metrics.keys()
    assert summary.blessed and summary.pushed_to
    assert Path(summary.pushed_to).parent == Path(frozen_run.serving_dir)
    assert Path(summary.pushed_to).name.isdigit()  # TF Serving's <base>/<version>/ layout.
    assert 0.0 < summary.truncated_share < 1.0  # 16 tokens cut some SST-2 sentences, not all.
    assert (Path(summary.validation_report) / "statistics.html").stat().st_size > 1000


def test_pushed_model_answers_raw_text_like_the_trained_model(frozen_run):
    summary = results.summarize_run(frozen_run)
    pushed = tf.saved_model.load(summary.pushed_to)
    trained = tf.saved_model.load(os.path.join(summary.model_dir, "Format-Serving"))
    assert set(pushed.signatures) == {
        "serving_default",
        "serving_tf_example",
        "serving_token_ids",
        "embed",
        "transform_features",
    }
    texts = tf.constant(TEXTS)
    answer = pushed.signatures["serving_default"](text=texts)
    np.testing.assert_allclose(answer["scores"], trained.signatures["serving_default"](text=texts)["scores"], atol=1e-6)
    np.testing.assert_allclose(answer["scores"].numpy().sum(axis=1), 1.0, atol=1e-5)
    assert answer["classes"].numpy().tolist()[0] == [b"0", b"1"]
    assert answer["label"].numpy().tolist() == [
        answer["classes"][i, j].numpy() for i, j in enumerate(np.argmax(answer["scores"], axis=1))
    ]
    examples = tf.constant(
        [
            tf.train.Example(
                features=tf.train.Features(
                    feature={"text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[t.encode()]))}
                )
            ).SerializeToString()
            for t in TEXTS
        ]
    )
    np.testing.assert_allclose(
        pushed.signatures["serving_tf_example"](inputs=examples)["scores"], answer["scores"], atol=1e-6
    )
    saved_model = saved_model_pb2.SavedModel.FromString((Path(summary.pushed_to) / "saved_model.pb").read_bytes())
    classify = saved_model.meta_graphs[0].signature_def["serving_tf_example"]
    assert classify.method_name == "tensorflow/serving/classify"  # What TF Serving's Classify API requires.
    assert set(classify.inputs) == {"inputs"} and set(classify.outputs) == {"classes", "scores"}
    ids = pushed.signatures["transform_features"](examples=examples)
    by_ids = pushed.signatures["serving_token_ids"](
        **{name: tf.cast(ids[name], tf.int32) for name in ("input_word_ids", "input_mask", "input_type_ids")}
    )
    np.testing.assert_allclose(by_ids["scores"], answer["scores"], atol=1e-6)
    embedding = pushed.signatures["embed"](text=texts)["embedding"]
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=1), 1.0, atol=1e-5)


def test_fine_tuning_run_through_the_cli(tiny_export, sst2_sample, tmp_path, capsys):
    train = sst2_sample("train", 64)
    code = cli.main(
        [
            "run",
            "--train",
            train,
            "--text-column",
            "sentence",
            "--encoder",
            str(tiny_export),
            "--seq-length",
            "16",
            "--mode",
            "finetune",
            "--max-train-steps",
            "3",
            "--min-accuracy",
            "0",
            "--pipeline-root",
            str(tmp_path / "pipeline"),
            "--serving-dir",
            str(tmp_path / "serving"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "blessed: yes" in out and "sparse_categorical_accuracy" in out
    assert len(os.listdir(tmp_path / "serving")) == 1


def test_anomalies_stop_the_run_before_transform(tiny_export, sst2_sample, tmp_path, capsys):
    train = sst2_sample("train", 40)
    eval_rows = ["sentence\tlabel", "fine\t1", "not fine\t0", "meh\tneutral", "   \t1"]
    (tmp_path / "eval.tsv").write_text("\n".join(eval_rows) + "\n", encoding="utf-8")
    args = [
        "run",
        "--train",
        train,
        "--eval",
        str(tmp_path / "eval.tsv"),
        "--text-column",
        "sentence",
        "--encoder",
        str(tiny_export),
        "--seq-length",
        "16",
        "--pipeline-root",
        str(tmp_path / "pipeline"),
        "--serving-dir",
        str(tmp_path / "serving"),
    ]
    assert cli.main(args) == 3
    err = capsys.readouterr().err
    assert "eval: label: Unexpected string values: 'neutral' (1 example)" in err
    assert "eval: text: Missing values: 1 example" in err
    config = PipelineConfig(train_data=train, pipeline_root=str(tmp_path / "pipeline"))
    with pytest.raises(LookupError):
        results.latest_outputs(results.open_store(config), config.pipeline_name, "Transform")
    assert not (tmp_path / "serving").exists()


def test_bad_input_is_reported_before_anything_runs(tmp_path, capsys):
    (tmp_path / "train.csv").write_text('text,label\nok,1\n"broken,0\n', encoding="utf-8")
    assert cli.main(["run", "--train", str(tmp_path / "train.csv"), "--pipeline-root", str(tmp_path)]) == 2
    assert "train.csv" in capsys.readouterr().err


CACHEABLE = (
    "FileBasedExampleGen",
    "CuratedSchemaGen",
    "StatisticsGen",
    "ExampleValidator",
    "Transform",
    "EmbeddingGen",
)
DRIFT_CHECKS = ("ValidationGate", "TokenLengthDriftGate")  # Rerun: they compare with the last accepted run.


@pytest.mark.slow
def test_a_second_identical_run_reuses_the_data_steps(tiny_pipeline_config, tmp_path):
    """TFX caching (on by default): the rerun takes ExampleGen ... Transform and the embeddings from the first
    run's outputs."""
    config = tiny_pipeline_config(tmp_path)
    store = results.open_store(config)
    walls = []
    for _ in range(2):
        started = time.monotonic()
        tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
        walls.append(time.monotonic() - started)
    states = {
        node: metadata_store_pb2.Execution.State.Name(
            results.latest_outputs(store, config.pipeline_name, node)[0].last_known_state
        )
        for node in EXPECTED_OUTPUTS
    }
    print(f"first run {walls[0]:.1f} s, cached rerun {walls[1]:.1f} s; states of the rerun: {states}")
    assert {node: states[node] for node in CACHEABLE} == dict.fromkeys(CACHEABLE, "CACHED")
    assert {node: states[node] for node in DRIFT_CHECKS} == dict.fromkeys(DRIFT_CHECKS, "COMPLETE")
    assert states["Pusher"] in ("COMPLETE", "CACHED")
    _, transform_outputs = results.latest_outputs(store, config.pipeline_name, "Transform")
    assert os.listdir(transform_outputs["transformed_examples"][0].uri)  # The reused artifact is the first run's.


@pytest.mark.slow
def test_no_cache_reruns_every_step(tiny_pipeline_config, tmp_path):
    config = dataclasses.replace(tiny_pipeline_config(tmp_path), enable_cache=False)
    for _ in range(2):
        tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
    store = results.open_store(config)
    for node in CACHEABLE:
        execution, _ = results.latest_outputs(store, config.pipeline_name, node)
        assert execution.last_known_state == metadata_store_pb2.Execution.COMPLETE, node


def _sst2_rows(label: str, words: range) -> list[str]:
    """Rows of the bundled SST-2 sample with `label` and a number of words in `words`."""
    lines = SST2_SAMPLE.read_text(encoding="utf-8").splitlines()[1:]
    return [line for line in lines if line.endswith(f"\t{label}") and len(line.split("\t")[0].split()) in words]


def _executions(config: PipelineConfig, node: str) -> int:
    store = results.open_store(config)
    return len(store.get_executions_by_context(store.get_context_by_type_and_name("node", f"sentence-tfx.{node}").id))


@pytest.mark.slow
def test_drift_from_the_last_accepted_run_stops_the_run(tiny_export, sst2_sample, tmp_path, capsys):
    """Labels 50/50 → 90/10 stop at the validation gate (again on a retry); longer texts stop before training."""

    def run(name: str, rows: list[str]) -> int:
        (tmp_path / f"{name}.tsv").write_text("sentence\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
        return cli.main(
            ["run", "--train", str(tmp_path / f"{name}.tsv"), "--eval", sst2_sample("eval", 48)]
            + ["--text-column", "sentence", "--encoder", str(tiny_export), "--seq-length", "16", "--epochs", "1"]
            + ["--min-accuracy", "0", "--pipeline-root", str(tmp_path / "pipeline")]
            + ["--serving-dir", str(tmp_path / "serving")]
        )

    short, longer = range(1, 6), range(12, 30)  # The tiny vocabulary splits words: ~14 tokens, and 16 (all cut).
    negative, positive = _sst2_rows("0", short), _sst2_rows("1", short)
    assert run("balanced", negative[:40] + positive[:40]) == 0
    for _ in range(2):  # A drifted run records nothing: run again, it meets the same baseline.
        assert run("skewed", negative[40:48] + positive[40:112]) == 3
        err = capsys.readouterr().err
        assert (
            "train: label: Label distribution drifted from the last accepted run: '0' 50% → 10%, '1' 50% → 90% "
            "(L-infinity distance 0.40 > --max-label-drift 0.1)"
        ) in err, err
    config = PipelineConfig(train_data="x.tsv", pipeline_root=str(tmp_path / "pipeline"))
    assert _executions(config, "Transform") == 1
    assert run("longer", _sst2_rows("0", longer)[:40] + _sst2_rows("1", longer)[:40]) == 3
    err = capsys.readouterr().err
    assert "the run stops before training:" in err
    moved = re.search(
        r"transformed: token_count: Token-length distribution drifted from the last accepted run: "
        r"mean (\d+\.\d) → (\d+\.\d) tokens, median \d+ → \d+ \(Jensen-Shannon divergence [01]\.\d\d > "
        r"--max-token-length-drift 0\.1\)",
        err,
    )
    assert moved and float(moved[2]) > float(moved[1]), err
    assert (_executions(config, "Transform"), _executions(config, "EmbeddingGen")) == (2, 1)
