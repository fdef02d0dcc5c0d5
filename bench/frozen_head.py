"""The frozen mode's pushed model against logistic regression on the same embeddings, and its calibration.

    .venv/bin/python bench/frozen_head.py [--datasets sst2 trec] [--modes frozen]

Runs the whole pipeline (frozen by default; --modes frozen finetune for the calibration figures of both) on SST-2
(train → the 872-row GLUE dev set) and TREC-6 (train → test), then fits scikit-learn's LogisticRegression on the
EmbeddingGen train embeddings of the same run (all of train; C chosen by 5-fold cross-validation from
10^-2..10^3) and scores it on the eval embeddings. Reports accuracy, macro-F1 and expected calibration error
(15 bins) of both, and the pushed model's eval ECE before and after its temperature. Appends to
bench/results/frozen_head.jsonl.
"""

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
from accuracy import run_pipeline
from sklearn.linear_model import LogisticRegressionCV

from sentence_tfx.components.embedding_gen import embeddings
from sentence_tfx.components.evaluator.argmax_metrics import per_class_scores
from sentence_tfx.components.trainer import calibration, eval_scores
from sentence_tfx.pipeline import results

C_GRID = np.logspace(-2, 3, 11)


def _quality(scores: np.ndarray, labels: np.ndarray) -> dict:
    classes = scores.shape[1]
    confusion = np.zeros((classes, classes))
    np.add.at(confusion, (labels, scores.argmax(axis=1)), 1)
    return {
        "accuracy": round(float(np.trace(confusion) / len(labels)), 4),
        "macro_f1": round(float(per_class_scores(confusion)[2].mean()), 4),
        "ece": round(calibration.expected_calibration_error(scores, labels), 4),
    }


def logistic_regression(embedding_uri: str) -> dict:
    train_x, train_y, _ = embeddings.read([f"{embedding_uri}/Split-train/*"])
    eval_x, eval_y, _ = embeddings.read([f"{embedding_uri}/Split-eval/*"])
    started = time.monotonic()
    model = LogisticRegressionCV(Cs=C_GRID, cv=5, max_iter=2000, n_jobs=2).fit(train_x, train_y)
    return {
        **_quality(model.predict_proba(eval_x), eval_y),
        "C": float(model.C_[0]),
        "fit_seconds": round(time.monotonic() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["sst2", "trec"], choices=["sst2", "trec"])
    parser.add_argument("--modes", nargs="+", default=["frozen"], choices=["frozen", "finetune"])
    parser.add_argument("--max-train-steps", type=int, default=1500, help="fine-tuning cap, as bench/accuracy.py")
    parser.add_argument("--work-dir", type=Path, default=Path("runs/bench"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("sentence_tfx").setLevel(logging.INFO)
    out = Path(__file__).parent / "results" / "frozen_head.jsonl"
    for name in args.datasets:
        for mode in args.modes:
            work = args.work_dir / f"{name}-{mode}-head-{int(time.time())}"
            finetuning = dict(max_train_steps=args.max_train_steps, epochs=3)
            started = time.monotonic()
            config = run_pipeline(name, mode, work, f"bench-{name}-{mode}-head", finetuning)
            wall = time.monotonic() - started
            summary = results.summarize_run(config)
            scores, labels, _ = eval_scores.read(summary.tensorboard_dir)
            training = summary.training
            row = {
                "dataset": name,
                "mode": mode,
                "pushed": _quality(scores, labels),
                "pushed_before_temperature": _quality(calibration.rescale(scores, 1 / training.temperature), labels),
                "tfma_accuracy": round(summary.metrics["sparse_categorical_accuracy"], 4),
                "tfma_macro_f1": round(summary.metrics["macro_f1"], 4),
                "temperature": round(training.temperature, 3),
                "head": training.head,
                "C": training.regularization,
                "chosen_epoch": training.chosen_epoch,
                "epochs_run": training.epochs_run,
                "validation_examples": training.validation_examples,
                "validation_ece_before_after": [training.validation_ece_before, training.validation_ece_after],
                "wall_seconds": round(wall),
            }
            if mode == "frozen":
                store = results.open_store(config)
                _, embedding_gen = results.latest_outputs(store, config.pipeline_name, "EmbeddingGen")
                row["logistic_regression"] = logistic_regression(embedding_gen["embeddings"][0].uri)
            with out.open("a") as file:
                file.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
