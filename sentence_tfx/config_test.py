import pytest

from sentence_tfx.config import PipelineConfig, format_of


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
        ({"train_data": "a.txt"}, "cannot tell the format of a.txt"),
        ({"train_data": "a.csv", "eval_data": "data/*.txt"}, "cannot tell the format of data/\\*.txt"),
        ({"train_data": "a.csv", "bad_rows": "drop"}, "bad_rows 'drop' is not one of fail, skip"),
        ({"train_data": "a.csv", "max_bad_rows_fraction": 1.5}, "--max-bad-rows-fraction 1.5 is not between 0 and 1"),
        ({"train_data": "a.csv", "latest_spans": 0}, "--latest-spans 0 must be at least 1"),
        ({"train_data": "a.csv", "span_range": (3, 2)}, "--span-range"),
        ({"train_data": "a.csv", "mode": "distill"}, "mode 'distill'"),
        ({"train_data": "a.csv", "encoder_handle": "x"}, "both a preprocessor and an encoder"),
        ({"train_data": "a.csv", "seq_length": 2}, "no room for text"),
        ({"train_data": "a.csv", "distribution": "horovod"}, "distribution 'horovod' is not one of none, mirrored"),
    ],
)
def test_bad_settings_are_explained(fields, message):
    with pytest.raises(ValueError, match=message):
        PipelineConfig(**fields)
