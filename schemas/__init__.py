"""Curated TFDV schemas, completed per run (the label vocabulary) and written where ImportSchemaGen can read them."""
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

CURATED_SCHEMA = "text_classification.pbtxt"
LABEL_DOMAIN = "label"
SCHEMA_FILE = "schema.pbtxt"


def write_schema(label_names: Sequence[str], out_dir) -> Path:
    """Writes the curated schema with `label_names` as the label domain to `out_dir/schema.pbtxt`; returns that path.

    The order of `label_names` is kept: downstream it is the order of the class indices.
    """
    _check_label_names(label_names)
    schema = text_format.Parse(resources.files(__name__).joinpath(CURATED_SCHEMA).read_text(), schema_pb2.Schema())
    (domain,) = (d for d in schema.string_domain if d.name == LABEL_DOMAIN)
    domain.value[:] = label_names
    path = Path(out_dir) / SCHEMA_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# Written by schemas.write_schema from {CURATED_SCHEMA}; see that file for the why.\n"
                    + text_format.MessageToString(schema))
    return path


def _check_label_names(label_names: Sequence[str]) -> None:
    if isinstance(label_names, str):
        raise TypeError(f"label_names must be a sequence of names, not the string {label_names!r}")
    if any(not name.strip() for name in label_names):
        raise ValueError(f"label_names contain an empty or blank name: {list(label_names)}")
    repeated = sorted({name for name in label_names if label_names.count(name) > 1})
    if repeated:
        raise ValueError(f"label_names repeat {', '.join(map(repr, repeated))}: each class needs one name")
    if len(label_names) < 2:
        raise ValueError(f"a classifier needs at least 2 distinct label names, got {list(label_names)}")
