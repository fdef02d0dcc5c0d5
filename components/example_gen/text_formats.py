"""Reads labelled text from CSV, TSV, JSONL or tf.Example TFRecord files, naming file, line and field on bad input.

Every format yields the same records: an example `(location, text, label)`, or a BadRow where one record cannot
become an example but the rest of the file can still be read (a ragged row, a missing or mistyped field, an empty
label, bytes that are not UTF-8, a record that is not a tf.Example). What makes a whole file unreadable (no header, a
missing column, a corrupt TFRecord, a quote left open to the end of the file) raises InputDataError. The ExampleGen
executor decides what a BadRow does (`--bad-rows`). Text files are decoded with `surrogateescape`, so an undecodable
byte is reported only where it matters (in the text or label field) together with the field's name.
"""

import collections
import csv
import dataclasses
import io
import json
import logging
from collections.abc import Iterator

import numpy as np
from google.protobuf import text_format
from google.protobuf.message import DecodeError

from sentence_tfx.errors import InputError

# TSV keeps CSV quoting (not QUOTE_NONE) so quoted fields may hold tabs and newlines: a quote inside an unquoted field
# stays literal (`the " hidden " film`), and strict=True turns a field that only starts with a quote into an error.
_DELIMITERS = {"csv": ",", "tsv": "\t"}
log = logging.getLogger(__name__)

Example = tuple[str, str | None, str]  # (location, text, label); text None when empty or whitespace-only.


class InputDataError(InputError):
    """The input data cannot be turned into examples; the message says where and why."""


