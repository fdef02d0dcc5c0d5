"""Server-side batching, opt-in as in TF Serving: concurrent calls of one signature are merged into one model call.

Requests are validated before they are queued, so a batch holds only well-formed tasks. A batch is closed when it
holds `max_batch_size` rows, or taken by a free one of `num_batch_threads` threads once `batch_timeout_micros` have
passed since its first task arrived. If a merged call fails, each task of that batch is run alone, so one request's
failure is never its batch-mates'.

Tasks of one signature share a batch only if their inputs' trailing shapes match and their longest strings fall in the
same power-of-two byte length: the model pads a batch to its longest text, which for random SST-2 texts in batches of
32 is 1.9 times the tokens of the texts themselves.
"""

import dataclasses
import os
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from sentence_tfx.errors import InputError

Arrays = dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class BatchingOptions:
    """TF Serving's batching parameters, with its defaults (num_batch_threads: the number of CPUs)."""

    max_batch_size: int = 32
    batch_timeout_micros: int = 2000
    num_batch_threads: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)

    def __post_init__(self):
        for name in ("max_batch_size", "num_batch_threads"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.batch_timeout_micros < 0:
            raise InputError(f"--batch-timeout-micros must be at least 0, got {self.batch_timeout_micros}")


class _Task:
    def __init__(self, inputs: Arrays):
        self.inputs = inputs
        self.rows = next(iter(inputs.values())).shape[0]
        longest = max(
            (len(text) for value in inputs.values() if value.dtype == object for text in value.flat), default=0
        )
        # Which batches it may join: equal trailing shapes, longest string of the same power-of-two length.
        self.key = (tuple(sorted((name, value.shape[1:]) for name, value in inputs.items())), longest.bit_length())
        self.done = threading.Event()
        self.outputs: Arrays | None = None
        self.error: BaseException | None = None

    def finish(self, outputs: Arrays | None = None, error: BaseException | None = None) -> None:
        self.outputs, self.error = outputs, error
        self.done.set()


class _Batch:
    def __init__(self, first: _Task, timeout_seconds: float):
        self.tasks = [first]
        self.rows = first.rows
        self.deadline = time.monotonic() + timeout_seconds


class Batcher:
    """Merges calls of `run` (one signature of one version) along the batch dimension, then splits the outputs.

    `run` must accept and return arrays whose first dimension is the batch; `on_batch(rows)` sees each merged call.
    """

    def __init__(self, run: Callable[[Arrays], Arrays], options: BatchingOptions, on_batch: Callable[[int], None]):
        self._run = run
        self._options = options
        self._on_batch = on_batch
        self._condition = threading.Condition()
        self._open: dict[tuple, _Batch] = {}  # by task key
        self._closed_batches: deque[_Batch] = deque()
        self._retired = False
        self._threads = [
            threading.Thread(target=self._work, name=f"batch-{index}", daemon=True)
            for index in range(options.num_batch_threads)
        ]
        for thread in self._threads:
            thread.start()

    def __call__(self, inputs: Arrays) -> Arrays:
        task = _Task(inputs)
        if task.rows > self._options.max_batch_size:
            return self._run(inputs)  # Larger than a batch: it is one already.
        with self._condition:
            if self._retired:  # A request that took this version just before it was swapped out.
                task = None
            else:
                self._enqueue(task)
                self._condition.notify_all()
        if task is None:
            return self._run(inputs)
        task.done.wait()
        if task.error is not None:
            raise task.error
        return task.outputs

    def retire(self) -> None:
        """Runs what is queued, then stops the threads; later calls run unbatched."""
        with self._condition:
            self._retired = True
            self._condition.notify_all()
        for thread in self._threads:
            thread.join()

    def _enqueue(self, task: _Task) -> None:
        batch = self._open.get(task.key)
        if batch is not None and batch.rows + task.rows > self._options.max_batch_size:
            self._closed_batches.append(self._open.pop(task.key))
            batch = None
        if batch is None:
            batch = self._open[task.key] = _Batch(task, self._options.batch_timeout_micros / 1e6)
        else:
            batch.tasks.append(task)
            batch.rows += task.rows
        if batch.rows == self._options.max_batch_size:
            self._closed_batches.append(self._open.pop(task.key))

    def _next_batch(self) -> _Batch | None:
        """The next batch to run, waiting for one; None once retired and drained."""
        with self._condition:
            while True:
                if self._closed_batches:
                    return self._closed_batches.popleft()
                if self._open:
                    key, batch = min(self._open.items(), key=lambda item: item[1].deadline)
                    wait = batch.deadline - time.monotonic()
                    if wait <= 0 or self._retired:
                        return self._open.pop(key)
                    self._condition.wait(wait)
                elif self._retired:
                    return None
                else:
                    self._condition.wait()

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._execute(batch.tasks)

    def _execute(self, tasks: list[_Task]) -> None:
        sizes = [task.rows for task in tasks]
        try:
            merged = {name: np.concatenate([task.inputs[name] for task in tasks]) for name in tasks[0].inputs}
            self._on_batch(sum(sizes))
            outputs = self._run(merged)
            for name, value in outputs.items():
                if value.ndim == 0 or value.shape[0] != sum(sizes):
                    raise ValueError(f"output {name} of shape {list(value.shape)} has no batch dimension")
            splits = {name: np.split(value, np.cumsum(sizes)[:-1]) for name, value in outputs.items()}
        except BaseException as error:  # noqa: BLE001  (every waiting request must get an answer)
            if len(tasks) == 1:
                tasks[0].finish(error=error)
            else:
                for task in tasks:
                    self._execute([task])
            return
        for index, task in enumerate(tasks):
            task.finish({name: parts[index] for name, parts in splits.items()})
