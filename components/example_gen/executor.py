"""The ExampleGen executor: each split's files → tf.Examples with exactly the BYTES features `text` and `label`.

When it runs (never when the pipeline is defined) it lists each split's files: the driver's resolved pattern, plus
the earlier spans of a span window (`--latest-spans`, `--span-range`), found with TFX's own span resolution. Each file
is read in the format of its extension unless `--format` names one. Bad rows stop the run (`--bad-rows fail`) or go
to the quarantine artifact (`skip`), which fails the run only above `--max-bad-rows-fraction`.
"""

import dataclasses
import logging
import os
import posixpath
import re
from collections import Counter

import apache_beam as beam
import tensorflow as tf
from google.protobuf import struct_pb2
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.example_gen.input_processor import FileBasedInputProcessor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2, range_config_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from sentence_tfx import features
from sentence_tfx.components.example_gen import data_paths, quarantine, text_formats
from sentence_tfx.config import ExampleGenSettings, format_of

log = logging.getLogger(__name__)
SETTINGS_KEY = "settings"  # In custom_config's Struct: the ExampleGenSettings as JSON.
SPANS_PROPERTY = "spans"  # Custom property of the Examples artifact: the spans read, e.g. "3,4,5".
_RUN_KEY = "_sentence_tfx_run"  # What Do worked out, handed to the Beam transform through exec_properties.
_BAD = "bad_rows"
_LISTED_FILES = 10
# How an InputDataError raised in a Beam worker process reaches this one: the last lines of a traceback's text.
_WORKER_INPUT_ERROR = re.compile(r"^(?:\w+\.)*InputDataError: (.*?)(?: \[while running '[^']*'\])?\s*\Z", re.S | re.M)


@dataclasses.dataclass(frozen=True)
class _SplitInput:
    name: str
    pattern: str  # As given to the Beam transform: relative to the input base, spans resolved.
    files: list[tuple[str, str]]  # (path, format) in path order.


@dataclasses.dataclass(frozen=True)
class _Run:
    settings: ExampleGenSettings
    quarantine_uri: str
    splits: dict[str, _SplitInput]  # By pattern.


def settings_struct(settings: ExampleGenSettings) -> struct_pb2.Struct:
    """What the component packs into custom_config (a proto Any): the settings as JSON."""
    struct = struct_pb2.Struct()
    struct.update({SETTINGS_KEY: settings.to_json()})
    return struct


def _settings(exec_properties: dict) -> ExampleGenSettings:
    custom_config = proto_utils.json_to_proto(
        exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY], example_gen_pb2.CustomConfig()
    )
    struct = struct_pb2.Struct()
    custom_config.custom_config.Unpack(struct)
    return ExampleGenSettings.from_json(struct[SETTINGS_KEY])


def _to_example(text: str | None, label: str) -> tf.train.Example:
    """An empty text keeps its feature, with no value, so schema validation (value_count min 1) flags it."""
    return tf.train.Example(
        features=tf.train.Features(
            feature={
                features.TEXT: tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[] if text is None else [text.encode()])
                ),
                features.LABEL: tf.train.Feature(bytes_list=tf.train.BytesList(value=[label.encode()])),
            }
        )
    )


def _read_file(file: tuple[str, str], settings: ExampleGenSettings):
    path, data_format = file
    for record in text_formats.read_records(path, data_format, settings.text_column, settings.label_column):
        if isinstance(record, text_formats.BadRow):
            if settings.bad_rows != "skip":
                raise text_formats.InputDataError(record.message)
            yield beam.pvalue.TaggedOutput(_BAD, record)
        else:
            _, text, label = record
            yield _to_example(text, label)


def _check_and_summarize(split: _SplitInput, rows: int, bad_rows: int, first: list, settings, quarantine_uri: str):
    """Runs once per split after every file is read: refuses a split with no rows, or too many bad ones."""
    if not rows + bad_rows:
        if len(split.files) == 1:
            [(path, data_format)] = split.files
            raise text_formats.InputDataError(f"{path}: empty file: no {data_format} records")
        raise text_formats.InputDataError(f"{split.name}: the {len(split.files)} files matched hold no records")
    if bad_rows / (rows + bad_rows) > settings.max_bad_rows_fraction:
        listed = "\n".join(f"  {bad_row.message}" for bad_row in first)
        raise text_formats.InputDataError(
            f"{split.name}: {bad_rows} of {rows + bad_rows} rows are bad ({bad_rows / (rows + bad_rows):.2%}), more "
            f"than --max-bad-rows-fraction {settings.max_bad_rows_fraction} allows; the first {len(first)}:\n{listed}"
        )
    quarantine.write_summary(
        quarantine_uri,
        quarantine.SplitSummary(split.name, rows, bad_rows, [bad_row.message for bad_row in first]),
    )


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _TextToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    run: _Run = exec_properties[_RUN_KEY]
    split = run.splits[split_pattern]
    records = (
        pipeline
        | "Files" >> beam.Create(split.files)
        | "Read" >> beam.FlatMap(_read_file, settings=run.settings).with_outputs(_BAD, main="examples")
    )
    bad_rows = records[_BAD]
    _ = (
        bad_rows
        | "BadRowsToJson" >> beam.Map(quarantine.to_json_line)
        | "WriteBadRows"
        >> beam.io.WriteToText(quarantine.bad_rows_prefix(run.quarantine_uri, split.name), file_name_suffix=".jsonl")
    )
    _ = (
        pipeline
        | "Split" >> beam.Create([split])
        | "Check"
        >> beam.Map(
            _check_and_summarize,
            rows=beam.pvalue.AsSingleton(records.examples | "CountRows" >> beam.combiners.Count.Globally()),
            bad_rows=beam.pvalue.AsSingleton(bad_rows | "CountBadRows" >> beam.combiners.Count.Globally()),
            first=beam.pvalue.AsSingleton(
                bad_rows
                | "FirstBadRows" >> beam.combiners.Top.Smallest(quarantine.FIRST_BAD_ROWS, key=quarantine.first_key)
            ),
            settings=run.settings,
            quarantine_uri=run.quarantine_uri,
        )
    )
    return records.examples


