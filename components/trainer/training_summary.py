"""What the Trainer chose and on what evidence, written beside its TensorBoard logs: the CLI's run summary and the
run report show it (the chosen epoch, the temperature, the class balance), so nobody reads Keras's epoch lines."""

import dataclasses
import json
import os

import tensorflow as tf

FILE = "training_summary.json"
IMBALANCE_WARNING = 0.1  # The summary warns when the rarest class has less than this share of the largest.


@dataclasses.dataclass(frozen=True)
class TrainingSummary:
    head: str  # linear | mlp.
    class_counts: tuple[int, ...]  # Training examples per class index (the validation split excluded).
    class_weights: tuple[float, ...]  # Loss weight per class index (all 1 without --class-weight balanced).
    validation_examples: int  # 0: no validation split; the last epoch is the model, T = 1.
    epochs_run: int  # 0: a logistic-regression head (no epochs).
    chosen_epoch: int  # 1-based: the epoch of least validation loss, whose weights were kept.
    regularization: float | None  # The logistic-regression head's C (the frozen linear head's by cross-validation).
    validation_loss: float | None
    validation_accuracy: float | None
    temperature: float
    validation_ece_before: float | None  # Expected calibration error on the validation split, before and after T.
    validation_ece_after: float | None
    # Where the Trainer's time went, in seconds: "train" (reading the examples, loading the encoder, training,
    # calibrating), "export" (the SavedModel and its warm-up requests), "eval_scores" (the eval split scored for the
    # run report). None in summaries written before it was recorded.
    phase_seconds: dict[str, float] | None = None

    @property
    def rarest_class_share(self) -> float:
        return min(self.class_counts) / max(max(self.class_counts), 1)

    @property
    def imbalanced(self) -> bool:
        return self.rarest_class_share < IMBALANCE_WARNING


def write(model_run_dir: str, summary: TrainingSummary) -> None:
    with tf.io.gfile.GFile(os.path.join(model_run_dir, FILE), "w") as file:
        file.write(json.dumps(dataclasses.asdict(summary), indent=1))


def read(model_run_dir: str) -> TrainingSummary:
    with tf.io.gfile.GFile(os.path.join(model_run_dir, FILE)) as file:
        fields = json.loads(file.read())
    return TrainingSummary(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
