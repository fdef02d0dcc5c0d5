"""Curated TFDV schemas, completed per run (the label vocabulary) by the CuratedSchemaGen component."""

from sentence_tfx import keras2  # noqa: F401  (Keras 2 before TensorFlow loads)

import json
import os
from collections.abc import Sequence
from importlib import resources

import tensorflow as tf
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx import v1 as tfx

from sentence_tfx.errors import InputError

CURATED_SCHEMA = "text_classification.pbtxt"
LABEL_DOMAIN = "label"
SCHEMA_FILE = "schema.pbtxt"


def write_schema(label_names: Sequence[str], out_dir) -> str:
    """Writes the curated schema with `label_names` as the label domain to `out_dir/schema.pbtxt`; returns that path.

    The order of `label_names` is kept: downstream it is the order of the class indices. `out_dir` may be any
    filesystem TensorFlow knows (local, gs://, s3://...).
    """
    _check_label_names(label_names)
    schema = text_format.Parse(resources.files(__name__).joinpath(CURATED_SCHEMA).read_text(), schema_pb2.Schema())
    (domain,) = (d for d in schema.string_domain if d.name == LABEL_DOMAIN)
    domain.value[:] = label_names
    tf.io.gfile.makedirs(str(out_dir))
    path = os.path.join(str(out_dir), SCHEMA_FILE)
    with tf.io.gfile.GFile(path, "w") as out:
        out.write(
            f"# Written by schemas.write_schema from {CURATED_SCHEMA}; see that file for the why.\n"
            + text_format.MessageToString(schema)
        )
    return path


@tfx.dsl.components.component
def CuratedSchemaGen(
    label_names_json: tfx.dsl.components.Parameter[str],
    schema: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.Schema],
) -> None:
    """The curated schema with this run's labels, written at run time into the run's own output, so a pipeline
    compiled for a remote orchestrator needs nothing staged beside it (ImportSchemaGen would need a file there)."""
    write_schema(json.loads(label_names_json), schema.uri)


def _check_label_names(label_names: Sequence[str]) -> None:
    if isinstance(label_names, str):
        raise TypeError(f"label_names must be a sequence of names, not the string {label_names!r}")
    if any(not name.strip() for name in label_names):
        raise InputError(f"label_names contain an empty or blank name: {list(label_names)}")
    repeated = sorted({name for name in label_names if label_names.count(name) > 1})
    if repeated:
        raise InputError(f"label_names repeat {', '.join(map(repr, repeated))}: each class needs one name")
    if len(label_names) < 2:
        raise InputError(f"a classifier needs at least 2 distinct label names, got {list(label_names)}")
