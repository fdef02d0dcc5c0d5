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
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
from tfx import v1 as tfx

from sentence_tfx.components.data_validation import gate
from sentence_tfx.components.report import page
from sentence_tfx.components.trainer import eval_scores, linear_head, training_summary
from sentence_tfx.pipeline import cli, pipeline, results
from sentence_tfx.config import PipelineConfig
from sentence_tfx.serving import warmup

pytestmark = pytest.mark.slow  # Whole pipelines (or Airflow, MariaDB): `make test-fast` skips these.

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sst2"
SCREENSHOT = Path(__file__).resolve().parents[1] / "runs" / "test-artifacts" / "run_report.png"
TEXTS = ["a gripping , beautifully acted film", "a tedious , joyless mess", "who directed it ?"]


EXPECTED_OUTPUTS = {
    "FileBasedExampleGen": ["examples", "quarantine"],
    "CuratedSchemaGen": ["schema"],
    "StatisticsGen": ["statistics"],
    "ExampleValidator": ["anomalies"],
    "ValidationGate": ["report"],
    "Transform": ["transform_graph", "transformed_examples", "post_transform_stats"],
    "TokenLengthDriftGate": ["length_report", "accepted_statistics"],
    "EmbeddingGen": ["embeddings"],
    "Trainer": ["model", "model_run"],
    "Evaluator": ["evaluation", "blessing"],
    "ServingCheck": ["blessing"],
    "Pusher": ["pushed_model"],
    "RunReport": ["report"],
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
    assert summary.label_names == ("0", "1")  # Found at run time in the train split's statistics.
    assert summary.bad_rows == 0 and summary.first_bad_rows == []
    assert summary.metrics["example_count"] == 48
    assert 0.0 <= summary.metrics["sparse_categorical_accuracy"] <= 1.0
    assert {"precision_at_argmax[0]", "recall_at_argmax[1]", "f1_at_argmax[1]", "auc[1]"} <= summary.metrics.keys()
    assert summary.confusion.sum() == 48
    assert np.trace(summary.confusion) / 48 == pytest.approx(summary.metrics["sparse_categorical_accuracy"])
    assert 0.0 <= summary.metrics["expected_calibration_error"] <= 1.0
    training = summary.training
    assert training.validation_examples == 14 and sum(training.class_counts) == 160 - 14
    assert training.head == "linear" and training.epochs_run == 0  # Frozen's default: a logistic regression ...
    assert training.regularization in linear_head.C_GRID  # ... whose C 5-fold cross-validation chose.
    assert training.temperature > 0  # Fitted by least log loss; the ECE may move either way on 14 texts.
    assert 0 <= training.validation_ece_before <= 1 and 0 <= training.validation_ece_after <= 1
    assert summary.blessed and summary.pushed_to
    assert summary.serving_check_failure == ""
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
    # The temperature is in the exported model: it scores the eval texts as the Trainer's eval scores file says.
    scores, _, eval_texts = eval_scores.read(summary.tensorboard_dir)
    eval_answer = pushed.signatures["serving_default"](text=tf.constant(eval_texts))["scores"]
    np.testing.assert_allclose(eval_answer, scores, atol=1e-5)
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


def test_the_model_carries_warmup_requests_with_eval_texts(frozen_run):
    """TF Serving's format, parsed with its own protos: Predict on serving_default, Classify on the classify
    signature, real texts of the eval split; pushed with the model, and replayed by the serving check."""
    summary = results.summarize_run(frozen_run)
    warmup_file = Path("assets.extra", "tf_serving_warmup_requests")
    path = Path(summary.pushed_to) / warmup_file
    logs = [
        prediction_log_pb2.PredictionLog.FromString(record)
        for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator()
    ]
    assert 0 < len(logs) <= 1000
    assert path.read_bytes() == (Path(summary.model_dir) / "Format-Serving" / warmup_file).read_bytes()
    eval_texts = {line.split("\t")[0].encode() for line in Path(frozen_run.eval_data).read_text().splitlines()[1:]}
    predicted = [
        tf.make_ndarray(log.predict_log.request.inputs["text"]).tolist() for log in logs if log.HasField("predict_log")
    ]
    classified = [
        [
            example.features.feature["text"].bytes_list.value[0]
            for example in log.classify_log.request.input.example_list.examples
        ]
        for log in logs
        if log.HasField("classify_log")
    ]
    assert predicted == classified and {len(batch) for batch in predicted} == {1, 32}
    assert {text for batch in predicted for text in batch} <= eval_texts
    signatures = {
        log.predict_log.request.model_spec.signature_name or log.classify_log.request.model_spec.signature_name
        for log in logs
    }
    assert signatures == {"serving_default", "serving_tf_example"}
    _, check = results.latest_outputs(results.open_store(frozen_run), frozen_run.pipeline_name, "ServingCheck")
    assert check["blessing"][0].custom_properties["warmup_requests"].int_value == len(logs)


def _cli_run(tiny_export, tmp_path, *options) -> list[str]:
    return [
        "run",
        "--text-column",
        "sentence",
        "--encoder",
        str(tiny_export),
        "--seq-length",
        "16",
        "--min-accuracy",
        "0",
        "--pipeline-root",
        str(tmp_path / "pipeline"),
        "--serving-dir",
        str(tmp_path / "serving"),
        *options,
    ]


def test_report_of_a_real_run_renders_every_section_with_the_runs_numbers(frozen_run, open_in_chromium):
    """The run report opened in real headless Chromium: every section and chart laid out, no script, no request but
    the page itself, and its numbers those of the run's own metrics (TFMA's, via ML Metadata)."""
    summary = results.summarize_run(frozen_run)
    report = Path(results.run_report(frozen_run))
    shown, requested = open_in_chromium(report, SCREENSHOT)
    assert requested == [report.resolve().as_uri()]
    assert shown["scripts"] == 0 and all(image["loaded"] for image in shown["images"])
    sections = {section["id"]: section for section in shown["sections"]}
    assert list(sections) == [key for key, _ in page.SECTIONS]
    charts = {key: [chart["title"] for chart in section["charts"]] for key, section in sections.items()}
    assert charts["data"] == ["Labels per split", "Token length per split"]
    assert charts["training"] == []  # The frozen default head is a logistic regression: no epochs, no curves.
    assert "a logistic-regression head is fitted at once" in sections["training"]["text"]
    assert charts["evaluation"] == ["Confusion matrix", "Reliability"]
    every_chart = [chart for section in sections.values() for chart in section["charts"]]
    assert all(chart["width"] > 200 and chart["height"] > 150 and chart["drawn"] > 20 for chart in every_chart)

    data, validation, evaluation, card = (
        sections[key]["text"] for key in ("data", "validation", "evaluation", "model-card")
    )
    assert validation.count(gate.FIRST_RUN) == 2  # Both drift checks, label and token length: nothing to compare.
    assert "train\t160\t" in data and "eval\t48\t" in data  # The fixture's rows (160 train, 48 eval).
    for name, value in summary.metrics.items():  # A table row's cells are tab-separated in innerText.
        assert f"{name}\t{value:.0f}" in evaluation if name == "example_count" else f"{name}\t{value:.4f}" in evaluation
    # The report scores the eval split with the trained model itself: its accuracy is TFMA's.
    accuracy = summary.metrics["sparse_categorical_accuracy"]
    assert f"accuracy {accuracy:.4f}, macro-F1" in evaluation
    assert f"Pushed: {summary.pushed_to}." in evaluation and f"accuracy\t{accuracy:.4f}\teval, all rows" in card


def test_fine_tuning_run_through_the_cli(tiny_export, sst2_sample, tmp_path, capsys):
    train = sst2_sample("train", 160)
    options = ("--train", train, "--mode", "finetune", "--max-train-steps", "4", "--epochs", "2")
    options += ("--class-weight", "balanced", "--bless-metric", "macro_f1")
    code = cli.main(_cli_run(tiny_export, tmp_path, *options))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "blessed: yes (macro_f1 ≥ 0.0" in out and "macro_f1" in out and "serving check: passed" in out
    assert len(os.listdir(tmp_path / "serving")) == 1
    [model_run] = (tmp_path / "pipeline" / "Trainer" / "model_run").iterdir()
    training = training_summary.read(str(model_run))
    held_out = re.search(r"training: epoch (\d) of (\d) kept .* on (\d+) texts held out of train", out)
    assert held_out, out
    chosen = (training.chosen_epoch, training.epochs_run, training.validation_examples)
    assert held_out.groups() == tuple(map(str, chosen))
    assert f"calibration: temperature {training.temperature:.3f}" in out
    phases = training.phase_seconds  # Within the Trainer's own wall time, as ML Metadata recorded it.
    config = PipelineConfig(train_data=train, pipeline_root=str(tmp_path / "pipeline"))
    trainer_seconds = results.step_seconds(results.open_store(config), config.pipeline_name)["Trainer"]
    assert set(phases) == {"train", "export", "eval_scores"} and 0 < sum(phases.values()) <= trainer_seconds
    assert f"Trainer time: {phases['train']:.1f} s training, {phases['export']:.1f} s exporting" in out
    counts = np.array(training.class_counts)  # The 4:1 hash split's train rows, validation excluded.
    np.testing.assert_allclose(training.class_weights, counts.sum() / (2 * counts))
    example_count = int(re.search(r"example_count\s+(\d+)", out).group(1))
    rows = out.split("confusion matrix (rows: label, columns: predicted):\n")[1].splitlines()[1:3]
    assert sum(int(count) for row in rows for count in row.split()[1:]) == example_count  # Each eval text once.


def test_setfit_run_through_the_cli_serves_what_it_scored(tiny_export, sst2_sample, tmp_path, capsys):
    train, eval_data = sst2_sample("train", 160), sst2_sample("eval", 48)
    options = ("--train", train, "--eval", eval_data, "--mode", "setfit", "--setfit-iterations", "2")
    code = cli.main(_cli_run(tiny_export, tmp_path, *options))
    out = capsys.readouterr().out
    assert code == 0, out
    assert re.search(r"training: epoch 1 of 1 kept \(validation loss [\d.]+; accuracy [\d.]+ on 14 texts", out), out
    [pushed] = (tmp_path / "serving").iterdir()
    [model_run] = (tmp_path / "pipeline" / "Trainer" / "model_run").iterdir()
    scores, _, texts = eval_scores.read(str(model_run))
    served = tf.saved_model.load(str(pushed)).signatures["serving_default"](text=tf.constant(texts))["scores"]
    np.testing.assert_allclose(served, scores, atol=1e-5)  # The tuned encoder and the regression head, exported.


@pytest.mark.long  # components/serving_check/component_test.py checks the same refusal without a whole run.
def test_a_model_that_fails_its_serving_check_is_not_pushed_and_the_run_says_why(
    tiny_export, sst2_sample, tmp_path, capsys, monkeypatch
):
    """The Trainer's warm-up requests name an input the model does not have: the model server refuses to load it."""
    request = predict_pb2.PredictRequest()
    request.inputs["sentence"].CopyFrom(tf.make_tensor_proto(["a fine film"]))
    bad_record = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
    monkeypatch.setattr(warmup, "requests_for", lambda texts: [bad_record])
    args = ["run", "--train", sst2_sample("train", 40), "--text-column", "sentence", "--encoder", str(tiny_export)]
    args += ["--seq-length", "16", "--epochs", "1", "--min-accuracy", "0", "--pipeline-root", str(tmp_path / "root")]
    code = cli.main([*args, "--serving-dir", str(tmp_path / "serving")])
    out = capsys.readouterr().out
    assert code == 1, out
    reason = "the model does not load in the model server: Failed to load: warm-up record 1 of 1: input size does not"
    assert f"serving check: failed: {reason} match signature" in out
    assert "pushed:  nothing" in out
    assert not (tmp_path / "serving").exists()


def test_anomalies_stop_the_run_before_transform(tiny_export, sst2_sample, tmp_path, capsys):
    train = sst2_sample("train", 40)
    eval_rows = ["sentence\tlabel", "fine\t1", "not fine\t0", "meh\tneutral", "   \t1"]
    (tmp_path / "eval.tsv").write_text("\n".join(eval_rows) + "\n", encoding="utf-8")
    args = _cli_run(tiny_export, tmp_path, "--train", train, "--eval", str(tmp_path / "eval.tsv"))
    assert cli.main(args) == 3
    err = capsys.readouterr().err
    assert "eval: label: Unexpected string values: 'neutral' (1 example)" in err
    assert "eval: text: Missing values: 1 example" in err
    config = PipelineConfig(train_data=train, pipeline_root=str(tmp_path / "pipeline"))
    with pytest.raises(LookupError):
        results.latest_outputs(results.open_store(config), config.pipeline_name, "Transform")
    assert not (tmp_path / "serving").exists()


def test_a_bad_row_stops_the_run_in_example_gen_naming_file_and_line(tiny_export, tmp_path, capsys):
    (tmp_path / "train.tsv").write_text("sentence\tlabel\nok\t1\nfine\t0\nbroken\n", encoding="utf-8")
    assert cli.main(_cli_run(tiny_export, tmp_path, "--train", str(tmp_path / "train.tsv"))) == 2
    assert f"error: {tmp_path}/train.tsv:4: row has 1 fields, the header has 2" in capsys.readouterr().err
    store = results.open_store(PipelineConfig(train_data="x.tsv", pipeline_root=str(tmp_path / "pipeline")))
    with pytest.raises(LookupError):
        results.latest_outputs(store, "sentence-tfx", "StatisticsGen")


def test_a_train_split_with_one_class_stops_at_validation(tiny_export, tmp_path, capsys):
    """The label names come from the train split when the pipeline runs; one class there is refused, exit 3."""
    (tmp_path / "train.tsv").write_text("sentence\tlabel\n" + "a fine film\tpos\n" * 8, encoding="utf-8")
    (tmp_path / "eval.tsv").write_text("sentence\tlabel\nfine\tpos\n", encoding="utf-8")
    train_and_eval = ("--train", str(tmp_path / "train.tsv"), "--eval", str(tmp_path / "eval.tsv"))
    assert cli.main(_cli_run(tiny_export, tmp_path, *train_and_eval)) == 3
    assert (
        "train: label: Fewer than 2 classes: 'pos' (8 examples); a classifier needs examples of at least 2 classes"
        in capsys.readouterr().err
    )


def test_defining_and_compiling_opens_no_input_file(tiny_export, tmp_path):
    """Data paths that do not exist yet (a folder, a span pattern): the pipeline is defined and compiled for Airflow
    all the same; ExampleGen resolves them when it runs."""
    future = tmp_path / "not-yet"
    paths = {"train_data": str(future / "{SPAN}" / "train-*.csv"), "eval_data": str(future / "{SPAN}" / "eval")}
    config = PipelineConfig(
        **paths,
        preprocessor_handle=str(tiny_export / "preprocessor"),
        encoder_handle=str(tiny_export / "encoder"),
        pipeline_root=str(tmp_path / "pipeline"),
    )
    nodes = {node.id: node for node in pipeline.create_pipeline(config).components}
    assert [node.id for node in nodes["CuratedSchemaGen"].upstream_nodes] == ["StatisticsGen"]  # Labels at run time.
    dag = tmp_path / "dags" / "p.py"
    options = ["--train", paths["train_data"], "--eval", paths["eval_data"], "--encoder", str(tiny_export)]
    assert cli.main(["compile", "--orchestrator", "airflow", "--out", str(dag), *options]) == 0
    assert paths["train_data"] in dag.read_text() and not future.exists()


CACHEABLE = (
    "FileBasedExampleGen",
    "CuratedSchemaGen",
    "StatisticsGen",
    "ExampleValidator",
    "Transform",
    "EmbeddingGen",
)
DRIFT_CHECKS = ("ValidationGate", "TokenLengthDriftGate")  # Rerun: they compare with the last accepted run.


@pytest.mark.long  # Two runs in each of the tests marked long: `make test-all` only.
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


@pytest.mark.long
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
    lines = (SAMPLE / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [line for line in lines if line.endswith(f"\t{label}") and len(line.split("\t")[0].split()) in words]


def _executions(config: PipelineConfig, node: str) -> int:
    store = results.open_store(config)
    return len(store.get_executions_by_context(store.get_context_by_type_and_name("node", f"sentence-tfx.{node}").id))


@pytest.mark.long
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


def _write_span(root: Path, span: int, rows: list[str]) -> None:
    (root / str(span)).mkdir(parents=True)
    (root / str(span) / "part-0.tsv").write_text("\n".join(["sentence\tlabel", *rows]) + "\n", encoding="utf-8")


@pytest.mark.long
def test_each_run_trains_on_the_latest_span_with_the_previous_model_as_baseline(tiny_export, tmp_path, capsys):
    """`--train 'DIR/{SPAN}/*.tsv'`: one command, run again when a span arrives, trains on the newest span."""
    rows = (SAMPLE / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]
    data = tmp_path / "reviews"
    for span in (1, 2):
        _write_span(data, span, rows[(span - 1) * 60 : span * 60])
    command = _cli_run(tiny_export, tmp_path, "--train", str(data / "{SPAN}" / "*.tsv"), "--max-accuracy-drop", "1")
    config = PipelineConfig(train_data="x.tsv", pipeline_root=str(tmp_path / "pipeline"))
    store = results.open_store(config)

    def latest(node, key, events=results.OUTPUT_EVENTS):
        return results.latest_outputs(store, config.pipeline_name, node, events)[1][key][0]

    assert cli.main(command) == 0, capsys.readouterr()
    assert latest("Transform", "examples", results.INPUT_EVENTS).custom_properties["span"].int_value == 2
    first_model = latest("Trainer", "model")

    _write_span(data, 3, rows[120:180])
    assert cli.main(command) == 0, capsys.readouterr()
    examples = latest("Transform", "examples", results.INPUT_EVENTS)
    assert examples.custom_properties["span"].int_value == 3 and examples.custom_properties["spans"].string_value == "3"
    assert latest("Evaluator", "baseline_model", results.INPUT_EVENTS).id == first_model.id
    assert latest("Trainer", "model").id != first_model.id


@pytest.mark.long
def test_skipped_bad_rows_are_reported_and_too_many_fail(tiny_export, sst2_sample, tmp_path, capsys):
    """--bad-rows skip: 1 bad row in 2,001 (0.05 %) is quarantined and the model still blessed and pushed; 1 % fails
    before anything else runs, naming the first bad rows."""
    rows = (SAMPLE / "train.tsv").read_text(encoding="utf-8").splitlines()
    train = tmp_path / "train.tsv"
    train.write_text("\n".join([*rows[:1001], "a row without a label", *rows[1001:2001]]) + "\n", encoding="utf-8")
    eval_data = sst2_sample("eval", 48)
    command = _cli_run(tiny_export, tmp_path, "--train", str(train), "--eval", eval_data, "--bad-rows", "skip")
    assert cli.main(command) == 0
    out = capsys.readouterr().out
    assert "bad rows quarantined:   1 in " in out and "blessed: yes" in out
    assert f"  {train}:1002: row has 1 fields, the header has 2" in out

    lines = [row if i % 100 else row.split("\t")[0] for i, row in enumerate(rows[1:2001], 1)]  # 20 of 2,000: 1 %
    train.write_text("\n".join([rows[0], *lines]) + "\n", encoding="utf-8")
    assert cli.main(command) == 2
    err = capsys.readouterr().err
    assert "error: train: 20 of 2000 rows are bad (1.00%), more than --max-bad-rows-fraction 0.001 allows" in err
    assert f"  {train}:101: row has 1 fields, the header has 2" in err
