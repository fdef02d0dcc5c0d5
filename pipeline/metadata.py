"""Where ML Metadata lives: SQLite beside the pipeline root (default), or a MySQL/MariaDB server.

The server's password is read from $SENTENCE_TFX_MYSQL_PASSWORD, so it never enters the PipelineConfig that every
component records in ML Metadata."""

import os
import re

from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from sentence_tfx.config import PipelineConfig
from sentence_tfx.errors import InputError

PASSWORD_VARIABLE = "SENTENCE_TFX_MYSQL_PASSWORD"
_MYSQL_ADDRESS = re.compile(r"(?P<user>[^@/:]+)@(?P<host>[^@/:]+):(?P<port>\d+)/(?P<database>\w+)")


def parse_mysql_address(address: str) -> dict:
    """ "USER@HOST:PORT/DATABASE" → its parts; the one format the CLI and the config accept."""
    match = _MYSQL_ADDRESS.fullmatch(address)
    if not match:
        raise InputError(
            f"--metadata-mysql {address!r} is not USER@HOST:PORT/DATABASE "
            f"(the password comes from ${PASSWORD_VARIABLE})"
        )
    return {**match.groupdict(), "port": int(match["port"])}


def connection_config(config: PipelineConfig) -> metadata_store_pb2.ConnectionConfig | None:
    """None when neither is set (a remote pipeline root): Kubeflow and Vertex bring their own ML Metadata."""
    if not config.metadata_mysql:
        return config.sqlite_path and tfx.orchestration.metadata.sqlite_metadata_connection_config(config.sqlite_path)
    parts = parse_mysql_address(config.metadata_mysql)
    return tfx.orchestration.metadata.mysql_metadata_connection_config(
        host=parts["host"],
        port=parts["port"],
        database=parts["database"],
        username=parts["user"],
        password=os.environ.get(PASSWORD_VARIABLE, ""),
    )
