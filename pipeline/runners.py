"""The orchestrators that run one `create_pipeline(config)` here and now: TFX's LocalDagRunner (default) or its
BeamDagRunner, which runs each component as a step of an orchestrating Beam pipeline.

Crash recovery: each run registers new executions under its own run id, so an execution that a killed run left
RUNNING stays RUNNING in ML Metadata forever (TFX neither resumes nor reuses it; its cache takes only COMPLETE or
CACHED ones). Before a run starts, such executions of the pipeline are marked FAILED and their partial output folders
removed. A lock beside the metadata store keeps a second run off the store meanwhile, so an execution found RUNNING
then can only be a dead one.
"""

import contextlib
import fcntl
import logging
import os
import socket

from google.rpc import code_pb2
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx
from tfx.dsl.io import fileio
from tfx.orchestration import metadata
from tfx.orchestration.portable import execution_publish_utils
from tfx.proto.orchestration import execution_result_pb2

from sentence_tfx.errors import InputError

log = logging.getLogger(__name__)
RUNNERS = ("local", "beam")
ABANDONED_MESSAGE = "abandoned: the run that started it ended without finishing it (killed); marked by a later run"
_ACTIVE_STATES = (metadata_store_pb2.Execution.NEW, metadata_store_pb2.Execution.RUNNING)


def _lock_path(tfx_pipeline: tfx.dsl.Pipeline) -> str | None:
    """Beside the SQLite store; with a MySQL store, in a local pipeline root; None when neither is local."""
    connection = tfx_pipeline.metadata_connection_config
    if connection.HasField("sqlite"):
        return connection.sqlite.filename_uri + ".lock"
    root, name = tfx_pipeline.pipeline_info.pipeline_root, tfx_pipeline.pipeline_info.pipeline_name
    return None if "://" in root else os.path.join(root, f".{name}.run.lock")


@contextlib.contextmanager
def one_run_at_a_time(path: str):
    """Holds an exclusive lock on `path` (released by the OS however the process ends, kill -9 included)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise InputError(
                f"another run ({lock.read().strip()}) is using this ML Metadata store ({path} is locked); wait for "
                "it to finish, or give this run its own --pipeline-root"
            ) from None
        lock.truncate(0)
        lock.write(f"pid {os.getpid()} on {socket.gethostname()}")
        lock.flush()
        yield


def _remove_partial_outputs(pipeline_root: str, node_id: str, execution_id: int) -> list[str]:
    """The folders TFX made for the execution: <root>/<node>/<output key>/<id> and its .system scratch folder."""
    node_dir = os.path.join(pipeline_root, node_id)
    if not fileio.isdir(node_dir):
        return []
    keys = [key.rstrip("/") for key in fileio.listdir(node_dir) if not key.startswith(".")]
    folders = [os.path.join(node_dir, key, str(execution_id)) for key in keys]
    folders.append(os.path.join(node_dir, ".system", "executor_execution", str(execution_id)))
    removed = [folder for folder in folders if fileio.exists(folder)]
    for folder in removed:
        fileio.rmtree(folder)
    return removed


def _mark_abandoned_executions(tfx_pipeline: tfx.dsl.Pipeline) -> None:
    """Marks the pipeline's NEW or RUNNING executions FAILED; call it only while no run of it is alive."""
    name, root = tfx_pipeline.pipeline_info.pipeline_name, tfx_pipeline.pipeline_info.pipeline_root
    with metadata.Metadata(tfx_pipeline.metadata_connection_config) as handle:
        context = handle.store.get_context_by_type_and_name("pipeline", name)
        executions = handle.store.get_executions_by_context(context.id) if context else []
        for execution in (e for e in executions if e.last_known_state in _ACTIVE_STATES):
            contexts = handle.store.get_contexts_by_execution(execution.id)
            node_id = next(c.name.removeprefix(f"{name}.") for c in contexts if c.type == "node")
            execution_publish_utils.publish_failed_execution(
                handle,
                contexts,
                execution.id,
                execution_result_pb2.ExecutorOutput(
                    execution_result=execution_result_pb2.ExecutionResult(
                        code=code_pb2.ABORTED, result_message=ABANDONED_MESSAGE
                    )
                ),
            )
            removed = _remove_partial_outputs(root, node_id, execution.id)
            log.warning(
                "%s execution %d was left RUNNING by a run that did not finish: marked FAILED%s",
                node_id,
                execution.id,
                f", its partial outputs removed ({', '.join(removed)})" if removed else "",
            )


def run(tfx_pipeline: tfx.dsl.Pipeline, runner: str = "local") -> None:
    if runner not in RUNNERS:
        raise InputError(f"runner {runner!r} is not one of {', '.join(RUNNERS)}")
    path = _lock_path(tfx_pipeline)
    with contextlib.ExitStack() as stack:
        if path:
            stack.enter_context(one_run_at_a_time(path))
            _mark_abandoned_executions(tfx_pipeline)
        else:
            log.warning("Remote pipeline root and metadata: executions left RUNNING by killed runs are not checked")
        if runner == "beam":
            from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner  # Not in tfx.v1.

            BeamDagRunner().run(tfx_pipeline)
        else:
            tfx.orchestration.LocalDagRunner().run(tfx_pipeline)
