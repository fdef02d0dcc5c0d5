"""The one configuration object, PipelineConfig, and the parts of it each stage receives.

A leaf module: it imports nothing of this project, so every stage, the pipeline and the CLI can share it. A stage gets
only its own settings (TransformSettings, TrainerSettings, ...), so its recorded properties, and with them TFX's cache
key, change only when a setting it uses changes.
"""

import dataclasses
import json
import os
from pathlib import Path
from typing import TypeVar

from sentence_tfx.errors import InputError

FORMATS = ("csv", "tsv", "jsonl", "tfrecord")
BAD_ROWS = ("fail", "skip")
MODES = ("frozen", "finetune")
DISTRIBUTIONS = ("none", "mirrored", "multi_worker_mirrored")  # See components/trainer/distribution.py.
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".tfrecord": "tfrecord",
    ".tfrecords": "tfrecord",
    ".gz": "tfrecord",
}


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


@dataclasses.dataclass(frozen=True)
class EvaluatorSettings(_JsonFields):
    min_accuracy: float
    max_accuracy_drop: float


Settings = TypeVar("Settings", ExampleGenSettings, TransformSettings, TrainerSettings, EvaluatorSettings)


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
    mode: str = "frozen"  # frozen: encoder weights fixed; finetune: trained with a lower learning rate.
    epochs: int | None = None  # None: fine-tuning 2; frozen, enough epochs for ~5,000 head updates (see trainer).
    batch_size: int = 32
    head_learning_rate: float = 1e-3
    encoder_learning_rate: float = 1e-4  # Measured best for MiniLM (bench/accuracy.py); BERT-base wants 2e-5-5e-5.
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    hidden_units: int = 256
    dropout: float = 0.1
    max_train_steps: int | None = None  # Caps fine-tuning steps (CPU budgets); None = full epochs.
    distribution: str = "none"  # mirrored: all local GPUs; multi_worker_mirrored: the TF_CONFIG cluster.
    # Evaluation gate.
    min_accuracy: float = 0.5
    max_accuracy_drop: float = 0.0  # Allowed drop against the latest blessed model.
    # Where things go.
    pipeline_name: str = "sentence-tfx"
    pipeline_root: str = "runs/pipeline"
    metadata_path: str | None = None  # SQLite file; None: see sqlite_path.
    metadata_mysql: str = ""  # USER@HOST:PORT/DATABASE: ML Metadata on a MySQL/MariaDB server instead of SQLite.
    serving_dir: str = "runs/serving"
    beam_pipeline_args: tuple[str, ...] = ("--runner=FnApiRunner",)  # DirectRunner would try to download Prism.
    enable_cache: bool = True  # TFX caching: a rerun reuses every step whose inputs and settings are unchanged.

    def __post_init__(self):
        if self.data_format is None:  # Folders and globs of any extension are checked file by file when they are read.
            for path in filter(None, (self.train_data, self.eval_data)):
                suffix = "" if path.endswith("/") else Path(path).suffix
                if suffix and not set("*?[{") & set(suffix) and not format_of(path):
                    raise InputError(
                        f"cannot tell the format of {path} from its extension; pass --format ({'|'.join(FORMATS)})"
                    )
        elif self.data_format not in FORMATS:
            raise InputError(f"format {self.data_format!r} is not one of {', '.join(FORMATS)}")
        if self.bad_rows not in BAD_ROWS:
            raise InputError(f"bad_rows {self.bad_rows!r} is not one of {', '.join(BAD_ROWS)}")
        if not 0 <= self.max_bad_rows_fraction <= 1:
            raise InputError(f"--max-bad-rows-fraction {self.max_bad_rows_fraction} is not between 0 and 1")
        if self.latest_spans < 1:
            raise InputError(f"--latest-spans {self.latest_spans} must be at least 1")
        if self.span_range and (len(self.span_range) != 2 or not 0 <= self.span_range[0] <= self.span_range[1]):
            raise InputError(f"--span-range {self.span_range} must be FIRST-LAST with 0 <= FIRST <= LAST")
        if self.mode not in MODES:
            raise InputError(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.distribution not in DISTRIBUTIONS:
            raise InputError(f"distribution {self.distribution!r} is not one of {', '.join(DISTRIBUTIONS)}")
        if bool(self.preprocessor_handle) != bool(self.encoder_handle):
            raise InputError("give both a preprocessor and an encoder handle, or neither (default encoder)")
        if self.seq_length < 3:
            raise InputError(f"seq_length {self.seq_length} leaves no room for text between [CLS] and [SEP]")
        if self.epochs is None and self.mode == "finetune":
            object.__setattr__(self, "epochs", 2)

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
