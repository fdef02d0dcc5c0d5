"""The ExampleGen in a real (one-component) TFX pipeline: splits, exact content, globs, folders and spans resolved when
it runs, per-file formats, bad rows failing the run or quarantined."""

import glob
import json
import re
from pathlib import Path

import pytest
import tensorflow as tf
from ml_metadata.metadata_store import metadata_store
from tfx import v1 as tfx

from sentence_tfx.components.example_gen import component, quarantine, text_formats
from sentence_tfx.config import ExampleGenSettings, PipelineConfig


def _run(tmp_path, **data) -> dict[str, list[tuple[str | None, str]]]:
    """Runs the pipeline; returns each output split's (text, label) pairs, read back from the Examples artifact."""
    splits, _, _ = _run_and_artifacts(tmp_path, **data)
    return splits


def _run_and_artifacts(tmp_path, **data):
    """(splits, Examples artifact, QuarantinedRows artifact) of a new run in the same pipeline root."""
    config = PipelineConfig(pipeline_root=str(tmp_path / "root"), **data)
    connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(config.sqlite_path)
    tfx.orchestration.LocalDagRunner().run(
        tfx.dsl.Pipeline(
            pipeline_name="example-gen-test",
            pipeline_root=config.pipeline_root,
            components=[component.create_example_gen(config.settings(ExampleGenSettings))],
            metadata_connection_config=connection,
            beam_pipeline_args=list(config.beam_pipeline_args),
        )
    )
    store = metadata_store.MetadataStore(connection)
    examples = max(store.get_artifacts_by_type("Examples"), key=lambda a: a.id)
    quarantined = max(store.get_artifacts_by_type(quarantine.QuarantinedRows.TYPE_NAME), key=lambda a: a.id)
    splits = {
        split: [
            _pair(record)
            for record in tf.data.TFRecordDataset(
                tf.io.gfile.glob(f"{examples.uri}/Split-{split}/*.gz"), compression_type="GZIP"
            ).as_numpy_iterator()
        ]
        for split in json.loads(examples.properties["split_names"].string_value)
    }
    return splits, examples, quarantined


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
    evaluation = tmp_path / "data" / "eval [v2]" / "e*.csv"  # A glob: its characters are escaped to mean themselves.
    evaluation.parent.mkdir()
    evaluation.write_text("review,stars\nfine,4\n")
    (evaluation.parent / "ex.csv").write_text("review,stars\nnot this file,1\n")

    splits = _run(
        tmp_path,
        train_data=str(train),
        eval_data=glob.escape(str(evaluation)),
        text_column="review",
        label_column="stars",
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


def test_a_folder_and_a_glob_read_each_file_in_its_own_format(tmp_path, caplog):
    """A folder's files (Spark's _SUCCESS and hidden files left out, as Hadoop does), a glob over shards."""
    train = tmp_path / "train"
    train.mkdir()
    (train / "part-0.csv").write_text("text,label\nfrom csv,a\n")
    (train / "part-1.jsonl").write_text('{"text": "from jsonl", "label": "b"}\n')
    (train / "part-2.tsv").write_text("text\tlabel\n")  # An empty shard is fine.
    (train / "_SUCCESS").write_text("")
    (train / ".part-0.csv.crc").write_text("binary")
    (train / "nested").mkdir()
    for index in range(2):
        (tmp_path / f"eval-{index}.tsv").write_text(f"text\tlabel\nshard {index}\ta\n")
    (tmp_path / "eval-x.csv").write_text("not,matched\n")

    caplog.set_level("INFO", logger="sentence_tfx")
    splits = _run(tmp_path, train_data=str(train), eval_data=str(tmp_path / "eval-[0-9].tsv"))
    assert sorted(splits["train"]) == [("from csv", "a"), ("from jsonl", "b")]
    assert sorted(splits["eval"]) == [("shard 0", "a"), ("shard 1", "a")]
    assert f"train: 3 files (1 csv, 1 jsonl, 1 tsv): {train}/part-0.csv (csv), " in caplog.text


def _write_span(root, span: int, rows: list[tuple[str, str]]) -> None:
    folder = root / f"{span:02d}"
    folder.mkdir(parents=True)
    (folder / "part-0.tsv").write_text("".join(f"{text}\t{label}\n" for text, label in [("text", "label"), *rows]))


def test_spans_the_latest_a_window_of_the_latest_and_a_fixed_range(tmp_path):
    """TFX's span resolution when ExampleGen runs: a span added between two runs is read by the second."""
    data = tmp_path / "spans"
    for span in (1, 2):
        _write_span(data, span, [(f"span {span} row {i}", "ab"[i % 2]) for i in range(5)])
    pattern = str(data / "{SPAN:2}" / "*.tsv")

    def spans_read(**options):
        splits, examples, _ = _run_and_artifacts(tmp_path, train_data=pattern, **options)
        texts = sorted({text.split(" row")[0] for text, _ in splits["train"] + splits["eval"]})
        return examples.custom_properties["span"].int_value, examples.custom_properties["spans"].string_value, texts

    assert spans_read() == (2, "2", ["span 2"])
    _write_span(data, 3, [(f"span 3 row {i}", "ab"[i % 2]) for i in range(5)])
    assert spans_read() == (3, "3", ["span 3"])
    assert spans_read(latest_spans=2) == (3, "2,3", ["span 2", "span 3"])
    assert spans_read(span_range=(1, 2)) == (2, "1,2", ["span 1", "span 2"])


def test_skipped_bad_rows_are_quarantined_with_file_line_reason_and_raw_row(tmp_path):
    rows = "".join(f"row {i}\t{'ab'[i % 2]}\n" for i in range(2000))
    (tmp_path / "train.tsv").write_text(f"text\tlabel\n{rows}ragged\ta\textra\n")
    (tmp_path / "eval.tsv").write_text("text\tlabel\nfine\ta\nno label\t\n" + rows)

    splits, _, quarantined = _run_and_artifacts(
        tmp_path, train_data=str(tmp_path / "train.tsv"), eval_data=str(tmp_path / "eval.tsv"), bad_rows="skip"
    )
    assert len(splits["train"]) == 2000 and len(splits["eval"]) == 2001
    assert quarantined.custom_properties[quarantine.BAD_ROWS_PROPERTY].int_value == 2
    summaries = {s.split: s for s in quarantine.read_summaries(quarantined.uri)}
    assert summaries["train"].first_bad_rows == [f"{tmp_path}/train.tsv:2002: row has 3 fields, the header has 2"]
    assert (summaries["eval"].rows, summaries["eval"].bad_rows) == (2001, 1)
    [line] = [
        line
        for path in tf.io.gfile.glob(f"{quarantined.uri}/eval/bad_rows*.jsonl")
        for line in Path(path).read_text(encoding="utf-8").splitlines()
    ]
    assert json.loads(line) == {
        "file": f"{tmp_path}/eval.tsv",
        "line": 3,
        "location": f"{tmp_path}/eval.tsv:3",
        "reason": "field 'label': label is empty",
        "raw": "no label\t\n",
    }


def test_more_bad_rows_than_allowed_fail_the_run_listing_the_first(tmp_path):
    rows = "".join(f"row {i}\t{'ab'[i % 2]}\n" if i % 50 else f"row {i}\n" for i in range(1000))  # 2 % ragged
    (tmp_path / "train.tsv").write_text(f"text\tlabel\n{rows}")
    with pytest.raises(text_formats.InputDataError) as error:
        _run(tmp_path, train_data=str(tmp_path / "train.tsv"), bad_rows="skip", max_bad_rows_fraction=0.01)
    message = str(error.value)
    assert "train: 20 of 1000 rows are bad (2.00%), more than --max-bad-rows-fraction 0.01 allows; the first 10:" in (
        message
    )
    assert f"\n  {tmp_path}/train.tsv:2: row has 1 fields, the header has 2\n  {tmp_path}/train.tsv:52:" in message


@pytest.mark.parametrize(
    "content, expected",
    [
        ("text,label\nfine,a\nno label,\n", "{path}:3: field 'label': label is empty"),
        (None, "train: {path} matches no files"),
        ("text,label\n", "{path}: empty file: no csv records"),
    ],
    ids=["bad label", "missing file", "no rows"],
)
def test_bad_data_fails_the_run_with_the_input_error(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    # Beam re-raises the executor's exception as is, adding "[while running 'InputToRecord/Read']".
    with pytest.raises(text_formats.InputDataError, match=re.escape(expected.format(path=path))):
        _run(tmp_path, train_data=str(path))


def test_a_span_pattern_that_matches_nothing_is_bad_input(tmp_path):
    with pytest.raises(text_formats.InputDataError, match=r"no span to read in .*Cannot find matching for split train"):
        _run(tmp_path, train_data=str(tmp_path / "{SPAN}" / "*.csv"))


def test_a_bad_row_found_in_a_beam_worker_process_is_the_same_input_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nfine,a\nragged\n")
    with pytest.raises(text_formats.InputDataError, match=re.escape(f"{path}:3: row has 1 fields, the header has 2")):
        _run(
            tmp_path,
            train_data=str(path),
            beam_pipeline_args=(
                "--runner=FnApiRunner",
                "--direct_running_mode=multi_processing",
                "--direct_num_workers=1",
            ),
        )
