import pytest

from sentence_tfx.config import PipelineConfig


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
    assert PipelineConfig(train_data="a.jsonl").data_format == "jsonl"


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"train_data": "a.txt"}, "cannot tell the format of a.txt"),
        ({"train_data": "a.csv", "mode": "distill"}, "mode 'distill'"),
        ({"train_data": "a.csv", "encoder_handle": "x"}, "both a preprocessor and an encoder"),
        ({"train_data": "a.csv", "seq_length": 2}, "no room for text"),
        ({"train_data": "a.csv", "distribution": "horovod"}, "distribution 'horovod' is not one of none, mirrored"),
    ],
)
def test_bad_settings_are_explained(fields, message):
    with pytest.raises(ValueError, match=message):
        PipelineConfig(**fields)
