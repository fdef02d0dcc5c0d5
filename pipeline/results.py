"""What a run produced, read back from ML Metadata: each component's latest execution and its output artifacts."""

import dataclasses
import os

import numpy as np
import tensorflow as tf
import tensorflow_data_validation as tfdv
import tensorflow_model_analysis as tfma
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from sentence_tfx import features, schemas
from sentence_tfx.components.example_gen import quarantine
from sentence_tfx.components.example_gen.component import EXAMPLE_GEN_ID
from sentence_tfx.components.report import component as report_component
from sentence_tfx.components.report import executor as report_executor
from sentence_tfx.components.trainer import training_summary
from sentence_tfx.components.trainer.training_summary import TrainingSummary
from sentence_tfx.pipeline import metadata
from sentence_tfx.config import PipelineConfig


def open_store(config: PipelineConfig) -> metadata_store.MetadataStore:
    return metadata_store.MetadataStore(metadata.connection_config(config))


OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
INPUT_EVENTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)


def latest_outputs(
    store, pipeline_name: str, node_id: str, event_types=OUTPUT_EVENTS
) -> tuple[metadata_store_pb2.Execution, dict]:
    """The node's most recent execution and its output (or, with INPUT_EVENTS, input) artifacts by key."""
    context = store.get_context_by_type_and_name("node", f"{pipeline_name}.{node_id}")
    if context is None:
        raise LookupError(f"no execution of {node_id} recorded in ML Metadata")
    execution = max(store.get_executions_by_context(context.id), key=lambda e: e.id)
    outputs: dict[str, list] = {}
    for event in store.get_events_by_execution_ids([execution.id]):
        if event.type in event_types:
            # One event per artifact: one given as two inputs (the Evaluator's model that is also its baseline)
            # has a (key, index) pair of path steps for each.
            for key in {step.key for step in event.path.steps if step.HasField("key")}:
                outputs.setdefault(key, []).extend(store.get_artifacts_by_id([event.artifact_id]))
    return execution, outputs


@dataclasses.dataclass(frozen=True)
class PushReport:
    """What the run's Pusher did."""

    destination: str | None  # The version folder it recorded; None when a blessing refused the push.
    reused: bool  # Taken from TFX's cache: an earlier run pushed the same model with the same blessings.
    refused_by: tuple[str, ...]  # Who did not bless the model, in words (BLESSERS' values).
    present: bool  # destination holds a saved_model.pb now.


@dataclasses.dataclass(frozen=True)
class RunSummary:
    label_names: tuple[str, ...]  # In class index order: the --labels given, or the train split's.
    metrics: dict[str, float]  # Overall slice: accuracy, macro-F1, per-class P/R/F1 at the argmax, ECE, AUC.
    confusion: np.ndarray  # [label, argmax] counts of the eval split, from TFMA's confusion matrix plot.
    training: TrainingSummary  # The Trainer's chosen epoch, temperature and class balance.
    blessed: bool
    serving_check_failure: str  # Why the model server could not serve the model; empty when it passed.
    pushed_to: str | None  # The version folder that holds the run's model now; None: nothing pushed.
    push: PushReport
    reused_steps: tuple[str, ...]  # The components of the run that TFX took from its cache, in run order.
    truncated_share: float  # Of the training texts, the share longer than seq_length.
    validation_report: str
    model_dir: str
    tensorboard_dir: str
    bad_rows: int  # Quarantined by ExampleGen (--bad-rows skip) ...
    quarantine_dir: str  # ... here ...
    first_bad_rows: list[str]  # ... the first few as `FILE:LINE: reason`, per split.


def _custom_int(artifact, name: str) -> int:
    return artifact.custom_properties[name].int_value if name in artifact.custom_properties else 0


def _serving_check_failure(infra_blessing) -> str:
    if _custom_int(infra_blessing, "blessed") == 1:
        return ""
    reason = infra_blessing.custom_properties.get("reason")
    return reason.string_value if reason else "no reason recorded"


def _metrics(evaluation_uri: str, label_names) -> dict[str, float]:
    overall = next(m for m in tfma.load_metrics(evaluation_uri) if not m.slice_key.single_slice_keys)
    metrics = {}
    for entry in overall.metric_keys_and_values:
        if entry.key.is_diff or entry.key.model_name not in ("", "candidate"):
            continue  # The baseline's own metrics and the differences to it.
        name = entry.key.name
        if entry.key.sub_key.HasField("class_id"):
            name = f"{name}[{label_names[entry.key.sub_key.class_id.value]}]"
        metrics[name] = entry.value.double_value.value
    return metrics


def _confusion(evaluation_uri: str, classes: int) -> np.ndarray:
    """TFMA's MultiClassConfusionMatrixPlot of the candidate (threshold 0: every example at its argmax)."""
    overall = next(p for p in tfma.load_plots(evaluation_uri) if not p.slice_key.single_slice_keys)
    confusion = np.zeros((classes, classes), dtype=int)
    for entry in overall.plot_keys_and_values:
        if entry.key.model_name not in ("", "candidate") or not entry.value.HasField(
            "multi_class_confusion_matrix_at_thresholds"
        ):
            continue
        [matrix] = entry.value.multi_class_confusion_matrix_at_thresholds.matrices
        for cell in matrix.entries:
            confusion[cell.actual_class_id, cell.predicted_class_id] = round(cell.num_weighted_examples)
    return confusion


