"""First request after a version push, with and without the model's warm-up records, against steady state.

    .venv/bin/python bench/warmup.py [--model-dir RUN/serving/VERSION] [--rounds 5] [--steady 50] [--threads 1]
                                     [--settle 0] [--texts data/sst2/eval.tsv]

`ModelServer` (serving/) runs in this process on 127.0.0.1 with ephemeral ports over a temp base dir. Each round pushes
two new versions of --model-dir, in alternating order: the export as it is, with assets.extra/tf_serving_warmup_requests
(the server replays it before the swap), and the same files without it (no warm-up at all, as TF Serving does with
such a model). A version is pushed as a symlink named by its number; as soon as its status is AVAILABLE the first
REST :predict (one eval text, serving_default) and the first REST :classify (one tf.Example, serving_tf_example) are
timed, then --steady more :predict calls give the steady-state p50. Reported per variant, as medians over rounds: the
first-request latencies, their ratio to the same round's steady p50 (goal: ≤ 2 with warm-up), and the load time
(symlink made → AVAILABLE, warm-up included). Results are appended as JSON lines to bench/results/warmup.jsonl and
printed as a markdown table.
"""

import argparse
import datetime
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import sentence_tfx.keras2  # noqa: E402,F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from serving import DEFAULT_SERVING_DIRS, newest_version, percentiles_ms, read_texts  # noqa: E402  (bench/serving.py)

MODEL_NAME = "bench"
RESULTS = REPO / "bench" / "results" / "warmup.jsonl"
VARIANTS = ("with warm-up records", "without warm-up records")


def without_warmup(model_dir: Path, folder: Path) -> Path:
    """A view of model_dir without assets.extra: a folder of symlinks to its other entries."""
    folder.mkdir()
    for entry in model_dir.iterdir():
        if entry.name != "assets.extra":
            (folder / entry.name).symlink_to(entry.resolve())
    return folder


def push_and_time(client, base: Path, version: int, source: Path, text: str, steady: int, settle: float) -> dict:
    pushed = time.perf_counter()
    (base / str(version)).symlink_to(source.resolve())
    while True:
        statuses = client.get(f"/v1/models/{MODEL_NAME}").json().get("model_version_status", [])
        state = next((s["state"] for s in statuses if s["version"] == str(version)), None)
        if state == "AVAILABLE":
            break
        if state == "END":
            raise RuntimeError(f"version {version} failed to load: {statuses}")
        time.sleep(0.02)
    available = time.perf_counter()
    time.sleep(settle)

    def timed(path, body):
        start = time.perf_counter()
        response = client.post(f"/v1/models/{MODEL_NAME}/versions/{version}:{path}", json=body)
        seconds = time.perf_counter() - start
        response.raise_for_status()
        return seconds

    first_predict = timed("predict", {"instances": [text]})
    first_classify = timed("classify", {"examples": [{"text": text}]})
    steady_seconds = [timed("predict", {"instances": [text]}) for _ in range(steady)]
    return {
        "load_s": available - pushed,
        "first_predict_ms": first_predict * 1000,
        "first_classify_ms": first_classify * 1000,
        "steady_p50_ms": percentiles_ms(steady_seconds)["p50_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, help="a pushed version (default: the newest under runs/)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steady", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="TF intra-op threads (as bench/serving.py)")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds between AVAILABLE and the first request (default 0: it meets the old version's unloading)",
    )
    parser.add_argument("--texts", type=Path, default=REPO / "data" / "sst2" / "eval.tsv")
    parser.add_argument("--text-column", default="sentence")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import httpx
    import tensorflow as tf

    from sentence_tfx.serving import warmup
    from sentence_tfx.serving.server import ModelServer

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    model_dir = (args.model_dir or newest_version(DEFAULT_SERVING_DIRS)).resolve()
    records = len(warmup.read(model_dir))
    if not records:
        raise SystemExit(f"{model_dir} has no warm-up records; export it with this version of the Trainer")
    texts = read_texts(args.texts, args.text_column)
    with tempfile.TemporaryDirectory(prefix="bench-warmup-") as scratch:
        base = Path(scratch) / "models"
        base.mkdir()
        sources = {VARIANTS[0]: model_dir, VARIANTS[1]: without_warmup(model_dir, Path(scratch) / "no-warmup")}
        (base / "1").symlink_to(model_dir)  # Something to serve while the measured versions load.
        server = ModelServer(base, MODEL_NAME, rest_port=0, grpc_port=0, poll_interval=0.05)
        server.start()
        runs = {variant: [] for variant in VARIANTS}
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{server.rest_port}", timeout=120) as client:
                version = 1
                for round_number in range(args.rounds):
                    order = VARIANTS if round_number % 2 == 0 else VARIANTS[::-1]
                    for variant in order:
                        version += 1
                        text = texts[version % len(texts)]
                        runs[variant].append(
                            push_and_time(client, base, version, sources[variant], text, args.steady, args.settle)
                        )
        finally:
            server.stop()
    for run in (run for measured in runs.values() for run in measured):
        run["first_predict_vs_steady"] = run["first_predict_ms"] / run["steady_p50_ms"]
        run["first_classify_vs_steady"] = run["first_classify_ms"] / run["steady_p50_ms"]
    summary = {
        variant: {key: statistics.median(run[key] for run in measured) for key in measured[0]}
        for variant, measured in runs.items()
    }
    result = {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "model_dir": str(model_dir),
        "warmup_records": records,
        "rounds": args.rounds,
        "steady_requests": args.steady,
        "threads": args.threads,
        "settle_s": args.settle,
        "summary": summary,
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(result) + "\n")
    print(f"{model_dir}: {records} warm-up records, {args.rounds} pushes each, medians")
    print(
        "| version pushed | load + warm-up s | first :predict ms | first :classify ms | steady p50 ms | first/steady |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for variant, m in summary.items():
        print(
            f"| {variant} | {m['load_s']:.2f} | {m['first_predict_ms']:.1f} | {m['first_classify_ms']:.1f} | "
            f"{m['steady_p50_ms']:.1f} | {m['first_predict_vs_steady']:.2f} / {m['first_classify_vs_steady']:.2f} |"
        )


if __name__ == "__main__":
    main()
