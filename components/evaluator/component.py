"""The Evaluator, its TFMA config and the resolver of the latest blessed model (the baseline)."""
import tensorflow_model_analysis as tfma
from tfx import v1 as tfx

from components import features
from components.trainer import signatures
from pipeline.configs import PipelineConfig

ACCURACY = "sparse_categorical_accuracy"


def create_eval_config(config: PipelineConfig) -> tfma.EvalConfig:
    """Accuracy (gated), per-class precision/recall at probability 0.5, AUC of the second class when binary."""
    accuracy_gate = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": config.min_accuracy}),
        change_threshold=tfma.GenericChangeThreshold(direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                                                     absolute={"value": -config.max_accuracy_drop - 1e-10}))
    per_class = [tfma.MetricConfig(class_name="Precision"), tfma.MetricConfig(class_name="Recall")]
    if len(config.label_names) == 2:
        per_class.append(tfma.MetricConfig(class_name="AUC"))
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name=signatures.CLASSIFY_SIGNATURE, label_key=features.LABEL_INDEX,
                                    prediction_key="scores", preprocessing_function_names=["transform_features"])],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(metrics=[tfma.MetricConfig(class_name="ExampleCount"),
                                      tfma.MetricConfig(class_name="SparseCategoricalAccuracy",
                                                        threshold=accuracy_gate)]),
            tfma.MetricsSpec(metrics=per_class, binarize=tfma.BinarizationOptions(
                class_ids={"values": list(range(len(config.label_names)))}))])


def create_evaluator(config: PipelineConfig, examples, model) -> tuple[tfx.dsl.Resolver, tfx.components.Evaluator]:
    baseline = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    evaluator = tfx.components.Evaluator(examples=examples, model=model, baseline_model=baseline.outputs["model"],
                                         eval_config=create_eval_config(config))
    return baseline, evaluator