def _window_patterns(exec_properties: dict, settings: ExampleGenSettings, split: str) -> list[tuple[int, str]]:
    """(span, pattern relative to the input base) of the spans before the driver's resolved one that the window
    takes in; spans without files for every split are left out (logged)."""
    span = int(exec_properties[example_gen_utils.SPAN_PROPERTY_NAME])
    first = settings.span_range[0] if settings.span_range else span - settings.latest_spans + 1
    input_base, original = data_paths.input_config(settings.train_data, settings.eval_data)
    pattern = {s.name: s.pattern for s in original.splits}[split]
    window = []
    for earlier in range(max(first, 0), span):
        static = range_config_pb2.StaticRange(start_span_number=earlier, end_span_number=earlier)
        processor = FileBasedInputProcessor(
            input_base, original.splits, range_config_pb2.RangeConfig(static_range=static)
        )
        try:
            _, version = processor.resolve_span_and_version()
        except ValueError as error:
            log.info("span %d is not read: %s", earlier, error)
            continue
        window.append((earlier, processor.get_pattern_for_span_version(pattern, earlier, version)))
    return window


def _files(input_base: str, pattern: str, settings: ExampleGenSettings) -> list[tuple[str, str]]:
    """(path, format) of every file matched, leaving out folders and, when a glob or folder matched them, names that
    start with '_' or '.', as Hadoop and Spark do (_SUCCESS, .crc files)."""
    found = []
    hidden = ("_", ".") if data_paths.has_glob(posixpath.basename(pattern)) else ()
    for path in sorted(fileio.glob(os.path.join(input_base, pattern))):
        name = posixpath.basename(path.rstrip("/"))
        if path.endswith("/") or name.startswith(hidden) or ("://" not in path and os.path.isdir(path)):
            continue
        data_format = settings.data_format or format_of(path)
        if data_format is None:
            raise text_formats.InputDataError(
                f"{path}: cannot tell its format from its extension; name the files .csv, .tsv, .jsonl or "
                f".tfrecord[.gz], or pass --format"
            )
        found.append((path, data_format))
    return found


def _resolve_inputs(exec_properties: dict, settings: ExampleGenSettings) -> tuple[list[int], dict[str, _SplitInput]]:
    """The spans read and, per split pattern, the files to read: in the executor, when the pipeline runs (the driver
    has resolved the latest span; Kubeflow V2's passes it as a float)."""
    input_config = proto_utils.json_to_proto(
        exec_properties[standard_component_specs.INPUT_CONFIG_KEY], example_gen_pb2.Input()
    )
    input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    has_spans = data_paths.has_span_spec(settings.train_data)
    latest = [int(exec_properties[example_gen_utils.SPAN_PROPERTY_NAME])] if has_spans else []
    spans, splits = [], {}
    for split in input_config.splits:
        window = _window_patterns(exec_properties, settings, split.name) if has_spans else []
        spans = [earlier for earlier, _ in window] + latest  # The same for every split: TFX requires it.
        files = [file for _, pattern in window for file in _files(input_base, pattern, settings)]
        files += _files(input_base, split.pattern, settings)
        if not files:
            raise text_formats.InputDataError(
                f"{split.name}: {os.path.join(input_base, split.pattern)} matches no files"
            )
        formats = Counter(data_format for _, data_format in files)
        log.info(
            "%s: %d files (%s)%s: %s%s",
            split.name,
            len(files),
            ", ".join(f"{count} {data_format}" for data_format, count in sorted(formats.items())),
            f", spans {', '.join(map(str, spans))}" if has_spans else "",
            ", ".join(f"{path} ({data_format})" for path, data_format in files[:_LISTED_FILES]),
            f" and {len(files) - _LISTED_FILES} more" if len(files) > _LISTED_FILES else "",
        )
        splits[split.pattern] = _SplitInput(split.name, split.pattern, files)
    return spans, splits


class Executor(BaseExampleGenExecutor):
    """Reads the user's text files with text_formats; the base class splits and writes them."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        settings = _settings(exec_properties)
        spans, splits = _resolve_inputs(exec_properties, settings)
        [examples] = output_dict[standard_component_specs.EXAMPLES_KEY]
        if spans:
            examples.set_string_custom_property(SPANS_PROPERTY, ",".join(map(str, spans)))
        [quarantined] = output_dict[quarantine.QUARANTINE_KEY]
        run = _Run(settings, quarantined.uri, splits)
        try:
            super().Do(input_dict, output_dict, {**exec_properties, _RUN_KEY: run})
        except RuntimeError as error:  # Worker processes (multi_processing, portable runners) send tracebacks as text.
            found = _WORKER_INPUT_ERROR.search(str(error))
            if not found:
                raise
            raise text_formats.InputDataError(found.group(1)) from error
        summaries = quarantine.read_summaries(quarantined.uri)
        quarantined.set_int_custom_property(quarantine.BAD_ROWS_PROPERTY, sum(s.bad_rows for s in summaries))
        for summary in summaries:
            log.info(
                "%s: %d examples%s",
                summary.split,
                summary.rows,
                f", {summary.bad_rows} bad rows quarantined in {quarantined.uri}" if summary.bad_rows else "",
            )

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _TextToExample
