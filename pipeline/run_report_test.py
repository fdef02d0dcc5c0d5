"""The run report of a real tiny-encoder run, opened in real headless Chromium: every section and chart laid out, no
script, no request but the page itself, and its numbers those of the run's own metrics (TFMA's, via ML Metadata)."""

from pathlib import Path

import pytest

from sentence_tfx.components.data_validation import gate
from sentence_tfx.components.report import page
from sentence_tfx.pipeline import results

pytestmark = pytest.mark.slow  # Uses the shared whole-pipeline run (frozen_run).

SCREENSHOT = Path(__file__).resolve().parents[1] / "runs" / "test-artifacts" / "run_report.png"


def test_report_of_a_real_run_renders_every_section_with_the_runs_numbers(frozen_run, open_in_chromium):
    summary = results.summarize_run(frozen_run)
    report = Path(results.run_report(frozen_run))
    shown, requested = open_in_chromium(report, SCREENSHOT)
    assert requested == [report.resolve().as_uri()]
    assert shown["scripts"] == 0 and all(image["loaded"] for image in shown["images"])
    sections = {section["id"]: section for section in shown["sections"]}
    assert list(sections) == [key for key, _ in page.SECTIONS]
    charts = {key: [chart["title"] for chart in section["charts"]] for key, section in sections.items()}
    assert charts["data"] == ["Labels per split", "Token length per split"]
    assert {"Loss per epoch", "Accuracy per epoch"} <= set(charts["training"])
    assert charts["evaluation"] == ["Confusion matrix", "Reliability"]
    every_chart = [chart for section in sections.values() for chart in section["charts"]]
    assert all(chart["width"] > 200 and chart["height"] > 150 and chart["drawn"] > 20 for chart in every_chart)

    data, validation, evaluation, card = (
        sections[key]["text"] for key in ("data", "validation", "evaluation", "model-card")
    )
    assert validation.count(gate.FIRST_RUN) == 2  # Both drift checks, label and token length: nothing to compare.
    assert "train\t96\t" in data and "eval\t48\t" in data  # The fixture's rows (96 train, 48 eval).
    for name, value in summary.metrics.items():  # A table row's cells are tab-separated in innerText.
        assert f"{name}\t{value:.0f}" in evaluation if name == "example_count" else f"{name}\t{value:.4f}" in evaluation
    # The report scores the eval split with the trained model itself: its accuracy is TFMA's.
    accuracy = summary.metrics["sparse_categorical_accuracy"]
    assert f"accuracy {accuracy:.4f}, macro-F1" in evaluation
    assert f"Pushed: {summary.pushed_to}." in evaluation and f"accuracy\t{accuracy:.4f}\teval, all rows" in card
