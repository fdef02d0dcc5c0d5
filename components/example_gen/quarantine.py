"""The quarantine: the rows ExampleGen could not turn into examples, kept with where and why, and counted.

Layout of a QuarantinedRows artifact, per input split (`train`, `eval`):
  <uri>/<split>/bad_rows-*.jsonl  one JSON object per bad row: file, line, location, reason, raw
  <uri>/<split>/summary.json      rows (good), bad_rows, first_bad_rows (the first few, as `FILE:LINE: reason`)
"""

import dataclasses
import json
import os

import tensorflow as tf
from tfx import v1 as tfx

from sentence_tfx.components.example_gen.text_formats import BadRow

QUARANTINE_KEY = "quarantine"
BAD_ROWS_PROPERTY = "bad_rows"  # Custom property of the artifact: the count over all splits.
FIRST_BAD_ROWS = 10
SUMMARY_FILE = "summary.json"


class QuarantinedRows(tfx.dsl.Artifact):
    """Rows that ExampleGen skipped (`--bad-rows skip`), with file, line, reason and the row as written."""

    # "<module>.<Class>": Kubeflow V2 / Vertex only accept custom type names of this form, and the container imports
    # the class from it (sentence_tfx exposes it lazily, see sentence_tfx/__init__.py).
    TYPE_NAME = "sentence_tfx.QuarantinedRows"


@dataclasses.dataclass(frozen=True)
class SplitSummary:
    split: str
    rows: int  # Examples written.
    bad_rows: int  # Rows quarantined.
    first_bad_rows: list[str]  # `FILE:LINE: reason` of the first few, by file and line.


def bad_rows_prefix(uri: str, split: str) -> str:
    return os.path.join(uri, split, "bad_rows")


def to_json_line(bad_row: BadRow) -> str:
    return json.dumps(dataclasses.asdict(bad_row), ensure_ascii=False)


def first_key(bad_row: BadRow) -> tuple[str, int]:
    """The order in which bad rows are listed: by file, then line."""
    return bad_row.file, bad_row.line


def write_summary(uri: str, summary: SplitSummary) -> None:
    tf.io.gfile.makedirs(os.path.join(uri, summary.split))
    with tf.io.gfile.GFile(os.path.join(uri, summary.split, SUMMARY_FILE), "w") as out:
        out.write(json.dumps(dataclasses.asdict(summary)))


def read_summaries(uri: str) -> list[SplitSummary]:
    summaries = []
    for path in sorted(tf.io.gfile.glob(os.path.join(uri, "*", SUMMARY_FILE))):
        with tf.io.gfile.GFile(path) as file:
            summaries.append(SplitSummary(**json.load(file)))
    return summaries
