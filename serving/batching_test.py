import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import base64
import threading
from concurrent import futures

import httpx
import numpy as np
import pytest
import tensorflow as tf
from prometheus_client.parser import text_string_to_metric_families

from sentence_tfx.errors import InputError
from sentence_tfx.serving.batching import Batcher, BatchingOptions
from sentence_tfx.serving.conftest import MODEL_NAME, running_server
from sentence_tfx.serving.metrics import METRICS_PATH

MAX_BATCH = 8
TEXTS = [f"film number {index} was {'great' if index % 2 else 'dreadful'}" for index in range(MAX_BATCH)]


def _doubled(arrays):
    return {"doubled": arrays["x"] * 2}


def _concurrently(function, arguments: list) -> list:
    """Calls function(argument) for every argument from its own thread, all released at once."""
    barrier = threading.Barrier(len(arguments))

    def call(argument):
        barrier.wait()
        return function(argument)

    with futures.ThreadPoolExecutor(len(arguments)) as pool:
        return list(pool.map(call, arguments))


def test_options_are_checked():
    for bad in ({"max_batch_size": 0}, {"num_batch_threads": 0}, {"batch_timeout_micros": -1}):
        with pytest.raises(InputError, match="--(max-batch-size|num-batch-threads|batch-timeout-micros) must be"):
            BatchingOptions(**bad)


def test_calls_are_merged_up_to_the_batch_size_and_split_back():
    sizes = []
    batcher = Batcher(_doubled, BatchingOptions(max_batch_size=6, batch_timeout_micros=2_000_000), sizes.append)
    try:
        inputs = [np.full((rows, 2), index) for index, rows in enumerate([1, 2, 3, 1, 2, 3])]
        results = _concurrently(lambda x: batcher({"x": x}), inputs)
        assert all(np.array_equal(result["doubled"], x * 2) for result, x in zip(results, inputs))
        assert sum(sizes) == 12 and max(sizes) <= 6 and len(sizes) < 6
        assert np.array_equal(batcher({"x": np.ones((7, 2))})["doubled"], np.full((7, 2), 2))  # > a batch: alone
        assert sum(sizes) == 12
    finally:
        batcher.retire()


def test_calls_of_other_shapes_or_text_lengths_are_not_merged():
    sizes = []
    batcher = Batcher(_doubled, BatchingOptions(max_batch_size=4, batch_timeout_micros=2_000_000), sizes.append)
    try:
        inputs = [np.ones((1, 2)), np.ones((1, 3)), np.ones((1, 2)), np.ones((1, 3))]
        results = _concurrently(lambda x: batcher({"x": x}), inputs)
        assert [result["doubled"].shape for result in results] == [x.shape for x in inputs]
        assert sorted(sizes) == [2, 2]
        texts = [np.array([b"a" * length], dtype=object) for length in (5, 100, 6, 120)]  # lengths 4-7, 64-127
        results = _concurrently(lambda x: batcher({"x": x}), texts)
        assert [result["doubled"].tolist() for result in results] == [(x * 2).tolist() for x in texts]
        assert sorted(sizes[2:]) == [2, 2]
    finally:
        batcher.retire()


def test_a_failed_merged_call_is_retried_per_request():
    def fails_on_negative(arrays):
        if (arrays["x"] < 0).any():
            raise ValueError("negative input")
        return _doubled(arrays)

    sizes = []
    batcher = Batcher(
        fails_on_negative, BatchingOptions(max_batch_size=4, batch_timeout_micros=2_000_000), sizes.append
    )
    try:

        def call(x):
            try:
                return batcher({"x": x})["doubled"].tolist()
            except ValueError as error:
                return str(error)

        results = _concurrently(call, [np.array([1]), np.array([-1]), np.array([2]), np.array([3])])
        assert results == [[2], "negative input", [4], [6]]
        assert sizes[0] == 4  # One merged call, then each request alone.
    finally:
        batcher.retire()


