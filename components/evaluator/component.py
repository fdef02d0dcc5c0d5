"""The Evaluator, its TFMA config and the resolver of the latest blessed model that was pushed (the baseline).

The eval config depends on the number of classes, known only at run time (see schemas.CuratedSchemaGen): the
component carries EvaluatorSettings and its executor builds the config from them and the schema's label names.
"""

import json
from collections.abc import Sequence

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx
from tfx.components.evaluator import executor as evaluator_executor
from tfx.dsl.components.base.base_beam_component import BaseBeamComponent
from tfx.dsl.components.base.executor_spec import BeamExecutorSpec
from tfx.types import standard_component_specs
from tfx.types.component_spec import ExecutionParameter
from tfx.utils import proto_utils

from sentence_tfx import features, schemas
from sentence_tfx.components.evaluator import argmax_metrics
from sentence_tfx.components.pusher.component import pushed_blessings
from sentence_tfx.config import EvaluatorSettings

ACCURACY = "sparse_categorical_accuracy"
SETTINGS_KEY = "settings"
_BLESS_METRICS = {"accuracy": "SparseCategoricalAccuracy", "macro_f1": "MacroF1"}  # --bless-metric: TFMA's class.


def create_eval_config(settings: EvaluatorSettings, label_names: Sequence[str]) -> tfma.EvalConfig:
    """Accuracy, macro-F1 and per-class precision/recall/F1 at the top class, the expected calibration error, the
    confusion matrix, AUC when binary. The bless metric is gated: a floor and no regression against the baseline."""
    gate = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": settings.min_accuracy}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -settings.max_accuracy_drop - 1e-10}
        ),
    )
    classes = json.dumps({"classes": len(label_names)})

    def metric(class_name: str, **fields) -> tfma.MetricConfig:
        threshold = gate if _BLESS_METRICS[settings.bless_metric] == class_name else None
        return tfma.MetricConfig(class_name=class_name, threshold=threshold, **fields)

    specs = [
        tfma.MetricsSpec(
            metrics=[
                tfma.MetricConfig(class_name="ExampleCount"),
                metric("SparseCategoricalAccuracy"),
                metric("MacroF1", module=argmax_metrics.__name__, config=classes),
                metric("ExpectedCalibrationError", module=argmax_metrics.__name__, config=classes),
                tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
            ]
        )
    ]
    if len(label_names) == 2:
        specs.append(
            tfma.MetricsSpec(
                metrics=[tfma.MetricConfig(class_name="AUC")],
                binarize=tfma.BinarizationOptions(class_ids={"values": [1]}),
            )
        )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                model_type=tfma.TF_GENERIC,  # Signatures only: TFMA would otherwise load the model as Keras to see.
                signature_name=features.CLASSIFY_SIGNATURE,
                label_key=features.LABEL_INDEX,
                prediction_key="scores",
                preprocessing_function_names=[features.TRANSFORM_SIGNATURE],
            )
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=specs,
    )


class EvaluatorSpec(standard_component_specs.EvaluatorSpec):
    """TFX's Evaluator spec plus the EvaluatorSettings (JSON) that the eval config is built from at run time."""

    PARAMETERS = {**standard_component_specs.EvaluatorSpec.PARAMETERS, SETTINGS_KEY: ExecutionParameter(type=str)}


class Executor(evaluator_executor.Executor):
    """TFX's Evaluator executor, given the eval config of this run's label names (from the schema artifact)."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        settings = EvaluatorSettings.from_json(exec_properties[SETTINGS_KEY])
        [schema] = input_dict[standard_component_specs.SCHEMA_KEY]
        eval_config = create_eval_config(settings, schemas.read_label_names(schemas.schema_file(schema.uri)))
        super().Do(
            # Without the schema TFMA reads the examples as it always did: the schema is here for the label names.
            {key: value for key, value in input_dict.items() if key != standard_component_specs.SCHEMA_KEY},
            output_dict,
            {**exec_properties, standard_component_specs.EVAL_CONFIG_KEY: proto_utils.proto_to_json(eval_config)},
        )


class Evaluator(BaseBeamComponent):
    """TFX's Evaluator (same executor, inputs and outputs) whose eval config is made when it runs."""

    SPEC_CLASS = EvaluatorSpec
    EXECUTOR_SPEC = BeamExecutorSpec(Executor)

    def __init__(self, examples, model, baseline_model, schema, settings: EvaluatorSettings):
        super().__init__(
            spec=EvaluatorSpec(
                examples=examples,
                model=model,
                baseline_model=baseline_model,
                schema=schema,
                settings=settings.to_json(),
                evaluation=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelEvaluation),
                blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
            )
        )


def create_evaluator(settings: EvaluatorSettings, examples, model, schema) -> tuple[tfx.dsl.Resolver, Evaluator]:
    baseline = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=pushed_blessings(),  # Written by successful pushes only.
    ).with_id("latest_blessed_model_resolver")
    evaluator = Evaluator(
        examples=examples, model=model, baseline_model=baseline.outputs["model"], schema=schema, settings=settings
    )
    return baseline, evaluator
