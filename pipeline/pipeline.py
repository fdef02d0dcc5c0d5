"""create_pipeline(config): the whole TFX pipeline, from labelled text files to a pushed, blessed SavedModel.

ExampleGen → StatisticsGen → CuratedSchemaGen (the label names) → ExampleValidator → ValidationGate (+ label drift)
→ Transform
→ TokenLengthDriftGate → [EmbeddingGen, frozen mode] → Trainer → Evaluator (baseline: the latest pushed model)
→ ServingCheck (the model server loads it and answers its warm-up requests) → Pusher → RunReport (report.html).
Drift is measured against the statistics of the last run whose data passed validation (resolved from ML Metadata).
Defining it reads no data.
"""

import dataclasses
import json
from pathlib import Path

from tfx import v1 as tfx

from sentence_tfx import schemas
from sentence_tfx.components.data_validation import drift
from sentence_tfx.components.data_validation.gate import TokenLengthDriftGate, ValidationGate
from sentence_tfx.components.embedding_gen.component import EmbeddingGen
from sentence_tfx.encoder import export
from sentence_tfx.components.evaluator.component import create_evaluator
from sentence_tfx.components.example_gen.component import create_example_gen
from sentence_tfx.components.pusher.component import create_pusher
from sentence_tfx.components.report.component import RunReport
from sentence_tfx.components.serving_check.component import ServingCheck
from sentence_tfx.components.trainer.component import create_trainer
from sentence_tfx.components.transform.component import create_transform
from sentence_tfx.pipeline import metadata
from sentence_tfx.config import (
    EmbeddingSettings,
    EvaluatorSettings,
    ExampleGenSettings,
    PipelineConfig,
    ReportSettings,
    TrainerSettings,
    TransformSettings,
)

# Beam workers that start through sdk_worker_main (Dataflow, Flink, Spark containers) import this first; it sets
# TF_USE_LEGACY_KERAS before TensorFlow loads, which the Evaluator's Keras model needs.
BEAM_WORKER_PLUGIN = "--beam_plugins=sentence_tfx.keras2"
PROJECT_SETUP_FILE = Path(__file__).resolve().parents[1] / "setup.py"  # Present in a source checkout.
_DEPENDENCY_FLAGS = (
    "--setup_file",
    "--extra_package",
    "--requirements_file",
    "--sdk_container_image",
    "--worker_harness_container_image",
)


def beam_pipeline_args(config: PipelineConfig) -> list[str]:
    """The config's Beam args, the worker plugin, and --setup_file of this project unless a dependency flag is given.

    --setup_file ships this project's code to remote workers; without any such flag TFX would build a source package
    of TFX itself for every Beam component (~48 MB in the temp folder each time, even on the FnApiRunner)."""
    args = [*config.beam_pipeline_args, BEAM_WORKER_PLUGIN]
    if PROJECT_SETUP_FILE.exists() and not any(arg.startswith(_DEPENDENCY_FLAGS) for arg in args):
        args.append(f"--setup_file={PROJECT_SETUP_FILE}")
    return args


def prepare(config: PipelineConfig) -> PipelineConfig:
    """Resolves the default encoder (converted once, then cached). Reads no data: bad rows and the label names are
    found at run time, by ExampleGen and from StatisticsGen's statistics."""
    if not config.encoder_handle:
        encoder_dir = export.cached_export(seq_length=config.seq_length)
        config = dataclasses.replace(
            config, preprocessor_handle=str(encoder_dir / "preprocessor"), encoder_handle=str(encoder_dir / "encoder")
        )
    return config


def create_pipeline(config: PipelineConfig) -> tfx.dsl.Pipeline:
    """The TFX pipeline for `config`, which must name its encoder (see `prepare`). Opens no input file."""
    if not config.encoder_handle:
        raise ValueError("create_pipeline needs encoder handles; run pipeline.prepare(config) first")
    example_gen = create_example_gen(config.settings(ExampleGenSettings))
    examples = example_gen.outputs["examples"]
    statistics_gen = tfx.components.StatisticsGen(examples=examples)
    schema_gen = schemas.CuratedSchemaGen(
        statistics=statistics_gen.outputs["statistics"], label_names_json=json.dumps(config.label_names)
    )
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    previous_statistics = drift.previous_statistics_resolver()  # Of the last run whose data passed validation.
    validation_gate = ValidationGate(
        statistics=statistics_gen.outputs["statistics"],
        anomalies=example_validator.outputs["anomalies"],
        schema=schema_gen.outputs["schema"],
        max_label_drift=config.max_label_drift,
        previous_statistics=previous_statistics.outputs["statistics"],
    )
    transform = create_transform(config.settings(TransformSettings), examples, schema_gen.outputs["schema"])
    transform.add_upstream_node(validation_gate)  # Anomalies stop the run before any tokenizing or training.
    token_length_gate = TokenLengthDriftGate(
        statistics=statistics_gen.outputs["statistics"],
        transformed_statistics=transform.outputs["post_transform_stats"],
        max_token_length_drift=config.max_token_length_drift,
        tokenization=f"{config.preprocessor_handle} seq_length={config.seq_length}",
        previous_statistics=previous_statistics.outputs["statistics"],
    )
    # Frozen: the encoder runs once per example on Beam, and the Trainer trains the head on the embeddings.
    embedding_gen = (
        EmbeddingGen(transform.outputs["transformed_examples"], config.settings(EmbeddingSettings))
        if config.mode == "frozen"
        else None
    )
    trainer = create_trainer(
        config.settings(TrainerSettings),
        (embedding_gen.outputs["embeddings"] if embedding_gen else transform.outputs["transformed_examples"]),
        transform.outputs["transform_graph"],
        schema_gen.outputs["schema"],
    )
    (embedding_gen or trainer).add_upstream_node(token_length_gate)  # Drifted token lengths: no encoder pass.
    baseline, evaluator = create_evaluator(
        config.settings(EvaluatorSettings), examples, trainer.outputs["model"], schema_gen.outputs["schema"]
    )
    serving_check = ServingCheck(model=trainer.outputs["model"])
    serving_check.add_upstream_node(evaluator)  # Where TFX puts InfraValidator: after evaluation.
    pusher = create_pusher(
        config.serving_dir,
        trainer.outputs["model"],
        evaluator.outputs["blessing"],
        infra_blessing=serving_check.outputs["blessing"],
    )
    run_report = RunReport(
        config.settings(ReportSettings),
        examples=examples,
        schema=schema_gen.outputs["schema"],
        validation_report=validation_gate.outputs["report"],
        token_length_report=token_length_gate.outputs["length_report"],
        transformed_examples=transform.outputs["transformed_examples"],
        model=trainer.outputs["model"],
        model_run=trainer.outputs["model_run"],
        evaluation=evaluator.outputs["evaluation"],
        blessing=evaluator.outputs["blessing"],
        infra_blessing=serving_check.outputs["blessing"],
        pushed_model=pusher.outputs["pushed_model"],
    )
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            example_validator,
            previous_statistics,
            validation_gate,
            transform,
            token_length_gate,
            *([embedding_gen] if embedding_gen else []),
            trainer,
            baseline,
            evaluator,
            serving_check,
            pusher,
            run_report,
        ],
        metadata_connection_config=metadata.connection_config(config),
        enable_cache=config.enable_cache,
        beam_pipeline_args=beam_pipeline_args(config),
    )
