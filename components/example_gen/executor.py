"""The ExampleGen executor: each split's files → tf.Examples with exactly the BYTES features `text` and `label`."""

import dataclasses
import os

import apache_beam as beam
import tensorflow as tf
from google.protobuf import struct_pb2
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from sentence_tfx import features
from sentence_tfx.config import ExampleGenSettings
from sentence_tfx.components.example_gen import text_formats


def _settings(exec_properties: dict) -> dict[str, str]:
    """The ExampleGenSettings fields, from the Struct that custom_config (a JSON-serialised CustomConfig proto)
    carries in its Any."""
    custom_config = proto_utils.json_to_proto(
        exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY], example_gen_pb2.CustomConfig()
    )
    struct = struct_pb2.Struct()
    custom_config.custom_config.Unpack(struct)
    return dataclasses.asdict(ExampleGenSettings(**struct))


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


def _file_to_examples(path: str, **file_settings):
    for _, text, label in text_formats.read_examples(path, **file_settings):
        yield _to_example(text, label)


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _TextToExample(pipeline: beam.Pipeline, exec_properties: dict, split_pattern: str):
    pattern = os.path.join(exec_properties[standard_component_specs.INPUT_BASE_KEY], split_pattern)
    files = sorted(fileio.glob(pattern))
    if not files:
        raise text_formats.InputDataError(f"split pattern {pattern} matches no files")
    return (
        pipeline
        | "Files" >> beam.Create(files)
        | "Read" >> beam.FlatMap(_file_to_examples, **_settings(exec_properties))
    )


class Executor(BaseExampleGenExecutor):
    """Reads the user's text files with text_formats; the base class splits and writes them."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _TextToExample
