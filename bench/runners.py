"""Wall time of the whole pipeline under each runner that works on this machine, and the TFX overhead against a
bare script doing the same tokenize → embed → train → export work in one process.

    .venv/bin/python bench/runners.py [--rows 10000] [--runners local beam multi-processing portable airflow]
        [--no-bare] [--rounds 1]

Data: the first --rows rows of ../shared/data/sst2/train.tsv → the 872-row GLUE dev set; all-MiniLM-L6-v2, frozen.
Each run is a fresh process from an empty pipeline root (no caching); the encoder conversion is cached before.
Accuracy is the pushed model's (serving_default) on the eval rows, the same measure for every run. Peak RSS is the
driver's: the process that runs the bare script or the TFX runner (for airflow, `airflow dags test`), not Beam's
worker processes. `embedding_workers`: EmbeddingGen's examples per Beam worker process. `airflow` needs
.venv-airflow (make setup-airflow).
Results are appended as JSON lines to bench/results/runners.jsonl and printed as a table with ratios to the bare
script of the same invocation. With --rounds N every run is repeated N times, alternating (bare, local, ..., bare,
local, ...), so a machine whose speed drifts slows both sides alike; the table and ratios use each run's median.
"""

import argparse
import contextlib
import csv
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import numpy as np
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401
from google.protobuf import json_format

from sentence_tfx import features
from sentence_tfx.encoder import export
from sentence_tfx.components.embedding_gen import embeddings
from sentence_tfx.components.embedding_gen.executor import EXAMPLES_PER_WORKER
from sentence_tfx.components.trainer import model as classifier_model
from sentence_tfx.components.trainer import linear_head
from sentence_tfx.pipeline import airflow_dag, beam_services, pipeline, results, runners
from sentence_tfx.config import PipelineConfig

SST2 = Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2"
MULTI_PROCESSING = ("--runner=FnApiRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2")


def _read_tsv(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(encoding="utf-8", newline="") as file:
        data = list(csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row["sentence"] for row in data], np.array([int(row["label"]) for row in data])


def bare_script(train: Path, eval_path: Path, encoder_dir: Path, out: Path) -> dict:
    """The pipeline's work without TFX, with EmbeddingGen's and the Trainer's own pieces: tokenize, embed once
    (the whole split shortest first), fit the same logistic-regression head (C by the same cross-validation),
    export a raw-text SavedModel, score the eval set."""
    preprocess = hub.KerasLayer(str(encoder_dir / "preprocessor"))
    encoder = classifier_model.build_encoder(str(encoder_dir / "encoder"), trainable=False)
    embed_ids = embeddings.embedding_function(encoder)

    def embed(path: Path) -> tuple[np.ndarray, np.ndarray]:
        texts, labels = _read_tsv(path)
        batches = [preprocess(tf.constant(texts[start : start + 1024])) for start in range(0, len(texts), 1024)]
        ids = {
            name: np.concatenate([b[name].numpy() for b in batches]).astype(np.int32)
            for name in features.TOKEN_FEATURES
        }
        return embeddings.embed_in_length_order(embed_ids, ids), labels

    train_x, train_y = embed(train)
    eval_x, eval_y = embed(eval_path)
    classes = len(np.unique(train_y))
    head = classifier_model.build_linear_head(classes)  # The frozen default: logistic regression, C by 5-fold CV.
    c = linear_head.choose_c(train_x, train_y, balanced=False)
    linear_head.fit(head, train_x, train_y, classes, c, balanced=False)
    module = tf.Module()
    module.preprocess, module.encoder, module.head = preprocess, encoder, head
    module.serve = tf.function(
        lambda text: {
            "scores": head(
                classifier_model.sentence_embedding(
                    encoder, {k: tf.cast(v, tf.int32) for k, v in preprocess(text).items()}, training=False
                )
            )
        },
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.serve})
    accuracy = float(np.mean(np.argmax(head.predict(eval_x, verbose=0), axis=1) == eval_y))
    return {"accuracy": round(accuracy, 4), "C": c}


RUNS = {  # name → (what it is, TFX orchestrator, Beam args; None: a local job service + worker pool for the run)
    "local": ("LocalDagRunner, Beam FnApiRunner in memory", "local", PipelineConfig.beam_pipeline_args),
    "beam": ("BeamDagRunner, Beam FnApiRunner in memory", "beam", PipelineConfig.beam_pipeline_args),
    "multi-processing": ("LocalDagRunner, Beam FnApiRunner, 2 worker processes", "local", MULTI_PROCESSING),
    "portable": ("LocalDagRunner, Beam PortableRunner + job service + EXTERNAL worker pool", "local", None),
    "airflow": (
        "Airflow 2.11.2 `airflow dags test` (AirflowDagRunner), Beam FnApiRunner",
        "airflow",
        PipelineConfig.beam_pipeline_args,
    ),
}
AIRFLOW = Path(__file__).resolve().parents[1] / ".venv-airflow" / "bin" / "airflow"
RESULT_PREFIX = "RESULT "


def pushed_accuracy(serving_dir: str, eval_path: Path) -> float:
    """Accuracy of the pushed model's serving_default on the eval file: one measure for every run, whatever
    recorded it."""
    texts, labels = _read_tsv(eval_path)
    (version,) = os.listdir(serving_dir)
    serve = tf.saved_model.load(os.path.join(serving_dir, version)).signatures["serving_default"]
    predicted = np.concatenate(
        [serve(text=tf.constant(texts[i : i + 256]))["label"].numpy() for i in range(0, len(texts), 256)]
    )
    return float(np.mean([int(p) == label for p, label in zip(predicted, labels)]))


