"""The one configuration object, PipelineConfig, and the parts of it each stage receives.

A leaf module: it imports nothing of this project, so every stage, the pipeline and the CLI can share it. A stage gets
only its own settings (TransformSettings, TrainerSettings, ...), so its recorded properties, and with them TFX's cache
key, change only when a setting it uses changes.
"""

import collections
import dataclasses
import json
import math
import os
from pathlib import Path
from typing import TypeVar

from sentence_tfx.errors import InputError

FORMATS = ("csv", "tsv", "jsonl", "tfrecord")
BAD_ROWS = ("fail", "skip")
MODES = ("frozen", "finetune", "setfit")
ENCODER_LEARNING_RATES = {"finetune": 1e-4, "setfit": 2e-5}  # finetune: measured best for MiniLM; setfit: its own.
CLASS_WEIGHTS = ("none", "balanced")
HEADS = ("linear", "mlp")
DEFAULT_HEADS = {"frozen": "linear", "finetune": "mlp", "setfit": "linear"}  # frozen: measured, bench/frozen_head.py.
BLESS_METRICS = ("accuracy", "macro_f1")
DISTRIBUTIONS = ("none", "mirrored", "multi_worker_mirrored")  # See components/trainer/distribution.py.
MAX_PIPELINE_NAME_LENGTH = 63  # tfx.dsl.Pipeline refuses longer names.
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".tfrecord": "tfrecord",
    ".tfrecords": "tfrecord",
    ".gz": "tfrecord",
}


# The CLI option of each field whose option is not --field-name; fields without one are named as they are.
_OPTIONS = {
    "train_data": "--train",
    "eval_data": "--eval",
    "data_format": "--format",
    "label_names": "--labels",
    "preprocessor_handle": "--preprocessor",
    "encoder_handle": "--encoder",
    "head_learning_rate": "--head-lr",
    "encoder_learning_rate": "--encoder-lr",
    "beam_pipeline_args": "--beam-args",
    "enable_cache": "--cache",
}
FIELDS_WITHOUT_OPTION = ("warmup_fraction", "weight_decay", "hidden_units", "dropout")


def option(field: str) -> str:
    """How messages name a PipelineConfig field: as the CLI option that sets it (pipeline/cli.py; a test checks)."""
    if field in FIELDS_WITHOUT_OPTION:
        return field
    return _OPTIONS.get(field, "--" + field.replace("_", "-"))


@dataclasses.dataclass(frozen=True)
class _Range:
    """Allowed values of a numeric field; NaN is in no range, infinity only in none with an infinite bound."""

    low: float
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    optional: bool = False  # None is allowed (it means "the default").
    why: str = ""

    def __contains__(self, value) -> bool:
        above = self.low < value if self.low_open else self.low <= value
        below = value < self.high if self.high_open or math.isinf(self.high) else value <= self.high
        return above and below

    def __str__(self) -> str:
        kind = "an integer" if self.integer else "a number"
        if math.isinf(self.high):
            return f"{kind} {'>' if self.low_open else '≥'} {self.low}"
        return f"{kind} in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"


_BOUNDS = {
    "seq_length": _Range(3, integer=True, why="[CLS] and [SEP] take 2 of the tokens"),
    "epochs": _Range(1, integer=True, optional=True),
    "batch_size": _Range(1, integer=True),
    "max_train_steps": _Range(1, integer=True, optional=True),
    "hidden_units": _Range(1, integer=True),
    "head_learning_rate": _Range(0, low_open=True),
    "encoder_learning_rate": _Range(0, low_open=True, optional=True),
    "warmup_fraction": _Range(0, 1),
    "weight_decay": _Range(0),
    "dropout": _Range(0, 1, high_open=True),
    "min_accuracy": _Range(0, 1),
    "max_accuracy_drop": _Range(0, 1),
    "max_label_drift": _Range(0, 1),
    "max_token_length_drift": _Range(0, 1),
    "max_bad_rows_fraction": _Range(0, 1),
    "latest_spans": _Range(1, integer=True),
    "setfit_iterations": _Range(1, integer=True),
    "setfit_epochs": _Range(1, integer=True),
    "validation_fraction": _Range(0, 0.5, why="0: no validation split; most of train must train"),
}