def test_a_retired_batcher_finishes_its_queue_then_runs_calls_alone():
    sizes = []
    batcher = Batcher(_doubled, BatchingOptions(max_batch_size=4, batch_timeout_micros=60_000_000), sizes.append)
    with futures.ThreadPoolExecutor(1) as pool:
        queued = pool.submit(batcher, {"x": np.array([1])})
        while not sizes and not batcher._open:  # Queued, waiting for a batch that will not fill for a minute.
            threading.Event().wait(0.01)
        batcher.retire()
        assert queued.result()["doubled"].tolist() == [2]
    assert batcher({"x": np.array([5])})["doubled"].tolist() == [10]
    assert sizes == [1]


@pytest.fixture(scope="module")
def server(model_versions, tmp_path_factory):
    """Batches close when full (8 rows) or after 2 s, so concurrent requests surely share one."""
    batching = BatchingOptions(max_batch_size=MAX_BATCH, batch_timeout_micros=2_000_000, num_batch_threads=1)
    with running_server(model_versions, tmp_path_factory.mktemp("batching"), batching=batching) as server:
        yield server


def _batch_sizes(client, signature: str) -> dict[str, float]:
    """The batch size histogram of `signature`: {"count": n, "sum": rows, "le=4.0": calls of at most 4 rows, ...}."""
    families = text_string_to_metric_families(client.get(METRICS_PATH).text)
    (family,) = [family for family in families if family.name == "sentence_tfx_serving_batch_size"]
    sizes = {"count": 0.0, "sum": 0.0, "le=4.0": 0.0, "le=8.0": 0.0}
    for sample in family.samples:
        if sample.labels["signature"] == signature:
            key = f"le={sample.labels['le']}" if "le" in sample.labels else sample.name.rsplit("_", 1)[-1]
            sizes[key] = sample.value
    return sizes


def test_concurrent_requests_share_a_model_call_and_get_their_own_answers(server):
    with httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=60) as client:
        before = _batch_sizes(client, "serving_default")
        answers = _concurrently(
            lambda text: client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": [text]}).json(), TEXTS
        )
        after = _batch_sizes(client, "serving_default")
        # Twice a batch: one model call, unbatched.
        alone = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": TEXTS * 2}).json()["predictions"]
        assert _batch_sizes(client, "serving_default") == after
    assert after["sum"] - before["sum"] == MAX_BATCH and after["count"] - before["count"] < MAX_BATCH
    for answer, expected in zip(answers, alone):
        (prediction,) = answer["predictions"]
        assert prediction["label"] == expected["label"]
        assert prediction["scores"] == pytest.approx(expected["scores"], abs=1e-6)


def test_a_request_the_model_rejects_does_not_fail_its_batch_mates(server):
    """Validation cannot know that a string is not a tf.Example; the model's ParseExample op does."""

    def example(text: str) -> bytes:
        feature = tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))
        return tf.train.Example(features=tf.train.Features(feature={"text": feature})).SerializeToString()

    serialized = [example(text) for text in TEXTS[:-1]]
    serialized.append(b"not an example".ljust(len(serialized[0]), b"!"))  # As long: it may share their batch.
    instances = [{"b64": base64.b64encode(value).decode()} for value in serialized]
    with httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=60) as client:
        before = _batch_sizes(client, "serving_tf_example")  # Empty: no call of that signature yet.
        responses = _concurrently(
            lambda instance: client.post(
                f"/v1/models/{MODEL_NAME}:predict",
                json={"signature_name": "serving_tf_example", "instances": [instance]},
            ),
            instances,
        )
        after = _batch_sizes(client, "serving_tf_example")
    assert [response.status_code for response in responses] == [200] * (MAX_BATCH - 1) + [400]
    assert "Could not parse example input" in responses[-1].json()["error"]
    # A merged call of 5 to 8 rows was made (and failed, so each of its requests then ran alone).
    assert (after["le=8.0"] - after["le=4.0"]) - (before["le=8.0"] - before["le=4.0"]) >= 1
