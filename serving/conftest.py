"""Serving fixtures: real SavedModels with the pushed model's signatures (tiny encoder, random head), and a server.

Version 2 lists its classes in the opposite order to version 1, so every response shows which version answered.
"""

import contextlib
import dataclasses
import shutil
import threading
import time

import grpc
import httpx
import numpy as np
import pytest

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from conftest import TINY_SEQ_LENGTH

MODEL_NAME = "sentiment"
CLASSES = {1: ["negative", "positive"], 2: ["positive", "negative"]}


def write_classifier(export_dir, out_dir, classes: list[str], seed: int) -> None:
    """Writes a SavedModel whose signature names, inputs and outputs are those of components/trainer/signatures.py."""
    import tensorflow as tf
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401

    from sentence_tfx import features
    from sentence_tfx.components.trainer.signatures import mark_as_classification
    from sentence_tfx.features import CLASSIFY_INPUTS, CLASSIFY_SIGNATURE

    class Classifier(tf.Module):
        def __init__(self):
            super().__init__()
            self.preprocess = hub.KerasLayer(str(export_dir / "preprocessor"))
            self.encoder = hub.KerasLayer(str(export_dir / "encoder"))
            dim = self.encoder(self.preprocess(tf.constant(["x"])))["pooled_output"].shape[-1]
            self.head = tf.Variable(tf.random.stateless_normal([dim, len(classes)], seed=[seed, 0]) * 10)
            self.classes = tf.constant(classes)

        def predict(self, ids):
            scores = tf.nn.softmax(self.encoder(ids)["pooled_output"] @ self.head)
            return {
                "scores": scores,
                "classes": tf.tile(self.classes[tf.newaxis], [tf.shape(scores)[0], 1]),
                "label": tf.gather(self.classes, tf.argmax(scores, axis=-1)),
            }

    model = Classifier()
    text_spec = tf.TensorSpec([None], tf.string, name=features.TEXT)
    examples_spec = tf.TensorSpec([None], tf.string, name=CLASSIFY_INPUTS)
    ids_spec = {name: tf.TensorSpec([None, TINY_SEQ_LENGTH], tf.int32, name=name) for name in features.TOKEN_FEATURES}
    parse_spec = {features.TEXT: tf.io.FixedLenFeature([], tf.string, default_value="")}
    signatures = {
        "serving_default": tf.function(lambda text: model.predict(model.preprocess(text)), input_signature=[text_spec]),
        CLASSIFY_SIGNATURE: tf.function(
            lambda inputs: {
                key: value
                for key, value in model.predict(
                    model.preprocess(tf.io.parse_example(inputs, parse_spec)["text"])
                ).items()
                if key in ("classes", "scores")
            },
            input_signature=[examples_spec],
        ),
        "serving_token_ids": tf.function(model.predict, input_signature=[ids_spec]),
        "embed": tf.function(
            lambda text: {"embedding": model.encoder(model.preprocess(text))["pooled_output"]},
            input_signature=[text_spec],
        ),
    }
    tf.saved_model.save(model, str(out_dir), signatures=signatures)
    mark_as_classification(str(out_dir), CLASSIFY_SIGNATURE)


@pytest.fixture(scope="session")
def model_versions(tiny_export, tmp_path_factory):
    """{version: SavedModel directory}, written once per session."""
    root = tmp_path_factory.mktemp("serving_models")
    for version, classes in CLASSES.items():
        write_classifier(tiny_export, root / str(version), classes, seed=version)
    return {version: root / str(version) for version in CLASSES}


