"""What the run report says, computed from plain arrays: the data's shape (labels, token lengths, empty texts,
duplicates, train/eval leakage) and the model's behaviour on the eval split (confusion, per-class scores,
calibration, its most confident mistakes). No TFX here: the executor reads the artifacts, these functions count."""

import collections
import dataclasses

import numpy as np

from sentence_tfx.components.evaluator import argmax_metrics
from sentence_tfx.components.trainer import calibration

RELIABILITY_BINS = calibration.ECE_BINS  # Equal-width bins of the top score.
MAX_LISTED = 10  # Duplicate and leakage examples shown.
CONFIDENT_MISTAKES = 20


@dataclasses.dataclass(frozen=True)
class Split:
    """One split's examples as Transform wrote them: the text, the label's class index, the tokens the encoder sees
    and whether the text was cut at the sequence length."""

    texts: list[str]
    labels: np.ndarray
    token_counts: np.ndarray
    truncated: np.ndarray


@dataclasses.dataclass(frozen=True)
class Repeated:
    text: str
    count: int
    labels: tuple[str, ...]  # The distinct labels it carries; more than one is a contradiction.


@dataclasses.dataclass(frozen=True)
class Leaked:
    text: str
    eval_label: str
    train_labels: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class DataFacts:
    rows: dict[str, int]
    label_counts: dict[str, list[int]]  # Per split, in class index order.
    truncated_share: dict[str, float]
    empty_texts: dict[str, int]
    duplicate_rows: int  # Train rows whose exact text came earlier in train.
    contradicting_texts: int  # Texts in train with more than one label.
    most_repeated: list[Repeated]
    leaked_rows: int  # Eval rows whose exact text is in train.
    leaked: list[Leaked]


def data_facts(splits: dict[str, Split], label_names: tuple[str, ...], train: str = "train") -> DataFacts:
    names = np.asarray(label_names, dtype=object)
    by_text: dict[str, list[int]] = collections.defaultdict(list)
    for text, label in zip(splits[train].texts, splits[train].labels):
        by_text[text].append(int(label))
    repeated = sorted(
        (
            Repeated(text, len(labels), tuple(names[sorted(set(labels))]))
            for text, labels in by_text.items()
            if len(labels) > 1
        ),
        key=lambda r: (-r.count, r.text),
    )
    leaked = [
        Leaked(text, str(names[label]), tuple(names[sorted(set(by_text[text]))]))
        for name, split in splits.items()
        if name != train
        for text, label in zip(split.texts, split.labels)
        if text in by_text
    ]
    return DataFacts(
        rows={name: len(split.texts) for name, split in splits.items()},
        label_counts={
            name: np.bincount(split.labels, minlength=len(label_names)).tolist() for name, split in splits.items()
        },
        truncated_share={
            name: float(np.mean(split.truncated)) if len(split.texts) else 0.0 for name, split in splits.items()
        },
        empty_texts={name: sum(not text.strip() for text in split.texts) for name, split in splits.items()},
        duplicate_rows=sum(r.count - 1 for r in repeated),
        contradicting_texts=sum(len(r.labels) > 1 for r in repeated),
        most_repeated=repeated[:MAX_LISTED],
        leaked_rows=len(leaked),
        leaked=leaked[:MAX_LISTED],
    )


@dataclasses.dataclass(frozen=True)
class Mistake:
    text: str
    label: str
    predicted: str
    score: float  # The top score, the predicted class's.


@dataclasses.dataclass(frozen=True)
class PredictionFacts:
    """The candidate model on the eval split, at the top score (argmax)."""

    examples: int
    accuracy: float
    confusion: np.ndarray  # [true, predicted] counts.
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    macro_f1: float
    bin_confidence: np.ndarray  # Per non-empty bin of the top score: its mean,
    bin_accuracy: np.ndarray  # the share of correct predictions,
    bin_counts: np.ndarray  # and how many examples.
    expected_calibration_error: float
    confident_mistakes: list[Mistake]


def prediction_facts(
    scores: np.ndarray, labels: np.ndarray, texts: list[str], label_names: tuple[str, ...]
) -> PredictionFacts:
    classes = len(label_names)
    predicted = scores.argmax(axis=1)
    top = scores.max(axis=1)
    correct = predicted == labels
    confusion = np.zeros((classes, classes), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    precision, recall, f1 = argmax_metrics.per_class_scores(confusion)
    confidence, accuracy, counts = calibration.reliability_bins(scores, labels)
    mistakes = np.flatnonzero(~correct)
    mistakes = mistakes[np.argsort(-top[mistakes], kind="stable")][:CONFIDENT_MISTAKES]
    return PredictionFacts(
        examples=len(labels),
        accuracy=float(correct.mean()) if len(labels) else 0.0,
        confusion=confusion,
        precision=precision,
        recall=recall,
        f1=f1,
        macro_f1=float(f1.mean()),
        bin_confidence=confidence,
        bin_accuracy=accuracy,
        bin_counts=counts,
        expected_calibration_error=calibration.expected_calibration_error(scores, labels),
        confident_mistakes=[
            Mistake(texts[i], label_names[labels[i]], label_names[predicted[i]], float(top[i])) for i in mistakes
        ],
    )


@dataclasses.dataclass(frozen=True)
class TrainingLog:
    """What Keras's TensorBoard callback recorded: per-epoch scalars, optimizer steps, the time fit took."""

    history: dict[str, dict[str, list[tuple[int, float]]]]  # {tag: {"train"|"validation": [(epoch, value)]}}
    steps: int | None  # The optimizer's iterations at the last validation (its `*_vs_iterations` scalars).
    seconds: float | None  # From the train log's creation (the start of fit) to its last event.
