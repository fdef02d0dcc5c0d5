"""--mode setfit against the setfit library itself, side by side, on the same sampled training sets.

    make setup-setfit    # once: .venv-setfit (Python 3.11, torch 2.13 CPU, setfit) for the baseline
    .venv/bin/python bench/setfit.py [--datasets sst2 trec] [--sizes 8 16 64] [--seeds 0 1 2]

For each data set, size (texts per class) and seed: samples that many training texts per class from train (numpy,
the seed), then trains and tests both on them, one after the other, each in a fresh process, with the same MiniLM
and the same recipe (2 × 20 × texts pairs, batch 16, 1 epoch, encoder lr 2e-5 with 10 % warm-up, logistic-
regression head): tools/setfit_baseline.py in .venv-setfit, and `sentence-tfx run --mode setfit
--validation-fraction 0` (the whole pipeline; the held-out split would take 10 % of the few texts). Test sets:
SST-2's 872-row GLUE dev set, TREC-6's 500-row test set. Times: setfit's model load + training and its prediction
on the test set; ours: the Trainer's training phase (reading the examples, loading the encoder, training, the head:
the part comparable with setfit's load + train), the whole Trainer (also exporting the SavedModel and scoring the
eval split, as setfit's prediction does) from ML Metadata, and the whole run. Appends to bench/results/setfit.jsonl
and prints mean accuracy and time per size.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from accuracy import SHARED, TREC_LABELS, trec_to_tsv

ROOT = Path(__file__).resolve().parents[1]
SETFIT_PYTHON = ROOT / ".venv-setfit" / "bin" / "python"
RECIPE = {"iterations": 20, "epochs": 1, "batch_size": 16}


def _read_tsv(path: Path, text_column: str) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    text, label = header.index(text_column), header.index("label")
    return [(fields[text].strip(), fields[label]) for fields in (line.split("\t") for line in lines[1:])]


def _write_tsv(rows: list[tuple[str, str]], path: Path) -> Path:
    path.write_text("text\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in rows), encoding="utf-8")
    return path


def data_set(name: str, work: Path) -> tuple[list[tuple[str, str]], Path, tuple[str, ...]]:
    """(train rows, test TSV with text/label columns, label names)."""
    if name == "sst2":
        train = _read_tsv(SHARED / "sst2" / "train.tsv", "sentence")
        test = _write_tsv(_read_tsv(SHARED / "sst2" / "test.tsv", "sentence"), work / "sst2_test.tsv")
        return train, test, ("0", "1")
    train = _read_tsv(Path(trec_to_tsv(SHARED / "trec" / "TREC.train.all", work / "trec_train.tsv")), "text")
    test = Path(trec_to_tsv(SHARED / "trec" / "TREC.test.all", work / "trec_test.tsv"))
    return train, test, TREC_LABELS


def sample(rows: list[tuple[str, str]], per_class: int, seed: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    labels = np.array([label for _, label in rows])
    chosen = [i for label in sorted(set(labels)) for i in rng.choice(np.flatnonzero(labels == label), per_class, False)]
    return [rows[i] for i in rng.permutation(chosen)]


def run_setfit_library(train: Path, test: Path, seed: int) -> dict:
    command = [str(SETFIT_PYTHON), str(ROOT / "tools" / "setfit_baseline.py"), "--train", str(train)]
    command += ["--test", str(test), "--seed", str(seed), "--iterations", str(RECIPE["iterations"])]
    command += ["--epochs", str(RECIPE["epochs"]), "--batch-size", str(RECIPE["batch_size"])]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_ours(train: Path, test: Path, labels: tuple[str, ...], work: Path) -> dict:
    from sentence_tfx.config import PipelineConfig
    from sentence_tfx.pipeline import results

    root = work / "pipeline"
    command = [str(ROOT / ".venv" / "bin" / "sentence-tfx"), "run", "--train", str(train), "--eval", str(test)]
    command += ["--labels", ",".join(labels), "--mode", "setfit", "--validation-fraction", "0"]
    command += ["--setfit-iterations", str(RECIPE["iterations"]), "--setfit-epochs", str(RECIPE["epochs"])]
    command += ["--batch-size", str(RECIPE["batch_size"]), "--min-accuracy", "0"]
    command += ["--pipeline-root", str(root), "--serving-dir", str(work / "serving")]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"sentence-tfx run failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
    config = PipelineConfig(train_data=str(train), pipeline_root=str(root))
    summary = results.summarize_run(config)
    steps = results.step_seconds(results.open_store(config), config.pipeline_name)
    return {
        "accuracy": round(summary.metrics["sparse_categorical_accuracy"], 4),
        "trainer_seconds": round(steps["Trainer"], 1),
        # The Trainer's share comparable with the library's load + train: reading, loading, training, the head.
        "train_seconds": round(summary.training.phase_seconds["train"], 1),
        "run_seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["sst2", "trec"], choices=["sst2", "trec"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[8, 16, 64])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--work-dir", type=Path, default=Path("runs/bench"))
    args = parser.parse_args()
    if not SETFIT_PYTHON.exists():
        sys.exit(f"{SETFIT_PYTHON} is missing: run `make setup-setfit` first")
    out = Path(__file__).parent / "results" / "setfit.jsonl"
    work = args.work_dir / f"setfit-{int(time.time())}"
    work.mkdir(parents=True)
    rows = []
    for name in args.datasets:
        train_rows, test, labels = data_set(name, work)
        for size in args.sizes:
            for seed in args.seeds:
                run_dir = work / f"{name}-{size}-{seed}"
                run_dir.mkdir()
                train = _write_tsv(sample(train_rows, size, seed), run_dir / "train.tsv")
                row = {"dataset": name, "per_class": size, "seed": seed, **RECIPE}
                row["setfit_library"] = run_setfit_library(train, test, seed)
                row["ours"] = run_ours(train, test, labels, run_dir)
                rows.append(row)
                with out.open("a") as file:
                    file.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    print(
        "\n| data | texts per class | setfit library: accuracy, load + train s, predict s "
        "| ours: accuracy, train s, Trainer s, run s |"
    )
    print("|---|---:|---|---|")
    for name in args.datasets:
        for size in args.sizes:
            group = [row for row in rows if row["dataset"] == name and row["per_class"] == size]

            def mean(side: str, key: str, group=group) -> float:
                return statistics.mean(row[side][key] for row in group)

            print(
                f"| {name} | {size} | {100 * mean('setfit_library', 'accuracy'):.1f}, "
                f"{mean('setfit_library', 'train_seconds'):.1f}, {mean('setfit_library', 'predict_seconds'):.1f} | "
                f"{100 * mean('ours', 'accuracy'):.1f}, {mean('ours', 'train_seconds'):.1f}, "
                f"{mean('ours', 'trainer_seconds'):.1f}, {mean('ours', 'run_seconds'):.1f} |"
            )


if __name__ == "__main__":
    main()
