import math

import pytest

from sentence_tfx.config import PipelineConfig, format_of
from sentence_tfx.errors import InputError


def test_json_round_trip_keeps_every_field():
    config = PipelineConfig(
        train_data="a.tsv",
        label_names=("neg", "pos"),
        mode="finetune",
        beam_pipeline_args=("--runner=FnApiRunner", "--direct_num_workers=2"),
    )
    assert PipelineConfig.from_json(config.to_json()) == config


def test_defaults_follow_the_mode_and_root():
    assert PipelineConfig(train_data="a.csv").epochs is None  # The trainer sizes it to the data.
    assert PipelineConfig(train_data="a.csv", mode="finetune").epochs == 2
    assert PipelineConfig(train_data="a.jsonl", pipeline_root="/r").sqlite_path == "/r/metadata.sqlite"
    assert PipelineConfig(train_data="a.jsonl", pipeline_root="gs://b/r").sqlite_path is None  # Orchestrator's MLMD.


def test_each_file_has_its_own_format_unless_one_is_given():
    assert PipelineConfig(train_data="a.jsonl", eval_data="b.csv").data_format is None
    assert [format_of(p) for p in ("a.CSV", "b.tsv", "c.json", "d.tfrecords", "e.tfrecord.gz", "f.txt")] == [
        "csv",
        "tsv",
        "jsonl",
        "tfrecord",
        "tfrecord",
        None,
    ]
    for folder_or_glob in ("data/train", "data/v1.2/", "data/part-*", "gs://b/{SPAN}/*.*", "data/{YYYY}{MM}{DD}"):
        PipelineConfig(train_data=folder_or_glob)  # Their files' extensions are checked when they are read.


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"train_data": ""}, "--train: give the training data file"),
        ({"train_data": "a.txt"}, "--train a.txt: cannot tell the format from its extension; pass --format"),
        ({"train_data": "a.csv", "eval_data": "data/*.txt"}, "--eval data/\\*.txt: cannot tell the format"),
        ({"train_data": "a.csv", "bad_rows": "drop"}, "--bad-rows 'drop' is not one of fail, skip"),
        (
            {"train_data": "a.csv", "max_bad_rows_fraction": 1.5},
            r"--max-bad-rows-fraction 1.5: must be a number in \[0, 1\]",
        ),
        ({"train_data": "a.csv", "latest_spans": 0}, "--latest-spans 0: must be an integer ≥ 1"),
        ({"train_data": "a.csv", "span_range": (3, 2)}, "--span-range"),
        ({"train_data": "a.csv", "data_format": "xml"}, "--format 'xml' is not one of csv, tsv"),
        ({"train_data": "a.csv", "mode": "distill"}, "--mode 'distill' is not one of frozen, finetune"),
        ({"train_data": "a.csv", "distribution": "horovod"}, "--distribution 'horovod' is not one of none, mirrored"),
        ({"train_data": "a.csv", "encoder_handle": "x"}, "--encoder x needs --preprocessor too"),
        ({"train_data": "a.csv", "preprocessor_handle": "x"}, "--preprocessor needs --encoder too"),
        ({"train_data": "a.csv", "seq_length": 2}, r"--seq-length 2: must be an integer ≥ 3 \(\[CLS\] and \[SEP\]"),
        ({"train_data": "a.csv", "seq_length": 64.0}, "--seq-length 64.0: must be an integer"),
        ({"train_data": "a.csv", "epochs": 0}, "--epochs 0: must be an integer ≥ 1"),
        ({"train_data": "a.csv", "epochs": -1}, "--epochs -1: must be an integer ≥ 1"),
        ({"train_data": "a.csv", "epochs": True}, "--epochs True: must be an integer ≥ 1"),
        ({"train_data": "a.csv", "batch_size": 0}, "--batch-size 0: must be an integer ≥ 1"),
        ({"train_data": "a.csv", "max_train_steps": 0}, "--max-train-steps 0: must be an integer ≥ 1"),
        ({"train_data": "a.csv", "hidden_units": 0}, "hidden_units 0: must be an integer ≥ 1"),
        ({"train_data": "a.csv", "head_learning_rate": 0.0}, "--head-lr 0.0: must be a number > 0"),
        ({"train_data": "a.csv", "encoder_learning_rate": math.nan}, "--encoder-lr nan: must be a number > 0"),
        ({"train_data": "a.csv", "head_learning_rate": math.inf}, "--head-lr inf: must be a number > 0"),
        ({"train_data": "a.csv", "warmup_fraction": 1.5}, r"warmup_fraction 1.5: must be a number in \[0, 1\]"),
        ({"train_data": "a.csv", "weight_decay": -0.1}, "weight_decay -0.1: must be a number ≥ 0"),
        ({"train_data": "a.csv", "dropout": 1.0}, r"dropout 1.0: must be a number in \[0, 1\)"),
        ({"train_data": "a.csv", "min_accuracy": 1.01}, r"--min-accuracy 1.01: must be a number in \[0, 1\]"),
        ({"train_data": "a.csv", "max_accuracy_drop": -0.5}, r"--max-accuracy-drop -0.5: must be a number in \[0, 1\]"),
        ({"train_data": "a.csv", "text_column": "label"}, "--text-column and --label-column are both 'label'"),
        ({"train_data": "a.csv", "label_column": ""}, "--label-column: must name a column"),
        ({"train_data": "a.csv", "label_names": ("pos", "", "neg")}, "--labels 'pos,,neg': label 2 is empty"),
        ({"train_data": "a.csv", "label_names": ("pos", "neg", "pos")}, "--labels 'pos,neg,pos': 'pos' given more"),
        ({"train_data": "a.csv", "label_names": ("pos",)}, "--labels 'pos': a classifier needs at least 2 classes"),
        ({"train_data": "a.csv", "label_names": ("pos ", "neg")}, "'pos ' has surrounding whitespace.*write 'pos'"),
        ({"train_data": "a.csv", "metadata_path": "m.db", "metadata_mysql": "u@h:1/d"}, "give one"),
        ({"train_data": "a.csv", "pipeline_name": ""}, "--pipeline-name: must not be empty"),
        ({"train_data": "a.csv", "pipeline_name": "p" * 64}, "at most 63 characters"),
    ],
)
def test_bad_settings_are_explained(fields, message):
    with pytest.raises(InputError, match=message):
        PipelineConfig(**fields)


def test_boundaries_themselves_are_allowed():
    boundaries = {
        "seq_length": 3,
        "epochs": 1,
        "batch_size": 1,
        "max_train_steps": 1,
        "hidden_units": 1,
        "head_learning_rate": 1e-9,
        "warmup_fraction": 1.0,
        "weight_decay": 0.0,
        "dropout": 0.0,
        "min_accuracy": 1.0,
        "max_accuracy_drop": 1.0,
        "label_names": ("a", "b"),
    }
    config = PipelineConfig(train_data="a.csv", **boundaries)
    assert {field: getattr(config, field) for field in boundaries} == boundaries
