"""The ExampleGen in a real (one-component) TFX pipeline: splits, exact content, and bad data failing the run."""

import json
import re

import pytest
import tensorflow as tf
from ml_metadata.metadata_store import metadata_store
from tfx import v1 as tfx

from sentence_tfx.components.example_gen import component, text_formats
from sentence_tfx.config import ExampleGenSettings, PipelineConfig


def _run(tmp_path, **data) -> dict[str, list[tuple[str | None, str]]]:
    """Runs the pipeline; returns each output split's (text, label) pairs, read back from the Examples artifact."""
    config = PipelineConfig(pipeline_root=str(tmp_path / "root"), **data)
    connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(config.sqlite_path)
    tfx.orchestration.LocalDagRunner().run(
        tfx.dsl.Pipeline(
            pipeline_name="example-gen-test",
            pipeline_root=config.pipeline_root,
            components=[
                component.create_example_gen(config.train_data, config.eval_data, config.settings(ExampleGenSettings))
            ],
            metadata_connection_config=connection,
            beam_pipeline_args=list(config.beam_pipeline_args),
        )
    )
    [examples] = metadata_store.MetadataStore(connection).get_artifacts_by_type("Examples")
    return {
        split: [
            _pair(record)
            for record in tf.data.TFRecordDataset(
                tf.io.gfile.glob(f"{examples.uri}/Split-{split}/*.gz"), compression_type="GZIP"
            ).as_numpy_iterator()
        ]
        for split in json.loads(examples.properties["split_names"].string_value)
    }


def _pair(serialized: bytes) -> tuple[str | None, str]:
    features = tf.train.Example.FromString(serialized).features.feature
    assert sorted(features) == ["label", "text"]
    [label] = features["label"].bytes_list.value
    text = features["text"].bytes_list.value
    return (text[0].decode() if text else None), label.decode()


def test_separate_train_and_eval_csv_files(tmp_path):
    train = tmp_path / "data" / "train" / "train.csv"
    train.parent.mkdir(parents=True)
    train.write_text('id,review,stars\n1,"great, ""really"" great",5\n2,"two\nlines",1\n3,Ünïcödé 😀 日本,5\n4,  ,3\n')
    evaluation = tmp_path / "data" / "eval [v2]" / "e*.csv"  # Glob characters must match only themselves.
    evaluation.parent.mkdir()
    evaluation.write_text("review,stars\nfine,4\n")
    (evaluation.parent / "ex.csv").write_text("review,stars\nnot this file,1\n")

    splits = _run(
        tmp_path, train_data=str(train), eval_data=str(evaluation), text_column="review", label_column="stars"
    )
    assert sorted(splits["train"], key=str) == sorted(
        [('great, "really" great', "5"), ("two\nlines", "1"), ("Ünïcödé 😀 日本", "5"), (None, "3")], key=str
    )
    assert splits["eval"] == [("fine", "4")]


def test_files_on_a_remote_filesystem(tmp_path):
    """URIs are read through TensorFlow's filesystems (gs://, s3://, ...); ram:// stands in for them here."""
    tf.io.gfile.makedirs("ram://bucket/reviews/eval")
    for path, content in (
        ("ram://bucket/reviews/train.tsv", "text\tlabel\nsplendid\tpos\ndire\tneg\n"),
        ("ram://bucket/reviews/eval/eval.tsv", "\ufefftext\tlabel\nfine\tpos\n"),
    ):
        with tf.io.gfile.GFile(path, "w") as out:
            out.write(content)
    splits = _run(tmp_path, train_data="ram://bucket/reviews/train.tsv", eval_data="ram://bucket/reviews/eval/eval.tsv")
    assert splits == {"train": [("splendid", "pos"), ("dire", "neg")], "eval": [("fine", "pos")]}


def test_one_jsonl_file_is_hash_split_4_to_1(tmp_path):
    rows = [(f"sentence {i} – ünï", str(i % 3)) for i in range(200)]
    path = tmp_path / "all.jsonl"
    path.write_text(
        "".join(
            json.dumps({"text": text, "label": int(label), "id": i}, ensure_ascii=False) + "\n"
            for i, (text, label) in enumerate(rows)
        )
    )

    splits = _run(tmp_path, train_data=str(path))
    assert sorted(splits["train"] + splits["eval"]) == sorted(rows)
    assert 20 <= len(splits["eval"]) <= 60


@pytest.mark.parametrize(
    "content, expected",
    [("text,label\nfine,a\nno label,\n", ":3: field 'label': label is empty"), (None, " matches no files")],
    ids=["bad label", "missing file"],
)
def test_bad_data_fails_the_run_with_the_input_error(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    # Beam re-raises the executor's exception as is, adding "[while running 'InputToRecord/Read']".
    with pytest.raises(text_formats.InputDataError, match=re.escape(f"{path}{expected}")):
        _run(tmp_path, train_data=str(path))
