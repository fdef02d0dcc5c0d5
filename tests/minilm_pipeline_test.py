"""Integration: the whole pipeline with the real all-MiniLM-L6-v2 on 500 rows of the bundled SST-2 sample."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401
from tfx import v1 as tfx

from sentence_tfx.pipeline import pipeline, results
from sentence_tfx.config import PipelineConfig

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sst2"
MIN_ACCURACY = 0.70  # Frozen MiniLM + MLP head on 400 examples; chance is 0.5, full-data LR reaches 0.815.


def test_frozen_minilm_pipeline_learns_sentiment(tmp_path):
    lines = (SAMPLE / "train.tsv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.tsv").write_text("\n".join(lines[:401]) + "\n", encoding="utf-8")
    lines = (SAMPLE / "eval.tsv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "eval.tsv").write_text("\n".join(lines[:101]) + "\n", encoding="utf-8")
    config = pipeline.prepare(
        PipelineConfig(
            train_data=str(tmp_path / "train.tsv"),
            eval_data=str(tmp_path / "eval.tsv"),
            text_column="sentence",
            pipeline_root=str(tmp_path / "pipeline"),
            serving_dir=str(tmp_path / "serving"),
            min_accuracy=MIN_ACCURACY,
        )
    )
    tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
    summary = results.summarize_run(config)
    print(f"MiniLM frozen, 400 train rows: eval accuracy {summary.metrics['sparse_categorical_accuracy']:.3f}")
    assert summary.blessed and summary.pushed_to
    served = tf.saved_model.load(summary.pushed_to).signatures["serving_default"]
    answer = served(
        text=tf.constant(
            ["a moving , beautifully acted and deeply satisfying film", "a dull , lifeless and utterly tedious mess"]
        )
    )
    assert answer["label"].numpy().tolist() == [b"1", b"0"]
    embedding = tf.saved_model.load(summary.pushed_to).signatures["embed"](text=tf.constant(["hello"]))
    assert np.asarray(embedding["embedding"]).shape == (1, 384)
