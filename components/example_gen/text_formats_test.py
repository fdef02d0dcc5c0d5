"""Each input format read exactly; every bad record named with its file, line (or record) and field, kept as written,
and the file read on after it; what makes a whole file unreadable stops with the same precision."""

import collections
import os

import pytest
import tensorflow as tf
from google.protobuf import text_format

from sentence_tfx.components.example_gen import text_formats
from sentence_tfx.components.example_gen.text_formats import BadRow, InputDataError

SST2_TRAIN = "/work/shared/data/sst2/train.tsv"


def _write(tmp_path, name, content):
    path = tmp_path / name
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return str(path)


def _read(path, data_format, text_column="text", label_column="label"):
    return list(text_formats.read_records(path, data_format, text_column, label_column))


def _feature(value):
    """bytes, int or float: one value of that kind; None: an empty bytes_list; a list: several values."""
    values = value if isinstance(value, list) else [] if value is None else [value]
    if values and isinstance(values[0], int):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    if values and isinstance(values[0], float):
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def _example(text, label):
    return tf.train.Example(features=tf.train.Features(feature={"text": _feature(text), "label": _feature(label)}))


def _write_tfrecord(path, examples, compression=""):
    with tf.io.TFRecordWriter(str(path), options=compression) as writer:
        for example in examples:
            writer.write(example.SerializeToString())
    return str(path)


def test_csv_quoted_commas_quotes_newlines_extra_columns_and_unicode(tmp_path):
    path = _write(
        tmp_path, "d.csv", 'id,label,text\n1,pos,"good, really ""good"""\n2,neg,"two\nlines"\n\n3,1,Ünïcödé 😀 日本\n'
    )
    assert _read(path, "csv") == [
        (f"{path}:2", 'good, really "good"', "pos"),
        (f"{path}:3", "two\nlines", "neg"),
        (f"{path}:6", "Ünïcödé 😀 日本", "1"),
    ]


def test_csv_byte_order_mark_and_crlf(tmp_path):
    path = _write(tmp_path, "d.csv", "\ufefftext,label\r\nhi,a\r\n".encode())
    assert _read(path, "csv") == [(f"{path}:2", "hi", "a")]


def test_tsv_keeps_unescaped_quotes_inside_fields_and_reads_quoted_tabs(tmp_path):
    path = _write(tmp_path, "d.tsv", 'sentence\tlabel\nthe " hidden " film \t1\nsays "no" twice\t0\n"a\ttab"\t1\n')
    assert _read(path, "tsv", "sentence") == [
        (f"{path}:2", 'the " hidden " film ', "1"),
        (f"{path}:3", 'says "no" twice', "0"),
        (f"{path}:4", "a\ttab", "1"),
    ]


@pytest.mark.skipif(not os.path.exists(SST2_TRAIN), reason="SST-2 not on this machine")
def test_sst2_train_reads_row_for_row():
    with open(SST2_TRAIN, encoding="utf-8") as f:
        expected = [line.rstrip("\n").split("\t") for line in f][1:]
    assert len(expected) == 60_614
    assert [[text, label] for _, text, label in _read(SST2_TRAIN, "tsv", "sentence")] == expected


def test_jsonl_numbers_keep_their_literal_text_and_blank_lines_are_skipped(tmp_path):
    path = _write(
        tmp_path,
        "d.jsonl",
        '{"text": "a", "label": 1, "extra": [1]}\n{"text": "b", "label": "x"}\n\n{"text": "c", "label": 2.50}\n',
    )
    assert _read(path, "jsonl") == [(f"{path}:1", "a", "1"), (f"{path}:2", "b", "x"), (f"{path}:4", "c", "2.50")]


