"""Reads labelled text from CSV, TSV, JSONL or tf.Example TFRecord files, naming file, line and field on bad input.

Every format yields the same `(location, text, label)` triples, so the ExampleGen executor and the CLI's pre-flight
check see identical data and identical errors. Text files are decoded with `surrogateescape`, so an undecodable byte
is reported only where it matters (in the text or label field) together with the field's name.
"""

import collections
import csv
import dataclasses
import io
import json
import logging
from collections.abc import Iterator

import numpy as np
from google.protobuf.message import DecodeError

from sentence_tfx.errors import InputError

# TSV keeps CSV quoting (not QUOTE_NONE) so quoted fields may hold tabs and newlines: a quote inside an unquoted field
# stays literal (`the " hidden " film`), and strict=True turns a field that only starts with a quote into an error.
_DELIMITERS = {"csv": ",", "tsv": "\t"}
log = logging.getLogger(__name__)


class InputDataError(InputError):
    """The input data cannot be turned into examples; the message says where and why."""


@dataclasses.dataclass(frozen=True)
class Summary:
    rows: int
    labels: collections.Counter
    empty_texts: int


def read_examples(
    path: str, data_format: str, text_column: str, label_column: str
) -> Iterator[tuple[str, str | None, str]]:
    """Yields `(location, text, label)` per record; text is None when empty or whitespace-only (kept, not dropped).

    Labels are stripped of surrounding whitespace (`pos ` is `pos`: a trailing space must not make a class of its
    own), with one warning per file that counts them."""
    readers = {"csv": _read_delimited, "tsv": _read_delimited, "jsonl": _read_jsonl, "tfrecord": _read_tfrecord}
    if data_format not in readers:
        raise InputDataError(f"format {data_format!r} is not one of {', '.join(readers)}")
    rows, stripped = 0, collections.Counter()
    for location, text, label in readers[data_format](path, data_format, text_column, label_column):
        _check_utf8(location, text_column, text)
        _check_utf8(location, label_column, label)
        if not label.strip():
            raise InputDataError(f"{location}: field {label_column!r}: label is empty")
        if label != label.strip():
            stripped[label] += 1
        rows += 1
        yield location, text if text.strip() else None, label.strip()
    if not rows:
        raise InputDataError(f"{path}: empty file: no {data_format} records")
    if stripped:
        log.warning(
            "%s: %d labels had surrounding whitespace, stripped so they join their class: %s",
            path,
            stripped.total(),
            ", ".join(f"{label!r} → {label.strip()!r} ({count})" for label, count in stripped.most_common(5)),
        )


def scan(path: str, data_format: str, text_column: str, label_column: str) -> Summary:
    """Reads the whole file once (raising the errors the pipeline would) and counts rows, labels and empty texts."""
    rows, empty_texts, labels = 0, 0, collections.Counter()
    for _, text, label in read_examples(path, data_format, text_column, label_column):
        rows += 1
        empty_texts += text is None
        labels[label] += 1
    return Summary(rows=rows, labels=labels, empty_texts=empty_texts)


def _check_utf8(location: str, field: str, value: str):
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        bad = value[e.start : e.end].encode("utf-8", "surrogateescape")
        raise InputDataError(
            f"{location}: field {field!r} is not UTF-8: bytes {bad!r} at character {e.start}"
        ) from None


