"""Curated TFDV schemas, completed per run (the label vocabulary) by the CuratedSchemaGen component.

The schema artifact is where a run's label names live: the `--labels` given, or the distinct labels of the train
split, found at run time in StatisticsGen's statistics (nothing reads the data when the pipeline is defined).
Transform, Trainer, Evaluator and the run summary read them back with `read_label_names`.
"""

from sentence_tfx import keras2  # noqa: F401  (Keras 2 before TensorFlow loads)

import json
import logging
import os
import re
from collections.abc import Sequence
from importlib import resources

import tensorflow as tf
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2
from tfx import v1 as tfx
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.utils import io_utils

from sentence_tfx import features
from sentence_tfx.errors import InputError

log = logging.getLogger(__name__)
CURATED_SCHEMA = "text_classification.pbtxt"
LABEL_DOMAIN = "label"
SCHEMA_FILE = "schema.pbtxt"
TRAIN_SPLIT = "train"


def label_sort_key(label: str):
    """Numbers in numeric order ("2" before "10"), then names alphabetically."""
    return (0, float(label), "") if re.fullmatch(r"-?\d+(\.\d+)?", label) else (1, 0.0, label)


def write_schema(label_names: Sequence[str], out_dir) -> str:
    """Writes the curated schema with `label_names` as the label domain to `out_dir/schema.pbtxt`; returns that path.

    The order of `label_names` is kept: downstream it is the order of the class indices. `out_dir` may be any
    filesystem TensorFlow knows (local, gs://, s3://...). Fewer than two names are written as they are: the
    validation gate stops a run whose train split has fewer than two classes, with the counts.
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


def read_label_names(schema_file: str) -> tuple[str, ...]:
    """The label names, in class index order, of a schema written by write_schema."""
    schema = io_utils.SchemaReader().read(schema_file)
    (domain,) = (d for d in schema.string_domain if d.name == LABEL_DOMAIN)
    return tuple(domain.value)


def schema_file(schema_uri: str) -> str:
    """The schema file inside a Schema artifact written by CuratedSchemaGen."""
    return os.path.join(schema_uri, SCHEMA_FILE)


def labels_in_statistics(statistics: statistics_pb2.DatasetFeatureStatistics) -> list[str]:
    """The distinct labels of one split's statistics, sorted by label_sort_key. TFDV counts every distinct value
    exactly but lists at most its rank histogram's buckets (1,000 by default): more labels than that is refused."""
    label = next((f for f in statistics.features if f.path.step == [features.LABEL]), None)
    if label is None:
        return []
    listed = [bucket.label for bucket in label.string_stats.rank_histogram.buckets]
    if len(listed) < label.string_stats.unique:
        raise InputError(
            f"{TRAIN_SPLIT}: {features.LABEL}: {label.string_stats.unique} distinct labels, more than the "
            f"{len(listed)} a classifier here takes; is --label-column right? (or give them with --labels)"
        )
    return sorted(listed, key=label_sort_key)


@tfx.dsl.components.component
def CuratedSchemaGen(
    statistics: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleStatistics],
    label_names_json: tfx.dsl.components.Parameter[str],
    schema: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.Schema],
) -> None:
    """The curated schema with this run's labels: `label_names_json` (a JSON list) when not empty, else the train
    split's distinct labels from `statistics`. Written at run time into the run's own output, so a pipeline compiled
    for a remote orchestrator needs nothing staged beside it (ImportSchemaGen would need a file there)."""
    label_names = json.loads(label_names_json)
    if not label_names:
        split_statistics = stats_artifact_utils.load_statistics(statistics, TRAIN_SPLIT)
        label_names = labels_in_statistics(split_statistics.get_default_slice_or_die().proto())
        log.info("label names from the %s split: %s", TRAIN_SPLIT, ", ".join(label_names))
    write_schema(label_names, schema.uri)


def _check_label_names(label_names: Sequence[str]) -> None:
    if isinstance(label_names, str):
        raise TypeError(f"label_names must be a sequence of names, not the string {label_names!r}")
    if any(not name.strip() for name in label_names):
        raise InputError(f"label_names contain an empty or blank name: {list(label_names)}")
    repeated = sorted({name for name in label_names if label_names.count(name) > 1})
    if repeated:
        raise InputError(f"label_names repeat {', '.join(map(repr, repeated))}: each class needs one name")