@pytest.mark.parametrize("name, compression", [("d.tfrecord", ""), ("d.tfrecord.gz", "GZIP")])
def test_tfrecord_bytes_int_and_float_labels(tmp_path, name, compression):
    path = _write_tfrecord(
        tmp_path / name, [_example("été".encode(), b"pos"), _example(b"b", 3), _example(b"c", 0.1)], compression
    )
    assert _read(path, "tfrecord") == [
        (f"{path}:record 1", "été", "pos"),
        (f"{path}:record 2", "b", "3"),
        (f"{path}:record 3", "c", "0.1"),
    ]


def test_empty_and_whitespace_texts_are_kept_as_none(tmp_path):
    csv_path = _write(tmp_path, "d.csv", 'text,label\n,a\n" \t ",b\nok,c\n')
    tfrecord_path = _write_tfrecord(tmp_path / "d.tfrecord", [_example(None, b"a"), _example(b"  ", b"b")])
    assert [text for _, text, _ in _read(csv_path, "csv")] == [None, None, "ok"]
    assert [text for _, text, _ in _read(tfrecord_path, "tfrecord")] == [None, None]


@pytest.mark.parametrize(
    "data_format, content",
    [("csv", b""), ("csv", b"text,label\n"), ("tsv", b"text\tlabel\n\n"), ("jsonl", b"\n\n"), ("tfrecord", b"")],
)
def test_an_empty_file_holds_no_records(tmp_path, data_format, content):
    """Not an error by itself (a shard may be empty); ExampleGen refuses a split with no records at all."""
    assert _read(_write(tmp_path, f"d.{data_format}", content), data_format) == []


ROW, FILE = "the row", "the whole file"  # What a problem makes unreadable.


def test_labels_are_stripped_into_their_class_with_one_warning_per_file(tmp_path, caplog):
    path = _write(tmp_path, "d.tsv", "text\tlabel\na\tpos\nb\tpos \nc\t neg\nd\tneg\ne\tpos \n")
    with caplog.at_level("WARNING", logger=text_formats.__name__):
        labels = collections.Counter(label for _, _, label in _read(path, "tsv"))
    assert labels == collections.Counter({"pos": 3, "neg": 2})
    (warning,) = caplog.messages
    assert warning == f"{path}: 3 labels had surrounding whitespace, stripped so they join their class: " + (
        "'pos ' → 'pos' (2), ' neg' → 'neg' (1)"
    )