@contextlib.contextmanager
def running_server(model_versions, base_dir, push_first: bool = True, **options):
    """A server on ephemeral 127.0.0.1 ports over `base_dir`, with version 1 pushed unless `push_first` is False;
    fast polling, 64 KiB bodies unless `options` (ModelServer's) say otherwise."""
    from sentence_tfx.serving.server import ModelServer

    if push_first:
        shutil.copytree(model_versions[1], base_dir / "1")
    options = {"poll_interval": 0.2, "max_body_bytes": 64 * 1024, **options}
    server = ModelServer(base_dir, MODEL_NAME, rest_port=0, grpc_port=0, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def available_versions(client: httpx.Client) -> list[str]:
    statuses = client.get(f"/v1/models/{MODEL_NAME}").json()["model_version_status"]
    return [status["version"] for status in statuses if status["state"] == "AVAILABLE"]


def wait_for(condition, seconds: float = 300) -> None:
    """Polls `condition` (test servers poll their base path every 0.2 s; a load takes seconds, minutes on a busy
    machine); fails the test if it never holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server did not get there"
        time.sleep(0.1)


def push_like_the_pusher(source, target, before_saved_model_pb=lambda: None):
    """Copies every file but saved_model.pb, runs `before_saved_model_pb`, then copies saved_model.pb."""
    shutil.copytree(source, target, ignore=lambda folder, names: ["saved_model.pb"] if folder == str(source) else [])
    before_saved_model_pb()
    shutil.copy2(source / "saved_model.pb", target / "saved_model.pb")


def write_corrupt_version(path):
    """A version folder that looks complete but does not load."""
    (path / "variables").mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"not a SavedModel")


@pytest.fixture(scope="module")
def server(model_versions, tmp_path_factory):
    """Shared by a module's tests, which do not change the served versions."""
    with running_server(model_versions, tmp_path_factory.mktemp("serving")) as server:
        yield server


@dataclasses.dataclass
class Outcome:
    client: str
    start: float  # time.monotonic()
    end: float
    version: int | None  # the version that answered, None on failure
    error: str | None


class Load:
    """Client threads (REST with httpx, gRPC with TF Serving's stub) sending one-text predict requests in a closed
    loop until stopped, recording each outcome; the version that answered is read from each response."""

    def __init__(self, rest_port: int, grpc_port: int, rest_clients: int, grpc_clients: int, pause: float = 0.0):
        self._pause = pause
        self._stop = threading.Event()
        self.outcomes: list[Outcome] = []
        self._threads = [
            threading.Thread(target=self._rest, args=(f"rest{index}", rest_port)) for index in range(rest_clients)
        ] + [threading.Thread(target=self._grpc, args=(f"grpc{index}", grpc_port)) for index in range(grpc_clients)]

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _loop(self, name: str, send) -> None:
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                version, error = send(), None
            except Exception as failure:  # noqa: BLE001  (every failure is recorded and asserted on)
                version, error = None, f"{type(failure).__name__}: {failure}"
            self.outcomes.append(Outcome(name, start, time.monotonic(), version, error))
            time.sleep(self._pause)

    def _rest(self, name: str, port: int) -> None:
        version_of_classes = {tuple(classes): version for version, classes in CLASSES.items()}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:

            def send() -> int:
                response = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": ["a great film"]})
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code} {response.text}")
                return version_of_classes[tuple(response.json()["predictions"][0]["classes"])]

            self._loop(name, send)

    def _grpc(self, name: str, port: int) -> None:
        import tensorflow as tf
        from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_service_pb2_grpc

        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=MODEL_NAME))
        request.inputs["text"].CopyFrom(tf.make_tensor_proto(["a great film"]))
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            self._loop(name, lambda: stub.Predict(request, timeout=60).model_spec.version.value)

    @property
    def failures(self) -> list[str]:
        return [f"{outcome.client}: {outcome.error}" for outcome in self.outcomes if outcome.error]

    def versions_seen(self, client: str) -> list[int]:
        return [
            outcome.version for outcome in self.outcomes if outcome.client == client and outcome.version is not None
        ]

    def clients(self) -> list[str]:
        return sorted({outcome.client for outcome in self.outcomes})

    def latency_ms(self, percentile: float) -> float:
        return float(np.percentile([(o.end - o.start) * 1000 for o in self.outcomes if not o.error], percentile))
