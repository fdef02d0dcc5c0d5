"""`serve`: the version watcher, the gRPC server and the REST server in one process, like tensorflow_model_server.

On SIGTERM it drains: readiness fails at once and REST responses close their connections, while requests are still
answered for `drain_seconds` (time for a load balancer to stop sending); then it stops accepting, lets in-flight
requests finish (up to GRACE_SECONDS) and exits 0.
"""

import functools
import logging
import signal
import socket
import threading
import time
from pathlib import Path

import tensorflow as tf
import uvicorn

from sentence_tfx.errors import InputError
from sentence_tfx.serving import grpc_service, rest
from sentence_tfx.serving.batching import BatchingOptions
from sentence_tfx.serving.http_protocol import HeaderTimeoutProtocol
from sentence_tfx.serving.versions import VersionManager

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 16 * 1024 * 1024
HEADER_TIMEOUT_SECONDS = 10.0
BODY_TIMEOUT_SECONDS = 30.0
DRAIN_SECONDS = 5.0
GRACE_SECONDS = 10.0  # for in-flight requests once the listeners are closed
# Idle keep-alive connections stay open longer than load balancers' and client pools' idle timeouts (60 s is the
# common one): a server that closes first (uvicorn's default is 5 s) races the client's next request on that
# connection, which then fails with "connection reset by peer".
KEEP_ALIVE_SECONDS = 75.0


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ModelServer:
    """Start/stop handle, so tests (and `serve`) can run the server with ephemeral ports (port 0).

    `batching`: None serves each request with its own model call (TF Serving's default).
    """

    def __init__(
        self,
        model_base_path: Path,
        model_name: str,
        host: str = "127.0.0.1",
        rest_port: int = 8501,
        grpc_port: int = 8500,
        poll_interval: float = 2.0,
        max_body_bytes: int = MAX_BODY_BYTES,
        *,
        batching: BatchingOptions | None = None,
        header_timeout: float = HEADER_TIMEOUT_SECONDS,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
    ):
        for option, value in (
            ("--poll-interval", poll_interval),
            ("--header-timeout", header_timeout),
            ("--body-timeout", body_timeout),
        ):
            if not value > 0:
                raise InputError(f"{option} must be more than 0 seconds, got {value}")
        self.manager = VersionManager(model_base_path, model_name, poll_interval, batching)
        self.draining = threading.Event()
        self.host = host
        # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets created as TCP; with Nagle on,
        # each response body waited ~40 ms for the client's delayed ACK.
        self._rest_socket = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
        )
        self._rest_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._rest_socket.bind((host, rest_port))
        self.rest_port = self._rest_socket.getsockname()[1]
        self._grpc, self.grpc_port = grpc_service.create_server(self.manager, _address(host, grpc_port), max_body_bytes)
        self._rest = uvicorn.Server(
            uvicorn.Config(
                rest.create_app(self.manager, max_body_bytes, body_timeout, self.draining),
                http=functools.partial(HeaderTimeoutProtocol, header_timeout=header_timeout),
                lifespan="off",
                log_level="warning",
                access_log=False,
                timeout_keep_alive=KEEP_ALIVE_SECONDS,
                timeout_graceful_shutdown=GRACE_SECONDS,
            )
        )
        self._rest_thread = threading.Thread(
            target=self._rest.run, kwargs={"sockets": [self._rest_socket]}, name="rest", daemon=True
        )

    def start(self) -> None:
        self.manager.start()
        self._grpc.start()
        self._rest_thread.start()
        while not self._rest.started:
            if not self._rest_thread.is_alive():
                raise RuntimeError(f"The REST server on {_address(self.host, self.rest_port)} failed to start")
            time.sleep(0.02)
        logger.info(
            "Serving %s from %s: REST on %s, gRPC on %s",
            self.manager.model_name,
            self.manager.base_path,
            _address(self.host, self.rest_port),
            _address(self.host, self.grpc_port),
        )

    def stop(self) -> None:
        """Stops accepting, lets in-flight requests finish, then unloads."""
        self._rest.should_exit = True
        grpc_stopped = self._grpc.stop(grace=GRACE_SECONDS)
        self._rest_thread.join()
        grpc_stopped.wait()
        self.manager.stop()
        self._rest_socket.close()


def serve(
    model_base_path: Path,
    model_name: str,
    host: str = "127.0.0.1",
    rest_port: int = 8501,
    grpc_port: int = 8500,
    poll_interval: float = 2.0,
    max_body_bytes: int = MAX_BODY_BYTES,
    *,
    batching: BatchingOptions | None = None,
    header_timeout: float = HEADER_TIMEOUT_SECONDS,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    drain_seconds: float = DRAIN_SECONDS,
    tensorflow_intra_op_parallelism: int = 0,
    tensorflow_inter_op_parallelism: int = 0,
) -> None:
    """Serves until SIGINT or SIGTERM. SIGTERM drains first (a second signal cuts the drain short); both then let
    in-flight requests finish. The thread counts are the process's (0: TensorFlow's choice), so set before any model
    loads."""
    if drain_seconds < 0:
        raise InputError(f"--drain-seconds must be at least 0, got {drain_seconds}")
    threads = {"intra": tensorflow_intra_op_parallelism, "inter": tensorflow_inter_op_parallelism}
    for kind, count in threads.items():
        if count < 0:
            raise InputError(
                f"--tensorflow-{kind}-op-parallelism must be at least 0 (0: TensorFlow's choice), got {count}"
            )
    tf.config.threading.set_intra_op_parallelism_threads(tensorflow_intra_op_parallelism)
    tf.config.threading.set_inter_op_parallelism_threads(tensorflow_inter_op_parallelism)
    logger.info(
        "TensorFlow threads: %s",
        ", ".join(f"{kind}-op {count or 'TensorFlow default'}" for kind, count in threads.items()),
    )
    server = ModelServer(
        model_base_path,
        model_name,
        host,
        rest_port,
        grpc_port,
        poll_interval,
        max_body_bytes,
        batching=batching,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
    )
    stopping, drain_cut_short = threading.Event(), threading.Event()
    received = []

    def on_signal(signal_number, frame):
        received.append(signal_number)
        (drain_cut_short if stopping.is_set() else stopping).set()

    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, on_signal)
    server.start()
    try:
        while not stopping.wait(0.5):
            pass
        if received[0] == signal.SIGTERM and drain_seconds:
            server.draining.set()
            logger.info(
                "SIGTERM: draining for %g s (readiness fails, connections close after each response)", drain_seconds
            )
            drain_cut_short.wait(drain_seconds)
    finally:
        server.stop()
        logger.info("Stopped serving %s", model_name)
