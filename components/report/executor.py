"""The run report's executor: reads what the run's steps wrote and writes report.html. It runs no model.

Inputs are read as they are: Transform's examples (text, label index, token count, truncation; every split),
the gates' drift results, the Trainer's TensorBoard logs and its scores of every eval example (the calibration diagram
and the most confident mistakes, which TFMA's metrics do not keep), TFMA's metrics and validation result (candidate
and baseline), the blessings and the Pusher's record.
"""

import json
import logging
import os
import time

import numpy as np
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils

from sentence_tfx import features, schemas
from sentence_tfx.components.data_validation import gate
from sentence_tfx.components.example_gen import executor as example_gen_executor
from sentence_tfx.components.report import facts, page
from sentence_tfx.components.trainer import eval_scores, training_summary
from sentence_tfx.config import ReportSettings
from sentence_tfx.encoder import export

log = logging.getLogger(__name__)
SETTINGS_KEY = "settings"
REPORT_FILE = "report.html"
_COLUMNS = {
    features.TEXT: tf.io.FixedLenFeature([], tf.string),
    features.LABEL_INDEX: tf.io.FixedLenFeature([], tf.int64),
    features.TOKEN_COUNT: tf.io.FixedLenFeature([], tf.int64),
    features.TRUNCATED: tf.io.FixedLenFeature([], tf.int64),
}


def read_split(examples, split: str) -> facts.Split:
    """One split of Transform's examples, only the columns the report needs."""
    files = tf.io.gfile.glob(os.path.join(artifact_utils.get_split_uri([examples], split), "*"))
    columns = {name: [] for name in _COLUMNS}
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(4096)
    for batch in dataset.map(lambda records: tf.io.parse_example(records, _COLUMNS)):
        for name in columns:
            columns[name].append(batch[name].numpy())
    values = {name: np.concatenate(parts) if parts else np.zeros(0) for name, parts in columns.items()}
    return facts.Split(
        texts=[text.decode("utf-8", errors="replace") for text in values[features.TEXT]],
        labels=values[features.LABEL_INDEX].astype(int),
        token_counts=values[features.TOKEN_COUNT].astype(int),
        truncated=values[features.TRUNCATED].astype(bool),
    )


def training_log(model_run_dir: str) -> facts.TrainingLog:
    history: dict[str, dict[str, list[tuple[int, float]]]] = {}
    steps, times = None, []
    for run in ("train", "validation"):
        for path in sorted(tf.io.gfile.glob(os.path.join(model_run_dir, run, "events.out.tfevents.*"))):
            for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
                event = tf.compat.v1.Event.FromString(record)
                times += [event.wall_time] if run == "train" else []
                for value in event.summary.value:
                    if value.tag.endswith("_vs_iterations"):
                        steps = max(steps or 0, event.step)
                    elif value.tag.startswith("epoch_") and value.metadata.plugin_data.plugin_name == "scalars":
                        number = (
                            float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") else value.simple_value
                        )
                        history.setdefault(value.tag, {}).setdefault(run, []).append((event.step + 1, number))
    return facts.TrainingLog(history, steps, max(times) - min(times) if len(times) > 1 else None)


def _json_file(path: str):
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as file:
        return json.loads(file.read())


def tfma_metrics(evaluation_uri: str, label_names) -> dict[str, dict[str, float]]:
    """The overall slice's metrics: {"candidate" | "baseline" | "difference": {name: value}}; per-class metrics are
    named `name[label]`."""
    overall = next(m for m in tfma.load_metrics(evaluation_uri) if not m.slice_key.single_slice_keys)
    by_model: dict[str, dict[str, float]] = {}
    for entry in overall.metric_keys_and_values:
        if not entry.value.HasField("double_value"):
            continue  # Matrices and other structured values: the report draws its own from the predictions.
        model = "difference" if entry.key.is_diff else "baseline" if entry.key.model_name == "baseline" else "candidate"
        name = entry.key.name
        if entry.key.sub_key.HasField("class_id"):
            name = f"{name}[{label_names[entry.key.sub_key.class_id.value]}]"
        by_model.setdefault(model, {})[name] = entry.value.double_value.value
    return by_model


