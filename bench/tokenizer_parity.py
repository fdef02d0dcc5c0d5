"""Token-id agreement and speed of our TF preprocessor against HF `tokenizers` (Rust) on every sentence of
../shared/data (SST-2 train/dev/test, TREC train/test).

    .venv/bin/python bench/tokenizer_parity.py [--data ../shared/data] [--batch-size 1024]

Both tokenize the same sentences without truncation, in batches, in this process; speed is reported as tokens/s
and as the ratio ours / HF.
"""

import argparse
import json
import time
from pathlib import Path

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import tensorflow as tf
import tensorflow_text  # noqa: F401
from tokenizers import Tokenizer

from sentence_tfx.encoder import export


def read_sentences(data: Path) -> list[tuple[str, str]]:
    """(source, sentence) for every row of the shared data sets."""
    rows = []
    for name in ("train", "dev", "test"):
        lines = (data / "sst2" / f"{name}.tsv").read_text(encoding="utf-8").splitlines()[1:]
        rows += [(f"sst2/{name}.tsv:{i + 2}", line.rsplit("\t", 1)[0]) for i, line in enumerate(lines)]
    for name in ("TREC.train.all", "TREC.test.all"):
        lines = (data / "trec" / name).read_text(encoding="latin-1").splitlines()
        rows += [(f"trec/{name}:{i + 1}", line.split(" ", 1)[1]) for i, line in enumerate(lines)]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--batch-size", type=int, default=1024)
    args = parser.parse_args()
    rows = read_sentences(args.data)
    sentences = [sentence for _, sentence in rows]
    batches = [sentences[i : i + args.batch_size] for i in range(0, len(sentences), args.batch_size)]

    reference = Tokenizer.from_file(str(export.default_model_dir() / "tokenizer.json"))
    reference.no_truncation()
    reference.no_padding()
    preprocessor = tf.saved_model.load(str(export.cached_export() / "preprocessor"))
    preprocessor.tokenize(tf.constant(batches[0]))  # Warm-up: first call builds tables and kernels.

    started = time.perf_counter()
    theirs = [e.ids for batch in batches for e in reference.encode_batch(batch)]
    hf_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ours = [
        [101] + ids + [102]
        for batch in batches
        for ids in preprocessor.tokenize(tf.constant(batch)).merge_dims(-2, -1).to_list()
    ]
    our_seconds = time.perf_counter() - started

    mismatches = [(source, sentence) for (source, sentence), a, b in zip(rows, ours, theirs) if a != b]
    tokens = sum(len(ids) for ids in theirs)
    result = {
        "sentences": len(rows),
        "tokens": tokens,
        "identical": len(rows) - len(mismatches),
        "agreement_percent": round(100 * (len(rows) - len(mismatches)) / len(rows), 4),
        "ours_tokens_per_s": round(tokens / our_seconds),
        "hf_tokens_per_s": round(tokens / hf_seconds),
        "speed_ratio_ours_over_hf": round(hf_seconds / our_seconds, 3),
        "batch_size": args.batch_size,
        "first_mismatches": mismatches[:10],
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
