"""In-process baseline for bench/serving.py: PyTorch sentence-transformers `encode` + a scikit-learn LogisticRegression.

Runs in the Python 3.11 venv (.venv-parity: torch, sentence-transformers, scikit-learn), started by bench/serving.py:

    HF_HUB_OFFLINE=1 .venv-parity/bin/python bench/serving_baseline.py --model PATH --train data/sst2/train.tsv \
        --texts data/sst2/eval.tsv [--requests 300] [--warmup 20] [--batches 10] [--fit-rows 2000] [--threads 1]

Fits the LR head on the embeddings of the first --fit-rows training rows (not timed), then times
- single text: `predict_proba(model.encode([text]))`, one call per text, --requests times (after --warmup);
- batch 32: the same on 32 texts at a time, --batches times (after one warm-up batch).
Prints one JSON object on the last stdout line.
"""

import argparse
import json
import os
import platform
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

BATCH = 32


def read_tsv(path: str, text_column: str, label_column: str | None = None, limit: int | None = None):
    """Plain tab-split (the bundled SST-2 TSVs hold no quoted fields)."""
    with open(path, encoding="utf-8") as file:
        header = file.readline().rstrip("\n").split("\t")
        text_index = header.index(text_column)
        label_index = header.index(label_column) if label_column else None
        texts, labels = [], []
        for line in file:
            if limit is not None and len(texts) >= limit:
                break
            fields = line.rstrip("\n").split("\t")
            texts.append(fields[text_index])
            if label_index is not None:
                labels.append(fields[label_index])
    return texts, labels


def percentiles_ms(seconds: list[float]) -> dict:
    values = np.asarray(seconds) * 1000.0
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "mean_ms": float(values.mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="sentence-transformers model folder")
    parser.add_argument("--train", required=True)
    parser.add_argument("--texts", required=True)
    parser.add_argument("--text-column", default="sentence")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--fit-rows", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--max-seq-length", type=int, default=128, help="as the pushed model's --seq-length")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (0: torch's default); keep equal to the server's"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    model = SentenceTransformer(args.model, device="cpu")
    model.max_seq_length = args.max_seq_length
    model.eval()

    fit_start = time.perf_counter()
    train_texts, train_labels = read_tsv(args.train, args.text_column, args.label_column, args.fit_rows)
    head = LogisticRegression(max_iter=1000)
    head.fit(model.encode(train_texts, batch_size=64, convert_to_numpy=True), train_labels)
    fit_seconds = time.perf_counter() - fit_start

    texts, _ = read_tsv(args.texts, args.text_column)

    def classify(batch):
        with torch.inference_mode():
            embeddings = model.encode(batch, batch_size=BATCH, convert_to_numpy=True, show_progress_bar=False)
        return head.predict_proba(embeddings)

    for i in range(args.warmup):
        classify([texts[i % len(texts)]])
    single = []
    for i in range(args.requests):
        text = texts[(args.warmup + i) % len(texts)]
        start = time.perf_counter()
        classify([text])
        single.append(time.perf_counter() - start)

    def batch_at(j):
        return [texts[(j * BATCH + k) % len(texts)] for k in range(BATCH)]

    classify(batch_at(0))  # warm-up batch
    start = time.perf_counter()
    for j in range(1, args.batches + 1):
        classify(batch_at(j))
    batch_seconds = time.perf_counter() - start

    print(
        json.dumps(
            {
                "system": "baseline: sentence-transformers encode + sklearn LR (in-process)",
                **percentiles_ms(single),
                "requests": args.requests,
                "warmup": args.warmup,
                "batch32_texts_per_s": args.batches * BATCH / batch_seconds,
                "batches": args.batches,
                "fit_rows": len(train_texts),
                "fit_seconds": fit_seconds,
                "max_seq_length": args.max_seq_length,
                "torch_threads": torch.get_num_threads(),
                "python": platform.python_version(),
                "torch": torch.__version__,
                "sklearn": sklearn.__version__,
                "sentence_transformers": __import__("sentence_transformers").__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
