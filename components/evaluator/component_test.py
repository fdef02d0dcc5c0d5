"""The eval config: what TFMA measures and the thresholds that decide the blessing, computed by TFMA on Beam."""

import numpy as np
import pandas as pd
import pytest
import tensorflow_model_analysis as tfma

from sentence_tfx import features
from sentence_tfx.components.evaluator.component import create_eval_config
from sentence_tfx.config import EvaluatorSettings

# Six eval examples of three classes: label, scores. Argmax: 0, 1, 1, 1, 2, 0.
LABELS = [0, 0, 1, 1, 2, 2]
SCORES = [[0.9, 0.05, 0.05], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.1, 0.4]]


def _gated(config) -> dict[str, tfma.MetricThreshold]:
    return {m.class_name: m.threshold for spec in config.metrics_specs for m in spec.metrics if m.HasField("threshold")}


@pytest.mark.parametrize("bless_metric, gated", [("accuracy", "SparseCategoricalAccuracy"), ("macro_f1", "MacroF1")])
def test_only_the_bless_metric_is_gated_floor_and_no_regression(bless_metric, gated):
    settings = EvaluatorSettings(bless_metric=bless_metric, min_accuracy=0.7, max_accuracy_drop=0.02)
    config = create_eval_config(settings, ("neg", "pos"))
    [model] = config.model_specs
    assert model.signature_name == features.CLASSIFY_SIGNATURE and model.label_key == features.LABEL_INDEX
    assert list(model.preprocessing_function_names) == [features.TRANSFORM_SIGNATURE]
    [(name, threshold)] = _gated(config).items()
    assert name == gated
    assert threshold.value_threshold.lower_bound.value == 0.7
    assert threshold.change_threshold.absolute.value == pytest.approx(-0.02)
    assert threshold.change_threshold.absolute.value < -0.02  # A drop of exactly the allowance still passes.


def _tfma_on(labels, scores, config: tfma.EvalConfig):
    """TFMA itself (analyze_raw_data, on Beam) with the config's metrics over given labels and scores (without the
    gate: its change threshold needs a baseline model)."""
    raw = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(label_key="label", prediction_key="scores")],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=config.metrics_specs,
    )
    for spec in raw.metrics_specs:
        for metric in spec.metrics:
            metric.ClearField("threshold")
    result = tfma.analyze_raw_data(pd.DataFrame({"label": labels, "scores": [np.array(s) for s in scores]}), raw)
    [(_, metrics)] = result.slicing_metrics
    [(_, plots)] = result.plots
    return metrics[""], plots[""][""]  # Metrics by sub key ("" overall, "classId:N"); the overall plots.


def test_multiclass_metrics_are_at_the_argmax_with_macro_f1_ece_and_the_confusion_matrix():
    config = create_eval_config(EvaluatorSettings("macro_f1", 0.5, 0.0), ("a", "b", "c"))
    metrics, plots = _tfma_on(LABELS, SCORES, config)
    # By hand: class a: predicted twice, right once, 2 true → P 1/2, R 1/2; b: predicted 3×, right 2×, 2 true →
    # P 2/3, R 1; c: predicted once, right, 2 true → P 1, R 1/2.
    precision, recall = [1 / 2, 2 / 3, 1], [1 / 2, 1, 1 / 2]
    f1 = [2 * p * r / (p + r) for p, r in zip(precision, recall)]
    for class_id in range(3):
        per_class = metrics[f"classId:{class_id}"]
        assert per_class["precision_at_argmax"]["doubleValue"] == pytest.approx(precision[class_id])
        assert per_class["recall_at_argmax"]["doubleValue"] == pytest.approx(recall[class_id])
        assert per_class["f1_at_argmax"]["doubleValue"] == pytest.approx(f1[class_id])
    overall = metrics[""]
    assert overall["macro_f1"]["doubleValue"] == pytest.approx(np.mean(f1))
    assert overall["sparse_categorical_accuracy"]["doubleValue"] == pytest.approx(4 / 6)
    # Top scores 0.9 ✓, 0.6 ✗, 0.7 ✓, 0.8 ✓, 0.6 ✓, 0.5 ✗ in 15 bins: [0.9] ✓, [0.8] ✓, [0.7] ✓, [0.6, 0.6] ✓✗,
    # [0.5] ✗ → (0.1 + 0.2 + 0.3 + 2 × 0.1 + 0.5) / 6.
    assert overall["expected_calibration_error"]["doubleValue"] == pytest.approx((0.1 + 0.2 + 0.3 + 0.2 + 0.5) / 6)
    cells = plots["multiClassConfusionMatrixAtThresholds"]["matrices"][0]["entries"]
    confusion = np.zeros((3, 3))
    for cell in cells:
        confusion[cell.get("actualClassId", 0), cell.get("predictedClassId", 0)] = cell.get("numWeightedExamples", 0)
    np.testing.assert_array_equal(confusion, [[1, 1, 0], [0, 2, 0], [1, 0, 1]])


def test_binary_adds_auc_of_the_second_class():
    config = create_eval_config(EvaluatorSettings("accuracy", 0.5, 0.0), ("neg", "pos"))
    metrics, _ = _tfma_on([0, 1, 1, 0], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.4, 0.6]], config)
    assert metrics["classId:1"]["auc"]["doubleValue"] == pytest.approx(0.75, abs=0.01)  # 3 of 4 pairs ordered.
