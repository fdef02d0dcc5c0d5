"""Checks what `sentence-tfx run` will read and write before any of it runs: the data files exist and can be read, the
encoder is a SavedModel with room for --seq-length, and the output folders can be written.

Values alone are checked by PipelineConfig itself; this is the part that needs the file system, so only `run` calls
`check`: `compile` describes a pipeline that runs elsewhere and must not touch its data. Every failure is an InputError
that names the option. URIs (gs://...) get what is cheap: the data's existence, through tf.io.gfile; output URIs are
left to the run.
"""

import json
import glob
import logging
import os
import stat
import tempfile
from pathlib import Path

from sentence_tfx.config import PipelineConfig, format_of, option
from sentence_tfx.encoder import export, st_model
from sentence_tfx.errors import InputError
from sentence_tfx.pipeline import metadata

log = logging.getLogger(__name__)
_SQLITE_HEADER = b"SQLite format 3\0"


def check(config: PipelineConfig) -> None:
    """Raises an InputError for the first path the run could not use; logs the format each data file is read as."""
    if config.eval_data and _scheme(config.train_data) != _scheme(config.eval_data):
        raise InputError(
            f"{option('train_data')} {config.train_data} and {option('eval_data')} {config.eval_data} must be on "
            "one filesystem (both local, or both under one URI scheme)"
        )
    for field in ("train_data", "eval_data"):
        path = getattr(config, field)
        if path:
            _check_data_path(option(field), path)
            how = config.data_format or format_of(path) or "each file's extension says"
            log.info("%s %s: read as %s", option(field), path, how)
    for field in ("preprocessor_handle", "encoder_handle"):
        handle = getattr(config, field)
        if handle and not _scheme(handle):
            _check_saved_model(option(field), handle)
    _check_seq_length(config)
    for field in ("pipeline_root", "serving_dir"):
        check_writable_dir(option(field), getattr(config, field))
    if config.metadata_path:
        _check_sqlite_file(option("metadata_path"), config.metadata_path)
    if config.metadata_mysql:
        metadata.parse_mysql_address(config.metadata_mysql)


def _scheme(path: str) -> str:
    return path.split("://", 1)[0] if "://" in path else ""


def _stat(name: str, path: Path) -> os.stat_result | None:
    """None if nothing is there; an InputError if the path cannot even be looked at (a folder on it is locked)."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise InputError(f"{name} {path}: cannot be read: {error.strerror}") from None


def _check_data_path(name: str, path: str) -> None:
    """A file, a folder or a glob. Span patterns ({SPAN}, {YYYY}...) name data that may arrive later: ExampleGen
    resolves them when it runs."""
    if "{" in path:
        return
    if _scheme(path):
        _check_remote_data_path(name, path)
        return
    if set("*?[") & set(path):
        if not glob.glob(path):
            raise InputError(f"{name} {path}: the pattern matches no files")
        return
    found = _stat(name, Path(path))
    if found is None:
        raise InputError(f"{name} {path}: {'a broken symbolic link' if os.path.islink(path) else 'no such file'}")
    if stat.S_ISDIR(found.st_mode):
        if not any(entry.is_file() and not entry.name.startswith(("_", ".")) for entry in os.scandir(path)):
            raise InputError(f"{name} {path}: the folder holds no files")
        return  # Its files are the data; ExampleGen names any it cannot read.
    if not stat.S_ISREG(found.st_mode):
        raise InputError(f"{name} {path}: not a regular file (the data is read more than once)")
    try:
        with open(path, "rb") as data:
            data.read(1)
    except OSError as error:
        raise InputError(f"{name} {path}: cannot be read: {error.strerror}") from None
    if found.st_size == 0:
        raise InputError(f"{name} {path}: the file is empty")


def _check_remote_data_path(name: str, path: str) -> None:
    import tensorflow as tf

    try:
        if not (tf.io.gfile.glob(path) if set("*?[") & set(path) else tf.io.gfile.exists(path)):
            raise InputError(f"{name} {path}: no such file")
    except tf.errors.OpError as error:
        raise InputError(f"{name} {path}: cannot be reached: {error.message}") from None


def _check_saved_model(name: str, handle: str) -> None:
    found = _stat(name, Path(handle))
    if found is None or not stat.S_ISDIR(found.st_mode):
        raise InputError(f"{name} {handle}: {'no such directory' if found is None else 'not a directory'}")
    if _stat(name, Path(handle) / "saved_model.pb") is None:
        raise InputError(f"{name} {handle}: not a SavedModel (no saved_model.pb in it)")


def _check_seq_length(config: PipelineConfig) -> None:
    """--seq-length fits the encoder's position embeddings, when the encoder says how many it has."""
    if not config.encoder_handle:
        source = export.default_model_dir()
        config_json = json.loads((source / "config.json").read_text(encoding="utf-8"))
        positions = st_model.BertConfig.from_hf(config_json, source).max_positions
    elif not _scheme(config.encoder_handle):
        positions = encoder_positions(Path(config.encoder_handle))
    else:
        positions = None  # A TF Hub URL: nothing is fetched before the run.
    if positions is not None and config.seq_length > positions:
        raise InputError(
            f"{option('seq_length')} {config.seq_length}: the encoder has {positions} positions, so at most "
            f"{positions} tokens per text"
        )


def encoder_positions(encoder_dir: Path) -> int | None:
    """Rows of the encoder's position embedding table (ours: `position_embeddings`; TF Hub's BERT encoders:
    `position_embedding/embeddings`), read from saved_model.pb without loading the model; None if it has none."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    try:
        saved_model = saved_model_pb2.SavedModel.FromString((encoder_dir / "saved_model.pb").read_bytes())
    except DecodeError as error:
        raise InputError(f"{encoder_dir}/saved_model.pb: not a SavedModel: {error}") from None
    rows = {
        node.variable.shape.dim[0].size
        for graph in saved_model.meta_graphs
        for node in graph.object_graph_def.nodes
        if node.WhichOneof("kind") == "variable"
        and "position_embedding" in node.variable.name
        and len(node.variable.shape.dim) == 2
    }
    return rows.pop() if len(rows) == 1 else None


def check_writable_dir(name: str, path: str) -> None:
    """The folder, or the nearest one above it that exists (the run creates the rest), takes a new entry. The probe is
    removed again, so a run refused later leaves nothing behind."""
    if _scheme(path):
        return
    folder = Path(path).absolute()
    existing = folder
    while (found := _stat(name, existing)) is None:
        existing = existing.parent
    if not stat.S_ISDIR(found.st_mode):
        where = "is a file" if existing == folder else f"is inside {existing}, which is a file"
        raise InputError(f"{name} {path}: {where}, not a directory")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".sentence-tfx-probe-", dir=existing))
    except OSError as error:
        raise InputError(f"{name} {path}: cannot write in {existing}: {error.strerror}") from None


def _check_sqlite_file(name: str, path: str) -> None:
    file = Path(path)
    check_writable_dir(name, str(file.parent))
    found = _stat(name, file)
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise InputError(f"{name} {path}: is a directory; ML Metadata needs an SQLite file")
    if found is not None:
        try:
            with file.open("r+b") as database:
                header = database.read(len(_SQLITE_HEADER))
        except OSError as error:
            raise InputError(f"{name} {path}: cannot be written: {error.strerror}") from None
        if header and header != _SQLITE_HEADER:
            raise InputError(f"{name} {path}: not an SQLite database")
