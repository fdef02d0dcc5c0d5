"""The pre-flight check passes what a run can use, without leaving anything behind; what it refuses is in the corpus,
tests/bad_inputs."""

import os
from pathlib import Path

import tensorflow as tf

from sentence_tfx.config import PipelineConfig
from sentence_tfx.pipeline import preflight

TRAIN = Path(__file__).resolve().parents[1] / "tests" / "bad_inputs" / "files" / "train.csv"


def test_a_usable_run_passes_says_how_each_file_is_read_and_writes_nothing(tiny_export, tmp_path, caplog):
    eval_data = tmp_path / "eval.csv"
    eval_data.write_text("text,label\nfine,pos\n")
    config = PipelineConfig(
        train_data=str(TRAIN),
        eval_data=str(eval_data),
        preprocessor_handle=str(tiny_export / "preprocessor"),
        encoder_handle=str(tiny_export / "encoder"),
        seq_length=512,
        pipeline_root=str(tmp_path / "not" / "yet" / "root"),
        serving_dir=str(tmp_path / "serving"),
        metadata_path=str(tmp_path / "metadata.sqlite"),
    )
    with caplog.at_level("INFO", logger=preflight.__name__):
        preflight.check(config)
    assert caplog.messages == [f"--train {TRAIN}: read as csv", f"--eval {eval_data}: read as csv"]
    assert os.listdir(tmp_path) == ["eval.csv"]  # The probes are gone and no folder was made.


def test_remote_data_is_looked_up_through_tf_io_gfile(tmp_path):
    tf.io.gfile.makedirs("ram://preflight")
    for split in ("train", "eval"):
        with tf.io.gfile.GFile(f"ram://preflight/{split}.csv", "w") as data:
            data.write("text,label\na,pos\nb,neg\n")
    preflight.check(
        PipelineConfig(
            train_data="ram://preflight/train.csv",
            eval_data="ram://preflight/eval.csv",
            encoder_handle="https://tfhub.dev/some/bert/encoder",  # Not fetched, so its positions are not known.
            preprocessor_handle="https://tfhub.dev/some/bert/preprocessor",
            seq_length=100_000,
            pipeline_root=str(tmp_path / "root"),
            serving_dir=str(tmp_path / "serving"),
        )
    )


def test_encoder_positions_come_from_the_position_embedding_table(tiny_export):
    assert preflight.encoder_positions(tiny_export / "encoder") == 512
    assert preflight.encoder_positions(tiny_export / "preprocessor") is None  # No such table: nothing is said.
