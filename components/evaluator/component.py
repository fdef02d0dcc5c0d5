"""The Evaluator, its TFMA config and the resolver of the latest blessed model that was pushed (the baseline)."""

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx

from sentence_tfx import features
from sentence_tfx.components.pusher.component import pushed_blessings
from sentence_tfx.config import EvaluatorSettings

ACCURACY = "sparse_categorical_accuracy"


def create_eval_config(settings: EvaluatorSettings) -> tfma.EvalConfig:
    """Accuracy (gated), per-class precision/recall at probability 0.5, AUC of the second class when binary."""
    accuracy_gate = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": settings.min_accuracy}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -settings.max_accuracy_drop - 1e-10}
        ),
    )
    per_class = [tfma.MetricConfig(class_name="Precision"), tfma.MetricConfig(class_name="Recall")]
    if len(settings.label_names) == 2:
        per_class.append(tfma.MetricConfig(class_name="AUC"))
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name=features.CLASSIFY_SIGNATURE,
                label_key=features.LABEL_INDEX,
                prediction_key="scores",
                preprocessing_function_names=[features.TRANSFORM_SIGNATURE],
            )
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(class_name="SparseCategoricalAccuracy", threshold=accuracy_gate),
                ]
            ),
            tfma.MetricsSpec(
                metrics=per_class,
                binarize=tfma.BinarizationOptions(class_ids={"values": list(range(len(settings.label_names)))}),
            ),
        ],
    )


def create_evaluator(settings: EvaluatorSettings, examples, model) -> tuple[tfx.dsl.Resolver, tfx.components.Evaluator]:
    baseline = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=pushed_blessings(),  # Written by successful pushes only.
    ).with_id("latest_blessed_model_resolver")
    evaluator = tfx.components.Evaluator(
        examples=examples,
        model=model,
        baseline_model=baseline.outputs["model"],
        eval_config=create_eval_config(settings),
    )
    return baseline, evaluator