def run_airflow(config: PipelineConfig, work: Path) -> float:
    """`airflow dags test` on a compiled DAG file; returns its wall time (the database set-up is not counted)."""
    home, dags = work / "airflow-home", work / "dags"
    airflow_dag.write_dag_file(config, str(dags / "bench.py"), None)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
    }
    subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, check=True, capture_output=True)
    started = time.monotonic()
    with open(work / "airflow-dags-test.log", "w") as log:
        subprocess.run(
            [str(AIRFLOW), "dags", "test", config.pipeline_name, "2026-01-02"],
            env=env,
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return time.monotonic() - started


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> int:
    return round(resource.getrusage(who).ru_maxrss / 1024)  # Linux: KiB.


def _embedding_workers(config: PipelineConfig) -> dict:
    _, outputs = results.latest_outputs(results.open_store(config), config.pipeline_name, "EmbeddingGen")
    per_worker = json_format.MessageToDict(outputs["embeddings"][0].custom_properties[EXAMPLES_PER_WORKER].struct_value)
    return {worker: int(count) for worker, count in per_worker.items()}


def measure(name: str, work: Path) -> dict:
    """One run in this process, which runs nothing else: everything after the imports is timed, model loading
    included, so the bare script and each runner pay the same start-up costs."""
    eval_path = SST2 / "test.tsv"
    base = PipelineConfig(
        train_data=str(work / "train.tsv"),
        eval_data=str(eval_path),
        text_column="sentence",
        min_accuracy=0.0,
        pipeline_root=str(work / name / "pipeline"),
        serving_dir=str(work / name / "serving"),
        pipeline_name=f"bench-runners-{name}",
    )
    started = time.monotonic()
    if name == "bare":
        outcome = bare_script(work / "train.tsv", eval_path, export.cached_export(), work / "bare_model")
        return {
            "run": "bare script: tokenize → embed → train head → export, one process",
            "seconds": round(time.monotonic() - started, 1),
            "driver_peak_rss_mb": _peak_rss_mb(),
            **outcome,
        }
    label, orchestrator, beam_args = RUNS[name]
    with contextlib.ExitStack() as stack:
        if beam_args is None:
            beam_args = stack.enter_context(beam_services.local_portable_runner(work))
        config = pipeline.prepare(dataclasses.replace(base, beam_pipeline_args=beam_args))
        if orchestrator == "airflow":
            seconds = run_airflow(config, work / name)  # Its own processes: timed from the `airflow dags test` call.
        else:
            runners.run(pipeline.create_pipeline(config), orchestrator)
            seconds = time.monotonic() - started
    return {
        "run": label,
        "seconds": round(seconds, 1),
        "driver_peak_rss_mb": _peak_rss_mb(
            resource.RUSAGE_CHILDREN if orchestrator == "airflow" else resource.RUSAGE_SELF
        ),
        "accuracy": round(pushed_accuracy(config.serving_dir, eval_path), 4),
        **({} if orchestrator == "airflow" else {"embedding_workers": _embedding_workers(config)}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runners", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--no-bare", dest="bare", action="store_false", help="skip the bare-script baseline")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every run, alternating; medians compared")
    parser.add_argument("--work-dir", type=Path, default=Path("runs/bench-runners"))
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # Internal: one run in a fresh process.
    args = parser.parse_args()
    if args.measure:
        print(RESULT_PREFIX + json.dumps(measure(args.measure, args.work_dir)), flush=True)
        return
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    work = (args.work_dir / str(int(time.time()))).resolve()
    lines = (SST2 / "train.tsv").read_text(encoding="utf-8").splitlines()[: args.rows + 1]
    for round_number in range(1, args.rounds + 1):  # Each round from its own empty pipeline roots.
        (work / str(round_number)).mkdir(parents=True)
        (work / str(round_number) / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    export.cached_export()  # Converted once, before any timing.
    names = (["bare"] if args.bare else []) + args.runners
    rows = []
    for round_number in range(1, args.rounds + 1):
        for name in names:
            with open(work / str(round_number) / f"{name}.log", "w") as log:
                child = subprocess.run(
                    [sys.executable, __file__, "--measure", name, "--work-dir", str(work / str(round_number))],
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    check=True,
                )
            rows.append({"name": name, "round": round_number, **json.loads(child.stdout.split(RESULT_PREFIX)[-1])})
            print(rows[-1], flush=True)
    medians = {name: float(np.median([row["seconds"] for row in rows if row["name"] == name])) for name in names}
    bare = medians["bare"] if args.bare else None
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    with (Path(__file__).parent / "results" / "runners.jsonl").open("a", encoding="utf-8") as out:
        for row in rows:
            row.update(
                date=stamp,
                train_rows=args.rows,
                eval_rows=872,
                cpus=os.cpu_count(),
                rounds=args.rounds,
                ratio_to_bare=round(row["seconds"] / bare, 2) if bare else None,
                median_ratio_to_bare=round(medians[row["name"]] / bare, 2) if bare else None,
            )
            out.write(json.dumps({key: value for key, value in row.items() if key != "name"}) + "\n")
    print(
        f"\n| run | median wall s ({args.rounds} rounds) | × bare script | eval accuracy | driver peak RSS MB |"
        "\n|---|---:|---:|---:|---:|"
    )
    for name in names:
        runs = [row for row in rows if row["name"] == name]
        print(
            f"| {runs[0]['run']} | {medians[name]:.1f} | {runs[0]['median_ratio_to_bare'] or '-'} "
            f"| {runs[-1]['accuracy']:.3f} | {max(row['driver_peak_rss_mb'] for row in runs)} |"
        )


if __name__ == "__main__":
    main()
