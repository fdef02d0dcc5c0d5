"""The gate: readable reasons from real TFDV anomalies, and a real TFX run that passes clean data and stops bad data."""

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import re
from pathlib import Path

import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv
from apache_beam.options.pipeline_options import PipelineOptions
from tfx import v1 as tfx
from tfx.utils import io_utils

from sentence_tfx import schemas
from sentence_tfx.components.data_validation import gate

BEAM_ARGS = ["--runner=FnApiRunner"]  # DirectRunner would try to download Prism (offline here)
LABELS = ("negative", "positive")
CLEAN = [
    ("a dreadful, boring film", "negative"),
    ("a great film", "positive"),
    ("loved every minute", "positive"),
    ("I walked out", "negative"),
] * 6
# An empty text is a `text` feature with no value (as ExampleGen writes it); `neutral` is not a label of this run.
BAD = CLEAN + [("", "positive"), ("meh", "neutral"), ("fine I guess", "neutral"), ("so-so", "neutral")]


def _write_examples(path, rows, compression=None):
    """Writes (text, label) rows as ExampleGen does; label None leaves the feature out entirely."""

    def feature(value):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()] if value else []))

    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path), options=compression) as writer:
        for text, label in rows:
            features = {"text": feature(text), **({"label": feature(label)} if label is not None else {})}
            writer.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())
    return path


def _problems(tmp_path, rows, schema=None):
    """Validates rows the way ExampleValidator does (tfdv.validate_statistics) and returns the gate's findings."""
    schema = schema or io_utils.SchemaReader().read(schemas.write_schema(LABELS, tmp_path))
    stats = tfdv.generate_statistics_from_tfrecord(
        str(_write_examples(tmp_path / "data.tfrecord", rows)), pipeline_options=PipelineOptions(BEAM_ARGS)
    )
    return gate.find_problems({"eval": tfdv.validate_statistics(stats, schema)}, {"eval": stats.datasets[0]}, schema)


def test_clean_data_has_no_problems(tmp_path):
    assert _problems(tmp_path, CLEAN) == []


def test_summary_names_split_feature_and_exact_counts(tmp_path):
    summary = gate.summarize(_problems(tmp_path, BAD + [("no label at all", None)]))
    assert summary.splitlines() == [
        "Data validation found 3 anomalies; the run stops before Transform:",
        "  eval: label: Column dropped: missing from 1 of 29 examples",
        "  eval: label: Unexpected string values: 'neutral' (3 examples)",
        "  eval: text: Missing values: 1 example with no value",
    ]


def _train_statistics(tmp_path, rows):
    path = _write_examples(tmp_path / "train.tfrecord", rows)
    return {
        "train": tfdv.generate_statistics_from_tfrecord(
            str(path), pipeline_options=PipelineOptions(BEAM_ARGS)
        ).datasets[0]
    }


def test_a_train_split_needs_two_of_the_label_names(tmp_path):
    schema = io_utils.SchemaReader().read(schemas.write_schema(LABELS, tmp_path))
    assert gate.too_few_classes(_train_statistics(tmp_path, CLEAN), schema) == []
    one_class = [(text, "positive") for text, _ in CLEAN] + [("meh", "neutral")]  # 'neutral' is no class here.
    [problem] = gate.too_few_classes(_train_statistics(tmp_path, one_class), schema)
    assert gate.summarize([problem]).splitlines()[1] == (
        "  train: label: Fewer than 2 classes: 'positive' (24 examples); a classifier needs examples of at least 2 "
        "classes"
    )


def test_dataset_anomalies_fall_back_to_tfdv_words(tmp_path):
    schema = io_utils.SchemaReader().read(schemas.write_schema(LABELS, tmp_path))
    schema.dataset_constraints.min_examples_count = 1000
    (problem,) = _problems(tmp_path, CLEAN, schema)
    assert (problem.feature, problem.severity) == (gate.DATASET, "ERROR")
    assert problem.detail == problem.description == "The dataset has 24 examples, which is fewer than expected."


def _run_pipeline(root, rows_by_split):
    """ImportExampleGen → StatisticsGen + ImportSchemaGen → ExampleValidator → ValidationGate, run locally."""
    for split, rows in rows_by_split.items():
        _write_examples(root / "data" / split / "data.tfrecord.gz", rows, compression="GZIP")
    example_gen = tfx.components.ImportExampleGen(
        input_base=str(root / "data"),
        input_config=tfx.proto.Input(
            splits=[tfx.proto.Input.Split(name=split, pattern=f"{split}/*") for split in rows_by_split]
        ),
    )
    schema_gen = tfx.components.ImportSchemaGen(schema_file=schemas.write_schema(LABELS, root / "schema"))
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    validation_gate = gate.ValidationGate(
        statistics=statistics_gen.outputs["statistics"],
        anomalies=validator.outputs["anomalies"],
        schema=schema_gen.outputs["schema"],
        max_label_drift=0.1,  # No earlier accepted run here: not checked.
    )
    tfx.orchestration.LocalDagRunner().run(
        tfx.dsl.Pipeline(
            pipeline_name="validation-test",
            pipeline_root=str(root / "pipeline"),
            components=[example_gen, schema_gen, statistics_gen, validator, validation_gate],
            metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
                str(root / "metadata.sqlite")
            ),
            beam_pipeline_args=BEAM_ARGS,
        )
    )
    return root / "pipeline" / "ValidationGate"


@pytest.mark.slow
def test_pipeline_passes_clean_data_and_leaves_the_report(tmp_path):
    gate_dir = _run_pipeline(tmp_path, {"train": CLEAN, "eval": CLEAN[:8]})
    (report,) = (gate_dir / "report").iterdir()
    statistics, anomalies = (report / gate.STATISTICS_HTML).read_text(), (report / gate.ANOMALIES_HTML).read_text()
    assert all(split in statistics for split in ("<h2>train</h2>", "<h2>eval</h2>"))
    # The label's values as inline SVG bars, per split; no scripts (Facets loaded its own from the web); no text
    # values listed (a text column's "top values" say nothing).
    assert statistics.count("<title>label</title>") == 2 and "positive" in statistics
    assert "<script" not in statistics and "a great film" not in statistics
    assert "No anomalies." in anomalies and "negative" in anomalies  # the schema's label values
    assert not (gate_dir / "rejected").exists()


@pytest.mark.slow
def test_pipeline_stops_on_bad_data_with_reasons_and_a_report_that_survives(tmp_path):
    with pytest.raises(gate.AnomaliesFoundError) as stopped:
        _run_pipeline(tmp_path, {"train": CLEAN, "eval": BAD})
    message = str(stopped.value)
    assert "eval: label: Unexpected string values: 'neutral' (3 examples)" in message
    assert "eval: text: Missing values: 1 example with no value" in message
    assert "train:" not in message
    report = re.search(r"Report: (\S+)", message).group(1)
    assert "/ValidationGate/rejected/" in report
    page = Path(report).read_text()
    assert "<td>'neutral' (3 examples)</td>" in page and "<td>1 example with no value</td>" in page