def step_seconds(store, pipeline_name: str) -> dict[str, float]:
    """The latest execution of every node: its wall time from ML Metadata."""
    seconds = {}
    for execution in sorted(store.get_executions(), key=lambda e: e.id):
        [node] = [c.name for c in store.get_contexts_by_execution(execution.id) if c.type == "node"]
        seconds[node.removeprefix(pipeline_name + ".")] = (
            execution.last_update_time_since_epoch - execution.create_time_since_epoch
        ) / 1000
    return seconds


def node_of(store, execution, pipeline_name: str) -> str:
    [node] = [c for c in store.get_contexts_by_execution(execution.id) if c.type == "node"]
    return node.name.removeprefix(f"{pipeline_name}.")


def reused_steps(store, pipeline_name: str, execution) -> tuple[str, ...]:
    """The components that the pipeline run of `execution` took from TFX's cache."""
    [run] = [c for c in store.get_contexts_by_execution(execution.id) if c.type == "pipeline_run"]
    executions = sorted(store.get_executions_by_context(run.id), key=lambda e: e.id)
    return tuple(
        node_of(store, e, pipeline_name)
        for e in executions
        if e.last_known_state == metadata_store_pb2.Execution.CACHED
    )


BLESSERS = {"model_blessing": "the Evaluator", "infra_blessing": "the serving check"}  # The Pusher's inputs.


def push_report(store, pipeline_name: str) -> tuple[metadata_store_pb2.Execution, PushReport]:
    """The latest Pusher execution and what it did, from its PushedModel artifact and its blessing inputs."""
    execution, outputs = latest_outputs(store, pipeline_name, "Pusher")
    _, inputs = latest_outputs(store, pipeline_name, "Pusher", INPUT_EVENTS)
    pushed = outputs["pushed_model"][0]
    destination = (
        pushed.custom_properties["pushed_destination"].string_value if _custom_int(pushed, "pushed") == 1 else None
    )
    return execution, PushReport(
        destination=destination,
        reused=execution.last_known_state == metadata_store_pb2.Execution.CACHED,
        refused_by=tuple(
            who for key, who in BLESSERS.items() if inputs.get(key) and _custom_int(inputs[key][0], "blessed") != 1
        ),
        present=bool(destination) and tf.io.gfile.exists(os.path.join(destination, "saved_model.pb")),
    )


def summarize_run(config: PipelineConfig) -> RunSummary:
    store = open_store(config)
    name = config.pipeline_name
    _, evaluator = latest_outputs(store, name, "Evaluator")
    _, serving_check = latest_outputs(store, name, "ServingCheck")
    pusher, push = push_report(store, name)
    _, transform = latest_outputs(store, name, "Transform")
    _, trainer = latest_outputs(store, name, "Trainer")
    _, gate = latest_outputs(store, name, "ValidationGate")
    _, schema_gen = latest_outputs(store, name, "CuratedSchemaGen")
    label_names = schemas.read_label_names(schemas.schema_file(schema_gen["schema"][0].uri))
    _, example_gen = latest_outputs(store, name, EXAMPLE_GEN_ID)
    quarantined = quarantine.read_summaries(example_gen[quarantine.QUARANTINE_KEY][0].uri)
    stats = tfdv.load_stats_binary(os.path.join(transform["post_transform_stats"][0].uri, "FeatureStats.pb"))
    truncated = next(f for f in stats.datasets[0].features if f.path.step == [features.TRUNCATED])
    return RunSummary(
        label_names=label_names,
        metrics=_metrics(evaluator["evaluation"][0].uri, label_names),
        confusion=_confusion(evaluator["evaluation"][0].uri, len(label_names)),
        training=training_summary.read(trainer["model_run"][0].uri),
        blessed=_custom_int(evaluator["blessing"][0], "blessed") == 1,
        serving_check_failure=_serving_check_failure(serving_check["blessing"][0]),
        pushed_to=push.destination if push.present else None,
        push=push,
        reused_steps=reused_steps(store, name, pusher),
        truncated_share=truncated.num_stats.mean,
        validation_report=gate["report"][0].uri,
        model_dir=trainer["model"][0].uri,
        tensorboard_dir=trainer["model_run"][0].uri,
        bad_rows=sum(summary.bad_rows for summary in quarantined),
        quarantine_dir=example_gen[quarantine.QUARANTINE_KEY][0].uri,
        first_bad_rows=[line for summary in quarantined for line in summary.first_bad_rows],
    )


def run_report(config: PipelineConfig) -> str:
    """The run's report.html (components/report/)."""
    _, outputs = latest_outputs(open_store(config), config.pipeline_name, report_component.RunReport.__name__)
    return os.path.join(outputs[report_component.REPORT_KEY][0].uri, report_executor.REPORT_FILE)
