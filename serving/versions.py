"""Watches `<base>/<version>/` and serves the newest complete version that loads, as TF Serving's "latest" policy does.

Version folders are named by a plain int64 (TF Serving's version type); any other name is ignored with one warning.
The Pusher copies `saved_model.pb` last, so a version directory without it is still being copied and is skipped. A new
version is loaded and warmed up while the old one keeps serving, then swapped in with one reference assignment;
requests already holding the old version finish on it, and it is freed when they drop it. A version that fails to
load is retried only when its files change; until then the newest older version that loads is served. Deleting the
served version's folder rolls back to the newest remaining one.
"""

import functools
import logging
import re
import threading
import time
from pathlib import Path

import grpc
from tensorflow_serving.apis import get_model_status_pb2

from sentence_tfx.serving.batching import BatchingOptions
from sentence_tfx.serving.metrics import ServingMetrics
from sentence_tfx.serving.servable import Servable, ServingError

logger = logging.getLogger(__name__)
State = get_model_status_pb2.ModelVersionStatus.State
INT64_MAX = 2**63 - 1
_PLAIN_INTEGER = re.compile(r"0|[1-9][0-9]*")


def parse_version(name: str) -> int | None:
    """A version number written as TF Serving's int64 is, without sign, spaces or leading zeros; else None."""
    if not _PLAIN_INTEGER.fullmatch(name) or len(name) > len(str(INT64_MAX)):
        return None
    number = int(name)
    return number if number <= INT64_MAX else None


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
    def __init__(
        self,
        base_path: Path,
        model_name: str,
        poll_interval: float = 2.0,
        batching: BatchingOptions | None = None,
        metrics: ServingMetrics | None = None,
    ):
        self.base_path = Path(base_path)
        self.model_name = model_name
        self.poll_interval = poll_interval
        self.batching = batching
        self.metrics = metrics or ServingMetrics()
        self.metrics.serving_version.labels(model_name).set(-1)
        self._current: Servable | None = None
        self._states: dict[int, tuple[int, grpc.StatusCode, str]] = {}  # version → state, load status, message
        self._failed: dict[int, tuple] = {}  # version → fingerprint of the files that failed to load
        self._ignored: set[str] = set()  # names in the base path that are not versions, warned about once
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        """A version is loaded and answers requests."""
        return self._current is not None

    @property
    def watching(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Loads what is there now (like TF Serving before it opens its ports), then keeps polling."""
        self.poll()
        if self._current is None:
            logger.warning(
                "No version of %s under %s loaded yet; polling every %.1f s",
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
        if self._current is not None:
            self._current.retire()

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
        versions = {}
        for entry in entries:
            number = parse_version(entry.name)
            if number is None:
                if entry.name not in self._ignored:
                    self._ignored.add(entry.name)
                    logger.warning(
                        "Ignoring %s: a version folder is named by an integer from 0 to %d without leading zeros",
                        entry,
                        INT64_MAX,
                    )
            elif (entry / "saved_model.pb").is_file():
                versions[number] = entry
        return versions

    def poll(self) -> None:
        """Loads the newest version newer than the served one (any version if the served one's folder is gone)."""
        versions = self.complete_versions()
        current = self._current
        for number in sorted(versions, reverse=True):
            if current is not None and current.version in versions and number <= current.version:
                return
            fingerprint = _fingerprint(versions[number])
            if self._failed.get(number) != fingerprint and self._load(number, versions[number], fingerprint):
                return

    def _load(self, number: int, path: Path, fingerprint: tuple) -> bool:
        previous = self._current
        self._states[number] = (State.LOADING, grpc.StatusCode.OK, "")
        start = time.perf_counter()
        servable = None
        try:
            servable = Servable(
                path,
                number,
                self.batching,
                functools.partial(self._observe_batch, number),
            )
            servable.warm_up()
        except Exception as error:  # noqa: BLE001  (a broken push must not take the serving version down)
            if servable is not None:
                servable.retire()
            logger.error(
                "Loading version %d of %s failed; still serving %s: %s",
                number,
                self.model_name,
                previous.version if previous else "nothing",
                error,
            )
            self._failed[number] = fingerprint
            self._states[number] = (State.END, grpc.StatusCode.UNKNOWN, f"Failed to load: {error}")
            return False
        self.metrics.load_seconds.labels(self.model_name, str(number)).set(time.perf_counter() - start)
        self._failed.pop(number, None)
        self._current = servable
        self.metrics.serving_version.labels(self.model_name).set(number)
        self._states[number] = (State.AVAILABLE, grpc.StatusCode.OK, "")
        if previous is not None:
            self._states[previous.version] = (State.END, grpc.StatusCode.OK, "")
            previous.retire()
        logger.info("Serving version %d of %s", number, self.model_name)
        return True

    def _observe_batch(self, version: int, signature: str, rows: int) -> None:
        self.metrics.batch_size.labels(self.model_name, str(version), signature).observe(rows)

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
