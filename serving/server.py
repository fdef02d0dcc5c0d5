"""`serve`: the version watcher, the gRPC server and the REST server in one process, like tensorflow_model_server."""

import logging
import signal
import socket
import threading
import time
from pathlib import Path

import uvicorn

from sentence_tfx.serving import grpc_service, rest
from sentence_tfx.serving.versions import VersionManager

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 16 * 1024 * 1024


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ModelServer:
    """Start/stop handle, so tests (and `serve`) can run the server with ephemeral ports (port 0)."""

    def __init__(
        self,
        model_base_path: Path,
        model_name: str,
        host: str = "127.0.0.1",
        rest_port: int = 8501,
        grpc_port: int = 8500,
        poll_interval: float = 2.0,
        max_body_bytes: int = MAX_BODY_BYTES,
    ):
        self.manager = VersionManager(model_base_path, model_name, poll_interval)
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
                rest.create_app(self.manager, max_body_bytes),
                lifespan="off",
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=5,
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
        self._rest.should_exit = True
        self._rest_thread.join()
        self._grpc.stop(grace=5).wait()
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
) -> None:
    """Serves until SIGINT or SIGTERM, then lets in-flight requests finish."""
    server = ModelServer(model_base_path, model_name, host, rest_port, grpc_port, poll_interval, max_body_bytes)
    stopping = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopping.set())
    server.start()
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        server.stop()