def _check_bounds(field: str, value, allowed: _Range) -> None:
    if value is None and allowed.optional:
        return
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or (allowed.integer and not isinstance(value, int)) or value not in allowed:
        raise InputError(f"{option(field)} {value}: must be {allowed}" + (f" ({allowed.why})" if allowed.why else ""))


def _check_label_names(labels: tuple[str, ...]) -> None:
    """Given label names: at least two, none empty or repeated, none with whitespace the data would not have."""
    if not labels:
        return  # The sorted labels of the train data.
    given = f"{option('label_names')} {','.join(labels)!r}"
    for index, label in enumerate(labels, 1):
        if not label.strip():
            raise InputError(f"{given}: label {index} is empty")
        if label != label.strip():
            raise InputError(
                f"{given}: {label!r} has surrounding whitespace, which labels read from the data never have "
                f"(it is stripped); write {label.strip()!r}"
            )
    repeated = [label for label, count in collections.Counter(labels).items() if count > 1]
    if repeated:
        raise InputError(f"{given}: {', '.join(map(repr, repeated))} given more than once")
    if len(labels) < 2:
        raise InputError(f"{given}: a classifier needs at least 2 classes")


def format_of(path: str) -> str | None:
    """The format a file's extension names, None if it names none."""
    return _EXTENSIONS.get(Path(path).suffix.lower())


class _JsonFields:
    """JSON round trip of a frozen dataclass of plain fields (tuples come back from JSON lists)."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str):
        fields = json.loads(text)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


@dataclasses.dataclass(frozen=True)
class ExampleGenSettings(_JsonFields):
    train_data: str
    eval_data: str | None
    data_format: str | None
    text_column: str
    label_column: str
    bad_rows: str
    max_bad_rows_fraction: float
    latest_spans: int
    span_range: tuple[int, ...]


# The stages after validation take the run's label names from the schema artifact, not from their settings: they may
# be known only at run time (see schemas.CuratedSchemaGen).
@dataclasses.dataclass(frozen=True)
class TransformSettings(_JsonFields):
    seq_length: int
    preprocessor_handle: str


@dataclasses.dataclass(frozen=True)
class EmbeddingSettings(_JsonFields):
    encoder_handle: str
    seq_length: int


@dataclasses.dataclass(frozen=True)
class TrainerSettings(_JsonFields):
    seq_length: int
    encoder_handle: str
    mode: str
    epochs: int | None
    batch_size: int
    head_learning_rate: float
    encoder_learning_rate: float
    warmup_fraction: float
    weight_decay: float
    hidden_units: int
    dropout: float
    max_train_steps: int | None
    distribution: str
    validation_fraction: float
    class_weight: str
    head: str
    setfit_iterations: int
    setfit_epochs: int


@dataclasses.dataclass(frozen=True)
class EvaluatorSettings(_JsonFields):
    bless_metric: str
    min_accuracy: float
    max_accuracy_drop: float


@dataclasses.dataclass(frozen=True)
class ReportSettings(_JsonFields):
    """What the run report (components/report/) states about the run's set-up: data, encoder, training, gate."""

    train_data: str
    eval_data: str | None
    encoder_handle: str
    seq_length: int
    mode: str  # Epochs and steps are read from the Trainer's logs: what ran, not what was asked.
    batch_size: int
    head_learning_rate: float
    encoder_learning_rate: float
    bless_metric: str
    min_accuracy: float
    max_accuracy_drop: float


Settings = TypeVar(
    "Settings",
    ExampleGenSettings,
    TransformSettings,
    EmbeddingSettings,
    TrainerSettings,
    EvaluatorSettings,
    ReportSettings,
)