@pytest.mark.parametrize(
    "data_format, content, expected, unreadable",
    [
        ("csv", b"text,label\na,b\nc,d,e\n", ":3: row has 3 fields, the header has 2", ROW),
        ("tsv", b'text\tlabel\n" hidden " film\t1\n', ":2: malformed tsv record", ROW),
        (
            "csv",
            b"text,label\nok,a\ncaf\xe9 \xff,b\n",
            ":3: field 'text' is not UTF-8: bytes b'\\xe9' at character 3",
            ROW,
        ),
        ("csv", b"text,label\nok,\xc3\n", ":2: field 'label' is not UTF-8: bytes b'\\xc3'", ROW),
        ("csv", b"text,label\nok, \n", ":2: field 'label': label is empty", ROW),
        ("jsonl", b'{"text": "a", "label": "b"}\n{"text": "a"\n', ":2: invalid JSON", ROW),
        ("jsonl", b"[1]\n", ":1: expected a JSON object, got list", ROW),
        ("jsonl", b'{"text": "a"}\n', ":1: field 'label' is missing; fields found: ['text']", ROW),
        ("jsonl", b'{"text": "a", "label": true}\n', ":1: field 'label' must be a string or number, got true", ROW),
        ("jsonl", b'{"text": "a", "label": null}\n', ":1: field 'label' must be a string or number, got null", ROW),
        ("jsonl", b'{"text": "a", "label": {"k": 1}}\n', ":1: field 'label' must be a string or number, got {", ROW),
        ("jsonl", b'{"text": 5, "label": "a"}\n', ":1: field 'text' must be a string, got number", ROW),
        ("jsonl", b'{"text": "\xff", "label": "a"}\n', ":1: field 'text' is not UTF-8: bytes b'\\xff'", ROW),
        (
            "csv",
            b"txt,label\na,b\n",
            ":1: column 'text' is missing from the header; columns found: ['txt', 'label']",
            FILE,
        ),
        ("csv", b"text,label,text\na,b,c\n", ":1: column 'text' is repeated in the header", FILE),
        (
            "csv",
            b'text,label\na,b\n"c,d\ne,f\n',
            ":3: malformed csv record ending at line 4: unexpected end of data",
            FILE,
        ),
        ("csv", b'"text,label\na,b\n', ":1: malformed csv record", FILE),
        ("tfrecord", b"not a tfrecord file", ":record 1: unreadable TFRecord", FILE),
        (
            "jsonl",
            b'{"text": "a", "label": "b"}\n{"text": "a", "label": "b", "text": "c"}\n',
            ":2: key 'text' appears",
            ROW,
        ),
        (
            "jsonl",
            b'{"text": "a", "label": "b", "meta": {"k": 1, "k": 2}}\n',
            ":1: key 'k' appears more than once",
            ROW,
        ),
    ],
)
def test_bad_input_names_file_line_and_field(tmp_path, data_format, content, expected, unreadable):
    """A bad record is reported and skipped over; no header, a missing column, a quote left open to the end (where
    would the rows be?) or a corrupt TFRecord make the whole file unreadable."""
    path = _write(tmp_path, f"d.{data_format}", content)
    if unreadable == FILE:
        with pytest.raises(InputDataError) as error:
            _read(path, data_format)
        message = str(error.value)
    else:
        [bad] = [record for record in _read(path, data_format) if isinstance(record, BadRow)]
        assert bad.file == path and bad.location == f"{path}:{bad.line}"
        message = bad.message
    assert message.startswith(path + expected), message


def test_the_file_reads_on_after_bad_records_which_keep_their_raw_text(tmp_path):
    content = b'text,label\ngood,a\n"open" quote,b\nragged,c,d\ncaf\xe9,e\n"two\nlines",f\n,\nlast,g\n'
    path = _write(tmp_path, "d.csv", content)
    records = _read(path, "csv")
    assert [r for r in records if not isinstance(r, BadRow)] == [
        (f"{path}:2", "good", "a"),
        (f"{path}:6", "two\nlines", "f"),
        (f"{path}:9", "last", "g"),
    ]
    bad = [(r.line, r.raw, r.reason.split(":")[0]) for r in records if isinstance(r, BadRow)]
    assert bad == [
        (3, '"open" quote,b\n', "malformed csv record ending at line 3"),
        (4, "ragged,c,d\n", "row has 3 fields, the header has 2"),
        (5, "caf\\xe9,e\n", "field 'text' is not UTF-8"),
        (8, ",\n", "field 'label'"),
    ]


@pytest.mark.parametrize(
    "example, expected",
    [
        (tf.train.Example(), ":record 2: field 'text' is missing; features found: []"),
        (_example([b"a", b"b"], b"x"), ":record 2: field 'text' has 2 values"),
        (_example(3, b"x"), ":record 2: field 'text' is int64_list; expected bytes_list"),
        (_example(b"a", None), ":record 2: field 'label': label is empty"),
        (_example(b"\xff", b"x"), ":record 2: field 'text' is not UTF-8"),
    ],
)
def test_bad_tfrecord_names_record_and_field(tmp_path, example, expected):
    path = _write_tfrecord(tmp_path / "d.tfrecord.gz", [_example(b"ok", b"x"), example, _example(b"on", b"y")], "GZIP")
    records = _read(path, "tfrecord")
    assert [r[1:] for r in records if not isinstance(r, BadRow)] == [("ok", "x"), ("on", "y")]
    [bad] = [r for r in records if isinstance(r, BadRow)]
    assert bad.message.startswith(path + expected), bad.message
    assert bad.line == 2 and bad.raw == text_format.MessageToString(example, as_one_line=True)