def validation_failures(evaluation_uri: str) -> list[str]:
    """TFMA's reasons for not blessing (thresholds missed), as sentences."""
    result = tfma.load_validation_result(evaluation_uri)
    return [
        f"{failure.metric_key.name}: {failure.message or 'threshold not met'}"
        for per_slice in result.metric_validations_per_slice
        for failure in per_slice.failures
    ]


def _int_property(artifact, name: str) -> int:
    return artifact.get_int_custom_property(name) if artifact.has_custom_property(name) else 0


def _string_property(artifact, name: str) -> str:
    return artifact.get_string_custom_property(name) if artifact.has_custom_property(name) else ""


def encoder_info(encoder_handle: str) -> dict | None:
    """export-encoder's record of the source model (export_info.json), for encoders this project converted."""
    return (
        None if "://" in encoder_handle else _json_file(os.path.join(os.path.dirname(encoder_handle), export.INFO_FILE))
    )


def gather(input_dict, exec_properties) -> page.Run:
    settings = ReportSettings.from_json(exec_properties[SETTINGS_KEY])
    only = lambda key: artifact_utils.get_single_instance(input_dict[key])  # noqa: E731
    [schema_artifact, examples, transformed, model, model_run] = map(
        only, ("schema", "examples", "transformed_examples", "model", "model_run")
    )
    [evaluation, blessing, infra_blessing, pushed] = map(
        only, ("evaluation", "blessing", "infra_blessing", "pushed_model")
    )
    schema_path = schemas.schema_file(schema_artifact.uri)
    label_names = tuple(schemas.read_label_names(schema_path))
    started = time.monotonic()
    names = artifact_utils.decode_split_names(transformed.split_names)
    splits = {split: read_split(transformed, split) for split in sorted(names, key=lambda name: name != "train")}
    scores, labels, texts = eval_scores.read(model_run.uri)
    log.info("report: examples and %d eval scores read in %.1f s", len(scores), time.monotonic() - started)
    return page.Run(
        settings=settings,
        label_names=label_names,
        spans=_string_property(examples, example_gen_executor.SPANS_PROPERTY),  # Set only for span patterns.
        data=facts.data_facts(splits, label_names),
        token_counts={name: split.token_counts for name, split in splits.items()},
        schema=io_utils.SchemaReader().read(schema_path),
        drift=[
            check
            for report in ("validation_report", "token_length_report")
            for check in _json_file(os.path.join(only(report).uri, gate.DRIFT_FILE)) or []
        ],
        validation_pages=[os.path.join(only("validation_report").uri, gate.STATISTICS_HTML)],
        training=training_log(model_run.uri),
        chosen=training_summary.read(model_run.uri),
        metrics=tfma_metrics(evaluation.uri, label_names),
        validation_failures=validation_failures(evaluation.uri),
        predictions=facts.prediction_facts(scores, labels, texts, label_names),
        blessed=_int_property(blessing, "blessed") == 1,
        serving_check=_string_property(infra_blessing, "reason")
        if _int_property(infra_blessing, "blessed") != 1
        else "",
        pushed_to=_string_property(pushed, "pushed_destination") if _int_property(pushed, "pushed") == 1 else "",
        encoder=encoder_info(settings.encoder_handle),
        model_dir=model.uri,
    )


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        started = time.monotonic()
        run = gather(input_dict, exec_properties)
        [report] = output_dict["report"]
        path = os.path.join(report.uri, REPORT_FILE)
        with tf.io.gfile.GFile(path, "w") as file:
            file.write(page.render(run))
        log.info("run report: %s (%.1f s)", path, time.monotonic() - started)