@dataclasses.dataclass(frozen=True)
class PipelineConfig(_JsonFields):
    # Data: canonical features `text` and `label` are taken from these columns. Paths are files, globs, folders, with
    # or without TFX span specs (components/example_gen/data_paths.py); nothing reads them before the pipeline runs.
    train_data: str
    eval_data: str | None = None  # None: a deterministic hash split of train_data (4:1).
    data_format: str | None = None  # csv | tsv | jsonl | tfrecord; None: each file's own extension.
    text_column: str = "text"
    label_column: str = "label"
    label_names: tuple[str, ...] = ()  # Empty: the train split's distinct labels, found at run time (schemas).
    bad_rows: str = "fail"  # fail: the first bad row stops the run; skip: bad rows go to the quarantine artifact...
    max_bad_rows_fraction: float = 0.001  # ... and the run fails if more than this share of a split's rows are bad.
    latest_spans: int = 1  # With span specs: train on the latest N spans.
    span_range: tuple[int, ...] = ()  # (FIRST, LAST): these spans instead.
    # Encoder: a TF Hub-style BERT preprocessor + encoder pair (local path or URL); empty = converted MiniLM.
    preprocessor_handle: str = ""
    encoder_handle: str = ""
    seq_length: int = 128
    # Training.
    # frozen: encoder weights fixed; finetune: trained with a lower learning rate; setfit: trained on pairs of texts,
    # then a logistic-regression head (components/trainer/setfit.py).
    mode: str = "frozen"
    epochs: int | None = None  # None: fine-tuning 2; frozen, enough epochs for ~5,000 head updates (see trainer).
    batch_size: int = 32  # setfit: pairs per batch.
    head_learning_rate: float = 1e-3
    # None: ENCODER_LEARNING_RATES of the mode. finetune: 1e-4 measured best for MiniLM (bench/accuracy.py); BERT-base
    # wants 2e-5-5e-5.
    encoder_learning_rate: float | None = None
    setfit_iterations: int = 20  # setfit's num_iterations: iterations × texts pairs of each kind, 2 × in all.
    setfit_epochs: int = 1
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    # None: DEFAULT_HEADS of the mode. linear: logistic regression, C by cross-validation (frozen) or trained with the
    # encoder (finetune); mlp: hidden_units relu units, dropout, softmax.
    head: str | None = None
    hidden_units: int = 256
    dropout: float = 0.1
    max_train_steps: int | None = None  # Caps fine-tuning steps (CPU budgets); None = full epochs.
    validation_fraction: float = 0.1  # Held out of train (hash of the text) to pick the epoch and the temperature.
    class_weight: str = "none"  # balanced: each class weighs in the loss as if the classes were equally common.
    distribution: str = "none"  # mirrored: all local GPUs; multi_worker_mirrored: the TF_CONFIG cluster.
    # Drift against the last run whose data passed validation (none: not checked).
    max_label_drift: float = 0.1  # L-infinity distance between the train splits' label distributions.
    max_token_length_drift: float = 0.1  # Jensen-Shannon divergence between the token-length distributions.
    # Evaluation gate, on the eval split: the bless metric (accuracy or macro-F1 at the top class) must reach
    # min_accuracy and not fall more than max_accuracy_drop below the latest pushed model's.
    bless_metric: str = "accuracy"
    min_accuracy: float = 0.5
    max_accuracy_drop: float = 0.0
    # Where things go.
    pipeline_name: str = "sentence-tfx"
    pipeline_root: str = "runs/pipeline"
    metadata_path: str | None = None  # SQLite file; None: see sqlite_path.
    metadata_mysql: str = ""  # USER@HOST:PORT/DATABASE: ML Metadata on a MySQL/MariaDB server instead of SQLite.
    serving_dir: str = "runs/serving"
    beam_pipeline_args: tuple[str, ...] = ("--runner=FnApiRunner",)  # DirectRunner would try to download Prism.
    enable_cache: bool = True  # TFX caching: a rerun reuses every step whose inputs and settings are unchanged.

    def __post_init__(self):
        """Checks every value before any work starts; an InputError names the option and what it must be."""
        if not self.train_data:
            raise InputError(f"{option('train_data')}: give the training data file")
        if self.data_format is None:  # Each file's own extension; folders and globs are checked file by file when read.
            for field in ("train_data", "eval_data"):
                path = getattr(self, field)
                suffix = "" if not path or path.endswith("/") else Path(path).suffix
                if suffix and not set("*?[{") & set(suffix) and not format_of(path):
                    raise InputError(
                        f"{option(field)} {path}: cannot tell the format from its extension; pass "
                        f"{option('data_format')} ({'|'.join(FORMATS)})"
                    )
        for field, choices in (
            ("data_format", (None, *FORMATS)),
            ("bad_rows", BAD_ROWS),
            ("mode", MODES),
            ("class_weight", CLASS_WEIGHTS),
            ("head", (None, *HEADS)),
            ("bless_metric", BLESS_METRICS),
            ("distribution", DISTRIBUTIONS),
        ):
            if getattr(self, field) not in choices:
                raise InputError(
                    f"{option(field)} {getattr(self, field)!r} is not one of {', '.join(c for c in choices if c)}"
                )
        if self.encoder_handle and not self.preprocessor_handle:
            raise InputError(
                f"{option('encoder_handle')} {self.encoder_handle} needs {option('preprocessor_handle')} too, unless "
                "it is an export-encoder directory (one holding preprocessor/ and encoder/)"
            )
        if self.preprocessor_handle and not self.encoder_handle:
            raise InputError(f"{option('preprocessor_handle')} needs {option('encoder_handle')} too")
        for field, allowed in _BOUNDS.items():
            _check_bounds(field, getattr(self, field), allowed)
        self._check_columns()
        _check_label_names(self.label_names)
        if self.metadata_path and self.metadata_mysql:
            raise InputError(
                f"{option('metadata_path')} and {option('metadata_mysql')} both say where ML Metadata lives; give one"
            )
        if not self.pipeline_name:
            raise InputError(f"{option('pipeline_name')}: must not be empty")
        if self.span_range and (len(self.span_range) != 2 or not 0 <= self.span_range[0] <= self.span_range[1]):
            raise InputError(f"{option('span_range')} {self.span_range} must be FIRST-LAST with 0 <= FIRST <= LAST")
        if len(self.pipeline_name) > MAX_PIPELINE_NAME_LENGTH:
            raise InputError(
                f"{option('pipeline_name')} {self.pipeline_name!r}: at most {MAX_PIPELINE_NAME_LENGTH} characters "
                f"(TFX's limit), got {len(self.pipeline_name)}"
            )
        if self.epochs is None and self.mode == "finetune":
            object.__setattr__(self, "epochs", 2)
        if self.encoder_learning_rate is None:
            object.__setattr__(self, "encoder_learning_rate", ENCODER_LEARNING_RATES.get(self.mode, 1e-4))
        if self.head is None:
            object.__setattr__(self, "head", DEFAULT_HEADS[self.mode])
        if self.mode == "setfit" and self.head != "linear":
            raise InputError(f"{option('mode')} setfit's head is a logistic regression: drop {option('head')} mlp")
        if self.mode == "setfit" and self.distribution != "none":
            raise InputError(f"{option('mode')} setfit trains on one worker: drop {option('distribution')}")

    def _check_columns(self):
        for field in ("text_column", "label_column"):
            if not getattr(self, field):
                raise InputError(f"{option(field)}: must name a column, got an empty name")
        if self.text_column == self.label_column:
            raise InputError(
                f"{option('text_column')} and {option('label_column')} are both {self.text_column!r}: the model "
                "would learn the label from the label"
            )

    @property
    def sqlite_path(self) -> str | None:
        """metadata_path, else <pipeline_root>/metadata.sqlite; None for a remote root (the orchestrator's own ML
        Metadata). Derived on use, so a config copied with another root gets its own store."""
        if self.metadata_path or "://" in self.pipeline_root:
            return self.metadata_path
        return os.path.join(self.pipeline_root, "metadata.sqlite")

    def settings(self, settings_class: type[Settings]) -> Settings:
        """The part of this config one stage needs (its fields share their names with this config's)."""
        return settings_class(**{field.name: getattr(self, field.name) for field in dataclasses.fields(settings_class)})
