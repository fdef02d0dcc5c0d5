"""The eval config: what TFMA measures and the thresholds that decide the blessing."""

import pytest

from sentence_tfx import features
from sentence_tfx.components.evaluator.component import ACCURACY, create_eval_config
from sentence_tfx.config import EvaluatorSettings


def _metrics(spec) -> list[str]:
    return [metric.class_name for metric in spec.metrics]


def test_binary_gate_floor_and_no_regression():
    config = create_eval_config(EvaluatorSettings(min_accuracy=0.7, max_accuracy_drop=0.02), ("neg", "pos"))
    [model] = config.model_specs
    assert model.signature_name == features.CLASSIFY_SIGNATURE and model.label_key == features.LABEL_INDEX
    assert list(model.preprocessing_function_names) == [features.TRANSFORM_SIGNATURE]
    gated, per_class = config.metrics_specs
    [accuracy] = [metric for metric in gated.metrics if metric.class_name == "SparseCategoricalAccuracy"]
    threshold = accuracy.threshold
    assert threshold.value_threshold.lower_bound.value == 0.7
    assert threshold.change_threshold.absolute.value == pytest.approx(-0.02)
    assert threshold.change_threshold.absolute.value < -0.02  # A drop of exactly the allowance still passes.
    assert _metrics(per_class) == ["Precision", "Recall", "AUC"]
    assert list(per_class.binarize.class_ids.values) == [0, 1]
    assert ACCURACY == "sparse_categorical_accuracy"  # The key results.py reads the accuracy under.


def test_multiclass_has_per_class_metrics_for_every_class_and_no_auc():
    config = create_eval_config(EvaluatorSettings(min_accuracy=0.5, max_accuracy_drop=0.0), tuple("abcdef"))
    _, per_class = config.metrics_specs
    assert _metrics(per_class) == ["Precision", "Recall"]
    assert list(per_class.binarize.class_ids.values) == list(range(6))
    gated, _ = config.metrics_specs
    [accuracy] = [metric for metric in gated.metrics if metric.class_name == "SparseCategoricalAccuracy"]
    assert -1e-9 < accuracy.threshold.change_threshold.absolute.value < 0  # No drop allowed, equal is fine.