class _GFileReader(io.RawIOBase):
    """A file on any filesystem TensorFlow knows (gs://, s3://, hdfs://...) as a Python binary stream."""

    def __init__(self, path: str):
        import tensorflow as tf

        self._file = tf.io.gfile.GFile(path, "rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._file.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


def _open_text(path: str):
    # utf-8-sig drops the byte-order mark spreadsheet programs write; newline="" is what the csv module requires.
    binary = io.BufferedReader(_GFileReader(path)) if "://" in path else open(path, "rb")  # noqa: SIM115  (the caller closes it)
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _read_delimited(path, data_format, text_column, label_column):
    with _open_text(path) as f:
        reader = csv.reader(f, delimiter=_DELIMITERS[data_format], strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise InputDataError(f"{path}: empty file: no header row")
            columns = [_column_index(f"{path}:1", header, name) for name in (text_column, label_column)]
            start = reader.line_num + 1
            for row in reader:
                location = f"{path}:{start}"
                start = reader.line_num + 1
                if not row:
                    continue  # A blank line holds no record.
                if len(row) != len(header):
                    raise InputDataError(f"{location}: row has {len(row)} fields, the header has {len(header)}")
                yield location, row[columns[0]], row[columns[1]]
        except csv.Error as e:
            raise InputDataError(
                f"{path}:{start}: malformed {data_format} record ending at line {reader.line_num}: "
                f"{e} (a field that starts with a double quote must end with one, with any quote "
                f"inside it doubled)"
            ) from None


def _column_index(location: str, header: list[str], name: str) -> int:
    if header.count(name) != 1:
        problem = "missing from" if name not in header else "repeated in"
        raise InputDataError(f"{location}: column {name!r} is {problem} the header; columns found: {header}")
    return header.index(name)


class _RepeatedKeyError(Exception):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _object_without_repeats(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object as a dict; json.loads would keep the last of repeated keys without a word."""
    record = {}
    for key, value in pairs:
        if key in record:
            raise _RepeatedKeyError(key)
        record[key] = value
    return record


class _JsonNumber(str):
    """A JSON number kept as its literal text, so a numeric label is written exactly as given (1 → "1")."""


def _read_jsonl(path, data_format, text_column, label_column):
    with _open_text(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            location = f"{path}:{number}"
            try:
                record = json.loads(
                    line, parse_int=_JsonNumber, parse_float=_JsonNumber, object_pairs_hook=_object_without_repeats
                )
            except json.JSONDecodeError as e:
                raise InputDataError(f"{location}: invalid JSON: {e}") from None
            except _RepeatedKeyError as e:
                raise InputDataError(
                    f"{location}: key {e.key!r} appears more than once in one object; which value is meant?"
                ) from None
            if not isinstance(record, dict):
                raise InputDataError(f"{location}: expected a JSON object, got {type(record).__name__}")
            yield (
                location,
                _json_field(location, record, text_column, number_ok=False),
                _json_field(location, record, label_column, number_ok=True),
            )


def _json_field(location: str, record: dict, name: str, number_ok: bool) -> str:
    if name not in record:
        raise InputDataError(f"{location}: field {name!r} is missing; fields found: {sorted(record)}")
    value = record[name]
    if isinstance(value, str) and (number_ok or not isinstance(value, _JsonNumber)):
        return str(value)
    kind = "number" if isinstance(value, _JsonNumber) else json.dumps(value)[:40]
    raise InputDataError(f"{location}: field {name!r} must be a string{' or number' * number_ok}, got {kind}")


def _read_tfrecord(path, data_format, text_column, label_column):
    import tensorflow as tf  # Only here: the text formats need no TensorFlow.

    records = tf.data.TFRecordDataset(path, compression_type="GZIP" if path.endswith(".gz") else "")
    number = 0
    try:
        for number, serialized in enumerate(records.as_numpy_iterator(), 1):
            location = f"{path}:record {number}"
            try:
                example = tf.train.Example.FromString(serialized)
            except DecodeError as e:
                raise InputDataError(f"{location}: not a tf.Example: {e}") from None
            features = example.features.feature
            yield (
                location,
                _feature_value(location, features, text_column, ("bytes_list",)),
                _feature_value(location, features, label_column, ("bytes_list", "int64_list", "float_list")),
            )
    except tf.errors.OpError as e:
        raise InputDataError(f"{path}:record {number + 1}: unreadable TFRecord: {e.message}") from None


def _feature_value(location: str, features, name: str, kinds: tuple[str, ...]) -> str:
    if name not in features:
        raise InputDataError(f"{location}: field {name!r} is missing; features found: {sorted(features)}")
    kind = features[name].WhichOneof("kind")
    if kind not in kinds:
        raise InputDataError(
            f"{location}: field {name!r} is {kind or 'a Feature with no value list'}; expected {' or '.join(kinds)}"
        )
    values = getattr(features[name], kind).value
    if len(values) > 1:
        raise InputDataError(f"{location}: field {name!r} has {len(values)} values; expected one")
    if not values:
        return ""
    if kind == "bytes_list":
        return values[0].decode("utf-8", "surrogateescape")
    if kind == "float_list":
        return str(np.float32(values[0]))  # Shortest text that round-trips the stored float32 (0.1, not 0.100…01).
    return str(values[0])
