"""What one client can cost the server: slow request heads and bodies are cut off, a huge text is cut to what the model
can use before it is tokenized."""

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import json
import socket
import threading
import time

import grpc
import httpx
import pytest
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_service_pb2_grpc

from conftest import TINY_SEQ_LENGTH
from sentence_tfx.serving.conftest import MODEL_NAME, running_server
from sentence_tfx.serving.servable import BYTES_PER_TOKEN, cut_text

MODEL_URL = f"/v1/models/{MODEL_NAME}"
TIMEOUT = 0.5  # header and body timeouts of the test server
CAP = TINY_SEQ_LENGTH * BYTES_PER_TOKEN


@pytest.fixture(scope="module")
def impatient_server(model_versions, tmp_path_factory):
    """Short head and body deadlines; no model needed to show them."""
    options = {"header_timeout": TIMEOUT, "body_timeout": TIMEOUT}
    with running_server(model_versions, tmp_path_factory.mktemp("slow"), push_first=False, **options) as server:
        yield server


@pytest.fixture(scope="module")
def patient_client(impatient_server):
    with httpx.Client(base_url=f"http://127.0.0.1:{impatient_server.rest_port}", timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def server(model_versions, tmp_path_factory):
    """The default 16 MiB body limit, so a 15 MB text gets through."""
    with running_server(model_versions, tmp_path_factory.mktemp("huge"), max_body_bytes=16 * 1024 * 1024) as server:
        yield server


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=60) as client:
        yield client


def _connect(server) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.rest_port), timeout=30)  # 30 s: only a fail-safe
    return connection


def _read_until_closed(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def _read_response(connection: socket.socket) -> tuple[bytes, bytes, bytes]:
    """One HTTP/1.1 response: (status line, lower-cased header block, body of its Content-Length)."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, _, headers = head.partition(b"\r\n")
    length = int(next(line for line in headers.lower().split(b"\r\n") if line.startswith(b"content-length:"))[15:])
    while len(body) < length:
        body += connection.recv(65536)
    return status_line, headers.lower(), body


def test_cut_text_keeps_whole_characters():
    assert cut_text(b"abc", 5) == b"abc"
    text = "aé€😀".encode()  # bytes 0 | 1-2 | 3-5 | 6-9
    assert [cut_text(text, size).decode() for size in range(11)] == ["", "a", "a", *["aé"] * 3, *["aé€"] * 4, "aé€😀"]
    assert cut_text("😀😀".encode(), 5) == "😀".encode()
    assert cut_text("😀".encode(), 3) == b""


def test_a_client_that_sends_nothing_is_disconnected(impatient_server, patient_client):
    with _connect(impatient_server) as connection:
        assert patient_client.get("/healthz").status_code == 200  # Others are served meanwhile.
        assert _read_until_closed(connection) == b""


def test_a_request_head_sent_byte_by_byte_is_cut_off(impatient_server, patient_client):
    head = f"POST {MODEL_URL}:predict HTTP/1.1\r\nHost: x\r\n" + "X-Padding: y\r\n" * 1000
    sent = 0
    with _connect(impatient_server) as connection, pytest.raises(OSError):
        for byte in head.encode():
            connection.sendall(bytes([byte]))
            sent += 1
            time.sleep(0.01)
            if sent % 20 == 0:
                connection.setblocking(False)
                try:
                    if connection.recv(1) == b"":
                        raise ConnectionResetError("closed by the server")
                except BlockingIOError:
                    pass
                connection.setblocking(True)
    assert sent < len(head), "the whole head went through"
    assert patient_client.get("/healthz").status_code == 200


def test_a_slow_body_gets_408_and_the_connection_closes(impatient_server):
    body = json.dumps({"instances": ["a great film"]}).encode()
    head = f"POST {MODEL_URL}:predict HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    with _connect(impatient_server) as connection:
        connection.sendall(head + body[:5])
        status_line, headers, body = _read_response(connection)
        assert _read_until_closed(connection) == b""
    assert status_line == b"HTTP/1.1 408 Request Timeout" and b"connection: close" in headers
    assert json.loads(body) == {"error": f"Request body not received within {TIMEOUT:g} s"}


def test_the_head_deadline_restarts_for_each_request_on_a_connection(impatient_server):
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with _connect(impatient_server) as connection:
        connection.sendall(request)
        assert _read_response(connection)[0] == b"HTTP/1.1 200 OK"
        time.sleep(TIMEOUT * 2)  # Longer than the head deadline, shorter than uvicorn's 5 s keep-alive.
        connection.sendall(request)  # A new head: its own deadline, from its first byte.
        assert _read_response(connection)[0] == b"HTTP/1.1 200 OK"
        connection.sendall(request[:10])
        assert _read_until_closed(connection) == b""


def _predictions(client, texts: list[str], **options) -> list[dict]:
    body = json.dumps({"instances": texts}, ensure_ascii=False).encode()
    response = client.post(f"{MODEL_URL}:predict", content=body, **options)
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


@pytest.mark.parametrize("unit", ["a great film ", "é"])
def test_a_15_mb_text_is_answered_as_its_first_bytes(server, client, unit):
    huge = unit * (15_000_000 // len(unit.encode()))
    cut = cut_text(huge.encode(), CAP).decode()
    assert len(cut.encode()) <= CAP and huge.startswith(cut)
    small_latencies, stop = [], threading.Event()

    def small_requests():
        with httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=60) as small:
            while not stop.is_set():
                start = time.perf_counter()
                _predictions(small, ["a dreadful film"])
                small_latencies.append(time.perf_counter() - start)

    thread = threading.Thread(target=small_requests)
    thread.start()
    try:
        start = time.perf_counter()
        answered = _predictions(client, [huge, "a dreadful film"])
        seconds = time.perf_counter() - start
    finally:
        stop.set()
        thread.join()
    assert answered[0] == _predictions(client, [cut, "a dreadful film"])[0]
    print(
        f"{len(huge.encode()) / 1e6:.0f} MB text of {unit!r}: answered in {seconds:.2f} s; concurrent small requests: "
        f"{len(small_latencies)}, slowest {max(small_latencies, default=0):.3f} s"
    )


def test_huge_texts_are_cut_over_grpc_and_in_classify(server, client):
    huge = "a great film " * 100_000
    cut = cut_text(huge.encode(), CAP).decode()
    request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=MODEL_NAME))
    request.inputs["text"].CopyFrom(tf.make_tensor_proto([huge]))
    with grpc.insecure_channel(
        f"127.0.0.1:{server.grpc_port}", options=[("grpc.max_send_message_length", -1)]
    ) as channel:
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=60)
    assert tf.make_ndarray(response.outputs["scores"]).tolist() == [
        pytest.approx(_predictions(client, [cut])[0]["scores"], abs=1e-6)
    ]
    classified = client.post(f"{MODEL_URL}:classify", json={"examples": [{"text": huge}]}).json()["results"]
    cut_classified = client.post(f"{MODEL_URL}:classify", json={"examples": [{"text": cut}]}).json()["results"]
    assert classified == cut_classified
