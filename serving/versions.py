"""Watches `<base>/<version>/` and serves the newest complete version, as TF Serving's default "latest" policy does.

The Pusher copies `saved_model.pb` last, so a version directory without it is still being copied and is skipped. A new
version is loaded and warmed up while the old one keeps serving, then swapped in with one reference assignment;
requests already holding the old version finish on it, and it is freed when they drop it.
"""

import logging
import threading
from pathlib import Path

import grpc
from tensorflow_serving.apis import get_model_status_pb2

from sentence_tfx.serving.servable import Servable, ServingError

logger = logging.getLogger(__name__)
State = get_model_status_pb2.ModelVersionStatus.State


def _fingerprint(path: Path) -> tuple:
    """Changes whenever a file of the version is rewritten, so a version that failed to load is retried only then."""
    return tuple(
        sorted(
            (str(file.relative_to(path)), file.stat().st_size, file.stat().st_mtime_ns)
            for file in path.rglob("*")
            if file.is_file()
        )
    )


class VersionManager:
    def __init__(self, base_path: Path, model_name: str, poll_interval: float = 2.0):
        self.base_path = Path(base_path)
        self.model_name = model_name
        self.poll_interval = poll_interval
        self._current: Servable | None = None
        self._states: dict[int, tuple[int, grpc.StatusCode, str]] = {}  # version → state, load status, message
        self._failed: dict[int, tuple] = {}  # version → fingerprint of the files that failed to load
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Loads what is there now (like TF Serving before it opens its ports), then keeps polling."""
        self.poll()
        if self._current is None:
            logger.warning(
                "No complete versions of %s under %s yet; polling every %.1f s",
                self.model_name,
                self.base_path,
                self.poll_interval,
            )
        self._thread = threading.Thread(target=self._watch, name=f"versions-{self.model_name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.poll()
            except Exception:  # The watcher must outlive any file-system surprise.
                logger.exception("Polling %s failed", self.base_path)

    def complete_versions(self) -> dict[int, Path]:
        try:
            entries = list(self.base_path.iterdir())
        except OSError:
            return {}
        return {
            int(entry.name): entry for entry in entries if entry.name.isdigit() and (entry / "saved_model.pb").is_file()
        }

    def poll(self) -> None:
        versions = self.complete_versions()
        if not versions:
            return
        latest = max(versions)
        previous = self._current
        if previous is not None and previous.version == latest:
            return
        fingerprint = _fingerprint(versions[latest])
        if self._failed.get(latest) == fingerprint:
            return
        self._states[latest] = (State.LOADING, grpc.StatusCode.OK, "")
        try:
            servable = Servable(versions[latest], latest)
            servable.warm_up()
        except Exception as error:  # noqa: BLE001  (a broken push must not take the serving version down)
            logger.error(
                "Loading version %d of %s failed; still serving %s: %s",
                latest,
                self.model_name,
                previous.version if previous else "nothing",
                error,
            )
            self._failed[latest] = fingerprint
            self._states[latest] = (State.END, grpc.StatusCode.UNKNOWN, f"Failed to load: {error}")
            return
        self._current = servable
        self._states[latest] = (State.AVAILABLE, grpc.StatusCode.OK, "")
        if previous is not None:
            self._states[previous.version] = (State.END, grpc.StatusCode.OK, "")
        logger.info("Serving version %d of %s", latest, self.model_name)

    def servable(self, model_name: str, version: int | None = None) -> Servable:
        current = self._current
        if model_name != self.model_name or current is None or version not in (None, current.version):
            request = f"Specific({model_name}, {version})" if version is not None else f"Latest({model_name})"
            raise ServingError(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: {request}")
        return current

    def status(self, model_name: str, version: int | None = None) -> get_model_status_pb2.GetModelStatusResponse:
        states = dict(self._states)
        if model_name != self.model_name or not states:
            raise ServingError(grpc.StatusCode.NOT_FOUND, f"Could not find any versions of model {model_name}")
        if version is not None and version not in states:
            raise ServingError(grpc.StatusCode.NOT_FOUND, f"Could not find version {version} of model {model_name}")
        response = get_model_status_pb2.GetModelStatusResponse()
        for number in sorted(states, reverse=True) if version is None else [version]:
            state, code, message = states[number]
            entry = response.model_version_status.add(version=number, state=state)
            entry.status.error_code = code.value[0]
            entry.status.error_message = message
        return response
