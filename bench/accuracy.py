"""Accuracy and wall time of the whole pipeline (LocalDagRunner, Beam FnApiRunner) with the default MiniLM encoder.

    .venv/bin/python bench/accuracy.py [--datasets sst2 trec] [--modes frozen finetune] [--max-train-steps N]

SST-2: train (60,614) → the 872-row GLUE dev set; TREC-6: train (5,452) → test (500), from ../shared/data.
Fine-tuning is capped at --max-train-steps steps (batch 32) to fit a 2-core CPU budget; the cap is reported.
Results are appended as JSON lines to bench/results/accuracy.jsonl and printed as a table.
"""

import argparse
import dataclasses
import json
import logging
import time
from pathlib import Path

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from tfx import v1 as tfx

from sentence_tfx.components.trainer.training import FROZEN_HEAD_UPDATES
from sentence_tfx.pipeline import pipeline, results
from sentence_tfx.config import PipelineConfig

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TREC_LABELS = ("DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM")
TARGETS = {("sst2", "frozen"): 0.83, ("sst2", "finetune"): 0.90, ("trec", "frozen"): 0.91, ("trec", "finetune"): 0.97}


def trec_to_tsv(source: Path, out: Path) -> str:
    """TREC's `LABEL text` latin-1 lines → a UTF-8 TSV with the label's name."""
    rows = ["text\tlabel"]
    for line in source.read_text(encoding="latin-1").splitlines():
        label, text = line.split(" ", 1)
        rows.append(f"{text}\t{TREC_LABELS[int(label)]}")
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(out)


def dataset_config(name: str, work: Path, **settings) -> PipelineConfig:
    if name == "sst2":
        return PipelineConfig(
            train_data=str(SHARED / "sst2" / "train.tsv"),
            eval_data=str(SHARED / "sst2" / "test.tsv"),
            text_column="sentence",
            **settings,
        )
    return PipelineConfig(
        train_data=trec_to_tsv(SHARED / "trec" / "TREC.train.all", work / "trec_train.tsv"),
        eval_data=trec_to_tsv(SHARED / "trec" / "TREC.test.all", work / "trec_test.tsv"),
        label_names=TREC_LABELS,
        **settings,
    )


def run_pipeline(name: str, mode: str, work: Path, pipeline_name: str, finetuning: dict) -> PipelineConfig:
    """The whole pipeline (LocalDagRunner) on data set `name` in `mode`, everything under `work`, no accuracy
    floor; `finetuning`: the settings added in finetune mode. Returns its config."""
    work.mkdir(parents=True)
    settings = dict(
        mode=mode,
        pipeline_root=str(work / "pipeline"),
        serving_dir=str(work / "serving"),
        min_accuracy=0.0,
        pipeline_name=pipeline_name,
        **(finetuning if mode == "finetune" else {}),
    )
    config = pipeline.prepare(dataset_config(name, work, **settings))
    tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["sst2", "trec"], choices=["sst2", "trec"])
    parser.add_argument("--modes", nargs="+", default=["frozen", "finetune"], choices=["frozen", "finetune"])
    parser.add_argument("--max-train-steps", type=int, default=1500)
    parser.add_argument("--finetune-epochs", type=int, default=3)
    parser.add_argument("--encoder-lr", type=float, default=PipelineConfig.encoder_learning_rate)
    parser.add_argument("--work-dir", type=Path, default=Path("runs/bench"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("sentence_tfx").setLevel(logging.INFO)  # Embedding and fine-tuning progress.
    out = Path(__file__).parent / "results" / "accuracy.jsonl"
    rows = []
    for name in args.datasets:
        for mode in args.modes:
            finetuning = dict(
                max_train_steps=args.max_train_steps,
                epochs=args.finetune_epochs,
                encoder_learning_rate=args.encoder_lr,
            )
            started = time.monotonic()
            work = args.work_dir / f"{name}-{mode}-{int(time.time())}"
            config = run_pipeline(name, mode, work, f"bench-{name}-{mode}", finetuning)
            summary = results.summarize_run(config)
            row = {
                "dataset": name,
                "mode": mode,
                "accuracy": round(summary.metrics["sparse_categorical_accuracy"], 4),
                "target": TARGETS[name, mode],
                "wall_seconds": round(time.monotonic() - started),
                "eval_examples": int(summary.metrics["example_count"]),
                "epochs": config.epochs,
                "max_train_steps": config.max_train_steps,
                "batch_size": config.batch_size,
                "encoder_learning_rate": config.encoder_learning_rate,
                "truncated_share": round(summary.truncated_share, 4),
                "config": dataclasses.asdict(config),
            }
            rows.append(row)
            with out.open("a") as file:
                file.write(json.dumps(row) + "\n")
            print(json.dumps({k: v for k, v in row.items() if k != "config"}), flush=True)
    print("\n| data | mode | accuracy | target | wall time | budget |\n|---|---|---|---|---|---|")
    for row in rows:
        budget = (
            f"{row['epochs']} epochs, ≤ {row['max_train_steps']} steps × {row['batch_size']}, encoder lr "
            f"{row['encoder_learning_rate']}"
            if row["mode"] == "finetune"
            else f"head on cached embeddings, ~{FROZEN_HEAD_UPDATES} updates"
        )
        print(
            f"| {row['dataset']} | {row['mode']} | {100 * row['accuracy']:.1f} | {100 * row['target']:.0f} | "
            f"{row['wall_seconds'] / 60:.1f} min | {budget} |"
        )


if __name__ == "__main__":
    main()