@dataclasses.dataclass(frozen=True)
class BadRow:
    """One record that cannot become an example, as it was written."""

    file: str
    line: int  # Where the record starts; in a TFRecord file, the record's number.
    location: str  # How messages name it: FILE:LINE, or FILE:record N.
    reason: str  # What is wrong, naming the field.
    raw: str  # The record; bytes that are not UTF-8 written as \xNN.

    @property
    def message(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class _Record:
    line: int
    location: str
    raw: str
    text: str = ""
    label: str = ""
    problem: str = ""  # Set when the record is bad.


class _FieldProblem(Exception):
    """A problem confined to one record's field; the file reads on."""


def read_records(path: str, data_format: str, text_column: str, label_column: str) -> Iterator[Example | BadRow]:
    """Yields each record of the file, in order, as an example or a BadRow; an empty file yields nothing.

    Labels are stripped of surrounding whitespace (`pos ` is `pos`: a trailing space must not make a class of its
    own), with one warning per file that counts them."""
    readers = {"csv": _read_delimited, "tsv": _read_delimited, "jsonl": _read_jsonl, "tfrecord": _read_tfrecord}
    if data_format not in readers:
        raise InputDataError(f"format {data_format!r} is not one of {', '.join(readers)}")
    stripped = collections.Counter()
    for record in readers[data_format](path, data_format, text_column, label_column):
        problem = (
            record.problem
            or _utf8_problem(text_column, record.text)
            or _utf8_problem(label_column, record.label)
            or ("" if record.label.strip() else f"field {label_column!r}: label is empty")
        )
        if problem:
            raw = record.raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            yield BadRow(path, record.line, record.location, problem, raw)
        else:
            label = record.label.strip()
            if label != record.label:
                stripped[record.label] += 1
            yield record.location, record.text if record.text.strip() else None, label
    if stripped:
        log.warning(
            "%s: %d labels had surrounding whitespace, stripped so they join their class: %s",
            path,
            stripped.total(),
            ", ".join(f"{label!r} → {label.strip()!r} ({count})" for label, count in stripped.most_common(5)),
        )


def _utf8_problem(field: str, value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        bad = value[e.start : e.end].encode("utf-8", "surrogateescape")
        return f"field {field!r} is not UTF-8: bytes {bad!r} at character {e.start}"
    return ""


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


class _RecordedLines:
    """The lines csv.reader consumes, kept until taken: a bad record is quarantined as it was written."""

    def __init__(self, lines):
        self._lines, self._taken, self.ended = iter(lines), [], False

    def __iter__(self):
        return self

    def __next__(self) -> str:
        try:
            line = next(self._lines)
        except StopIteration:
            self.ended = True
            raise
        self._taken.append(line)
        return line

    def take(self) -> str:
        raw, self._taken = "".join(self._taken), []
        return raw


def _read_delimited(path, data_format, text_column, label_column):
    with _open_text(path) as f:
        lines = _RecordedLines(f)
        reader = csv.reader(lines, delimiter=_DELIMITERS[data_format], strict=True)
        header, columns, start = None, (), 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                problem = (
                    f"malformed {data_format} record ending at line {reader.line_num}: {e} (a field that starts "
                    f"with a double quote must end with one, with any quote inside it doubled)"
                )
                if header is None or lines.ended:  # In the header, or a quote open to the end: no rows to tell apart.
                    raise InputDataError(f"{path}:{start}: {problem}") from None
                yield _Record(start, f"{path}:{start}", lines.take(), problem=problem)
            else:
                raw = lines.take()
                if header is None:
                    header = row
                    columns = [_column_index(f"{path}:1", header, name) for name in (text_column, label_column)]
                elif len(row) != len(header) and row:  # A blank line holds no record.
                    problem = f"row has {len(row)} fields, the header has {len(header)}"
                    yield _Record(start, f"{path}:{start}", raw, problem=problem)
                elif row:
                    yield _Record(start, f"{path}:{start}", raw, row[columns[0]], row[columns[1]])
            start = reader.line_num + 1


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
            location, raw = f"{path}:{number}", line.rstrip("\r\n")
            try:
                record = _json_object(line)
                text = _json_field(record, text_column, number_ok=False)
                label = _json_field(record, label_column, number_ok=True)
            except _FieldProblem as problem:
                yield _Record(number, location, raw, problem=str(problem))
            else:
                yield _Record(number, location, raw, text, label)


def _json_object(line: str) -> dict:
    try:
        record = json.loads(
            line, parse_int=_JsonNumber, parse_float=_JsonNumber, object_pairs_hook=_object_without_repeats
        )
    except json.JSONDecodeError as e:
        raise _FieldProblem(f"invalid JSON: {e}") from None
    except _RepeatedKeyError as e:
        raise _FieldProblem(f"key {e.key!r} appears more than once in one object; which value is meant?") from None
    if not isinstance(record, dict):
        raise _FieldProblem(f"expected a JSON object, got {type(record).__name__}")
    return record


def _json_field(record: dict, name: str, number_ok: bool) -> str:
    if name not in record:
        raise _FieldProblem(f"field {name!r} is missing; fields found: {sorted(record)}")
    value = record[name]
    if isinstance(value, str) and (number_ok or not isinstance(value, _JsonNumber)):
        return str(value)
    kind = "number" if isinstance(value, _JsonNumber) else json.dumps(value)[:40]
    raise _FieldProblem(f"field {name!r} must be a string{' or number' * number_ok}, got {kind}")


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
                raw = serialized.decode("utf-8", "backslashreplace")
                yield _Record(number, location, raw, problem=f"not a tf.Example: {e}")
                continue
            features, raw = example.features.feature, text_format.MessageToString(example, as_one_line=True)
            try:
                text = _feature_value(features, text_column, ("bytes_list",))
                label = _feature_value(features, label_column, ("bytes_list", "int64_list", "float_list"))
            except _FieldProblem as problem:
                yield _Record(number, location, raw, problem=str(problem))
            else:
                yield _Record(number, location, raw, text, label)
    except tf.errors.OpError as e:
        raise InputDataError(f"{path}:record {number + 1}: unreadable TFRecord: {e.message}") from None


def _feature_value(features, name: str, kinds: tuple[str, ...]) -> str:
    if name not in features:
        raise _FieldProblem(f"field {name!r} is missing; features found: {sorted(features)}")
    kind = features[name].WhichOneof("kind")
    if kind not in kinds:
        raise _FieldProblem(
            f"field {name!r} is {kind or 'a Feature with no value list'}; expected {' or '.join(kinds)}"
        )
    values = getattr(features[name], kind).value
    if len(values) > 1:
        raise _FieldProblem(f"field {name!r} has {len(values)} values; expected one")
    if not values:
        return ""
    if kind == "bytes_list":
        return values[0].decode("utf-8", "surrogateescape")
    if kind == "float_list":
        return str(np.float32(values[0]))  # Shortest text that round-trips the stored float32 (0.1, not 0.100…01).
    return str(values[0])
