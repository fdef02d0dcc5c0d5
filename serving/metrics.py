"""Prometheus metrics, served at TF Serving's path `GET /monitoring/prometheus/metrics`.

Labels come from what the server resolved, never from raw request fields: an unknown model or signature name is
recorded as "", so clients cannot grow the number of series.
"""

import time

import grpc
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

METRICS_PATH = "/monitoring/prometheus/metrics"
REQUEST_LABELS = ("model", "version", "signature", "api", "method", "status")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Call:
    """One API call being timed; the handler fills in what it resolves (method, model, version, signature)."""

    def __init__(self, api: str):
        self.api = api
        self.method = ""
        self.model = ""
        self.version = ""
        self.signature = ""
        self.start = time.perf_counter()

    def served_by(self, model: str, version: int) -> None:
        self.model, self.version = model, str(version)


class ServingMetrics:
    """One registry per server, so servers in one process (tests, benchmarks) keep separate counts."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sentence_tfx_serving_requests",
            "Model API requests (predict, classify, metadata, status) by outcome",
            REQUEST_LABELS,
            registry=self.registry,
        )
        self.latency = Histogram(
            "sentence_tfx_serving_request_latency_seconds",
            "Model API request latency inside the server, from request read to response",
            REQUEST_LABELS,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "sentence_tfx_serving_batch_size",
            "Rows per model call made by server-side batching",
            ("model", "version", "signature"),
            buckets=BATCH_SIZE_BUCKETS,
            registry=self.registry,
        )
        self.load_seconds = Gauge(
            "sentence_tfx_serving_model_load_seconds",
            "Time to load and warm up a model version",
            ("model", "version"),
            registry=self.registry,
        )
        self.serving_version = Gauge(
            "sentence_tfx_serving_model_version",
            "The version answering requests without a version (-1: none yet)",
            ("model",),
            registry=self.registry,
        )

    def finish(self, call: Call, code: grpc.StatusCode) -> None:
        labels = (call.model, call.version, call.signature, call.api, call.method, code.name)
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(time.perf_counter() - call.start)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
