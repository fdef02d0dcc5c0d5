"""TFMA metrics at the top class (argmax), what a multi-class user reads. TFMA's own per-class precision and recall
threshold each class's score at 0.5, a binary rule, and its macro average cannot be combined with top-k; these count
one confusion matrix of (label, argmax) and a histogram of the top score, on Beam like every TFMA metric:

- macro_f1, and per class (sub key class_id) precision_at_argmax, recall_at_argmax, f1_at_argmax;
- expected_calibration_error: mean |accuracy − confidence| over 15 equal-width bins of the top score.

Used from the eval config by module name (TFMA imports this module in its workers).
"""

from collections.abc import Iterable

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

from sentence_tfx.components.trainer.calibration import ECE_BINS

MACRO_F1 = "macro_f1"
EXPECTED_CALIBRATION_ERROR = "expected_calibration_error"
PER_CLASS = ("precision_at_argmax", "recall_at_argmax", "f1_at_argmax")
_COUNTS = "_argmax_counts"


class _Counts:
    """confusion[label, argmax] and, per bin of the top score, examples, summed top scores and correct argmaxes."""

    def __init__(self, classes: int):
        self.confusion = np.zeros((classes, classes))
        self.bins = np.zeros((3, ECE_BINS))


class _CountsCombiner(beam.CombineFn):
    def __init__(self, key: metric_types.MetricKey, eval_config, classes: int):
        self._key, self._eval_config, self._classes = key, eval_config, classes

    def create_accumulator(self) -> _Counts:
        return _Counts(self._classes)

    def add_input(self, counts: _Counts, element: metric_types.StandardMetricInputs) -> _Counts:
        for label, prediction, _ in metric_util.to_label_prediction_example_weight(
            element,
            eval_config=self._eval_config,
            model_name=self._key.model_name,
            output_name=self._key.output_name,
            flatten=False,
        ):
            scores = np.asarray(prediction, float).reshape(-1)
            label = np.asarray(label).reshape(-1)
            true = int(np.argmax(label)) if label.size == scores.size and label.size > 1 else int(label[0])
            top = int(np.argmax(scores))
            counts.confusion[true, top] += 1
            index = min(int(scores[top] * ECE_BINS), ECE_BINS - 1)
            counts.bins[:, index] += (1, scores[top], true == top)
        return counts

    def merge_accumulators(self, accumulators: Iterable[_Counts]) -> _Counts:
        accumulators = iter(accumulators)
        merged = next(accumulators)
        for counts in accumulators:
            merged.confusion += counts.confusion
            merged.bins += counts.bins
        return merged

    def extract_output(self, counts: _Counts) -> dict:
        return {self._key: counts}


def per_class_scores(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 of each class from confusion[label, argmax]; 0 where undefined (sklearn's rule)."""
    hits = np.diag(confusion)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(hits / confusion.sum(axis=0))
        recall = np.nan_to_num(hits / confusion.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return precision, recall, f1


def _computations(name, classes: int, eval_config=None, model_name="", output_name="", example_weighted=False):
    counts_key = metric_types.MetricKey(name=_COUNTS, model_name=model_name, output_name=output_name)

    def key(metric: str, class_id=None) -> metric_types.MetricKey:
        sub_key = metric_types.SubKey(class_id=class_id) if class_id is not None else None
        return metric_types.MetricKey(
            name=metric, model_name=model_name, output_name=output_name, sub_key=sub_key, example_weighted=False
        )

    if name == EXPECTED_CALIBRATION_ERROR:
        keys = [key(name)]

        def result(metrics):
            examples, confidence, correct = metrics[counts_key].bins
            return {keys[0]: float(np.abs(correct - confidence).sum() / max(examples.sum(), 1))}

    else:
        keys = [key(name)] + [key(metric, c) for metric in PER_CLASS for c in range(classes)]

        def result(metrics):
            scores = per_class_scores(metrics[counts_key].confusion)
            values = {key(name): float(scores[2].mean())}
            for metric, per_class in zip(PER_CLASS, scores):
                values.update({key(metric, c): float(value) for c, value in enumerate(per_class)})
            return values

    return [
        metric_types.MetricComputation(
            keys=[counts_key], preprocessors=None, combiner=_CountsCombiner(counts_key, eval_config, classes)
        ),
        metric_types.DerivedMetricComputation(keys=keys, result=result),
    ]


class MacroF1(metric_types.Metric):
    """Macro-F1 at the argmax, and each class's precision, recall and F1 at the argmax."""

    def __init__(self, classes: int, name: str = MACRO_F1):
        super().__init__(metric_util.merge_per_key_computations(_computations), classes=classes, name=name)


class ExpectedCalibrationError(metric_types.Metric):
    def __init__(self, classes: int, name: str = EXPECTED_CALIBRATION_ERROR):
        super().__init__(metric_util.merge_per_key_computations(_computations), classes=classes, name=name)


metric_types.register_metric(MacroF1)
metric_types.register_metric(ExpectedCalibrationError)
