"""ValidationGate: turns ExampleValidator's anomalies into a failed run with a readable reason, plus HTML pages.

ExampleValidator only records anomalies; the run would go on to Transform and training with bad data. The gate
reads what it recorded, adds label drift against the last accepted run (drift.py), writes statistics.html and
anomalies.html, and raises AnomaliesFoundError if any split has anomalies. Wire Transform after it
(`transform.add_upstream_node(gate)` or consume `report`) so a rejection stops the run before Transform.
TokenLengthDriftGate does the same after Transform for the token lengths, before any training.
"""

import dataclasses
import html
import json
import logging
import os
import posixpath
from collections.abc import Iterator, Mapping

import pandas as pd
import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow_data_validation.utils import anomalies_util, display_util
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2
from tfx import v1 as tfx
from tfx.components.example_validator.executor import DEFAULT_FILE_NAME as ANOMALIES_FILE
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.types import artifact_utils
from tfx.utils import io_utils

from sentence_tfx import features, schemas
from sentence_tfx.components.data_validation import drift
from sentence_tfx.components.report import charts

log = logging.getLogger(__name__)

STATISTICS_HTML = "statistics.html"
ANOMALIES_HTML = "anomalies.html"
DRIFT_FILE = "drift.json"  # The drift checks of a gate, drifted or not, for the run report.
MAX_CHARTED_VALUES = 50  # A string feature with more distinct values gets no bar chart and no top values.
DATASET = "(dataset)"  # the feature column of anomalies about a whole split, not one feature
FIRST_RUN = "no earlier run's data passed validation (the first run)"
_MAX_LISTED_VALUES = 10
_AnomalyInfo = anomalies_pb2.AnomalyInfo


class ValidationReport(tfx.dsl.Artifact):
    """HTML pages for a person: statistics.html (every split) and anomalies.html (what broke the schema)."""

    # "<module>.<Class>": Kubeflow V2 / Vertex only accept custom type names of this form, and the container imports
    # the class from it (sentence_tfx exposes it lazily, see sentence_tfx/__init__.py).
    TYPE_NAME = "sentence_tfx.ValidationReport"


class AnomaliesFoundError(RuntimeError):
    """The data breaks the schema; the message says where and how, and where the HTML report is."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One reason one feature (or a whole split) failed validation."""

    split: str
    feature: str
    severity: str
    short_description: str
    description: str  # TFDV's own words
    detail: str  # exact counts from the statistics where we can give them, else TFDV's description


def find_problems(
    anomalies: Mapping[str, anomalies_pb2.Anomalies],
    statistics: Mapping[str, statistics_pb2.DatasetFeatureStatistics],
    schema: schema_pb2.Schema,
) -> list[Problem]:
    """Every anomaly reason of every split (dicts keyed by split name), in split then feature order."""
    return [
        problem
        for split, split_anomalies in anomalies.items()
        for problem in _split_problems(split, split_anomalies, statistics[split], schema)
    ]


def too_few_classes(
    statistics: Mapping[str, statistics_pb2.DatasetFeatureStatistics], schema: schema_pb2.Schema
) -> list[Problem]:
    """A train split with examples of fewer than two of the label names (TFDV has no such constraint): with the
    label names taken from that split at run time, this is where a one-class train set stops the run."""
    if schemas.TRAIN_SPLIT not in statistics:
        return []
    names = set(tfdv.get_domain(schema, features.LABEL).value)
    label = next((f for f in statistics[schemas.TRAIN_SPLIT].features if _name(f) == features.LABEL), None)
    buckets = label.string_stats.rank_histogram.buckets if label else []
    counts = {b.label: int(b.sample_count) for b in buckets if b.label in names}
    if len(counts) >= 2:
        return []
    found = ", ".join(f"{name!r} ({_count(n, 'example')})" for name, n in counts.items()) or "none"
    reason = "A classifier needs examples of at least 2 classes"
    return [
        Problem(
            schemas.TRAIN_SPLIT, features.LABEL, "ERROR", "Fewer than 2 classes", reason, f"{found}; {reason.lower()}"
        )
    ]


def summarize(problems: list[Problem], next_step: str = "Transform") -> str:
    """The multi-line text a person reads in the failed run: per split and feature, what is wrong."""
    lines = [f"  {p.split}: {p.feature}: {p.short_description}: {p.detail}" for p in problems]
    return "\n".join(
        [
            f"Data validation found {_count(len(problems), 'anomaly', 'anomalies')}; the run stops before {next_step}:",
            *lines,
        ]
    )


def drift_problem(split: str, found: drift.Drift, option: str) -> Problem:
    """A drift past its threshold, as a Problem; `option` names the threshold's command-line option."""
    what = "Label" if found.feature == features.LABEL else "Token-length"
    return Problem(
        split,
        found.feature,
        "ERROR",
        f"{what} distribution drifted from the last accepted run",
        f"{found.measure} {found.value:.3f} is above the threshold {found.threshold:g}",
        f"{found.change} ({found.measure} {found.value:.2f} > {option} {found.threshold:g})",
    )


def drift_check(feature: str, found: drift.Drift | None, why_not: str = "") -> dict:
    """One drift comparison as the run report reads it: the measure and value, or why there was none."""
    if found is None:
        return {"feature": feature, "compared": False, "why": why_not or "TFDV had no statistics to compare"}
    return {"compared": True, **dataclasses.asdict(found)}


def _split_problems(split, anomalies, statistics, schema) -> Iterator[Problem]:
    features = {_name(f): f for f in statistics.features}
    infos = sorted(anomalies.anomaly_info.items())
    if anomalies.HasField("dataset_anomaly_info"):
        infos.append((DATASET, anomalies.dataset_anomaly_info))
    for feature, info in infos:
        for reason in info.reason:
            detail = (
                _detail(reason.type, features[feature], statistics.num_examples, schema, feature)
                if feature in features
                else ""
            )
            yield Problem(
                split,
                feature,
                _AnomalyInfo.Severity.Name(info.severity),
                reason.short_description,
                reason.description,
                detail or reason.description,
            )


def _detail(reason_type, stats: statistics_pb2.FeatureNameStatistics, num_examples: int, schema, feature) -> str:
    """Exact counts for the anomalies text data has; '' where the statistics cannot give them exactly."""
    common = _common(stats)
    if reason_type == _AnomalyInfo.ENUM_TYPE_UNEXPECTED_STRING_VALUES:
        # Value counts are example counts when no example has more than one value.
        unit = "example" if common.max_num_values <= 1 else "value"
        expected = set(tfdv.get_domain(schema, feature).value)
        unexpected = [
            (b.label, int(b.sample_count)) for b in stats.string_stats.rank_histogram.buckets if b.label not in expected
        ]
        listed = ", ".join(f"{label!r} ({_count(n, unit)})" for label, n in unexpected[:_MAX_LISTED_VALUES])
        more = len(unexpected) - _MAX_LISTED_VALUES
        return listed + (f", and {more} more" if more > 0 else "")
    if reason_type == _AnomalyInfo.FEATURE_TYPE_LOW_NUMBER_VALUES and common.max_num_values <= 1:
        return f"{_count(common.num_non_missing - common.tot_num_values, 'example')} with no value"
    if reason_type in (_AnomalyInfo.FEATURE_TYPE_LOW_FRACTION_PRESENT, _AnomalyInfo.FEATURE_TYPE_LOW_NUMBER_PRESENT):
        return f"missing from {common.num_missing} of {_count(num_examples, 'example')}"
    return ""


def _name(stats: statistics_pb2.FeatureNameStatistics) -> str:
    """The feature's name as anomalies key it (a serialized path)."""
    return str(tfdv.FeaturePath.from_proto(stats.path)) if stats.HasField("path") else stats.name


def _common(stats: statistics_pb2.FeatureNameStatistics) -> statistics_pb2.CommonStatistics:
    return getattr(stats, stats.WhichOneof("stats")).common_stats


def _count(n: int, noun: str, plural: str = "") -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def write_report(
    out_dir: str,
    statistics: Mapping[str, statistics_pb2.DatasetFeatureStatistics],
    problems: list[Problem],
    schema: schema_pb2.Schema | None,
    next_step: str = "Transform",
) -> tuple[str, str]:
    """Writes statistics.html and anomalies.html into out_dir (any filesystem TensorFlow knows); returns their
    paths. Without a schema the anomalies page has no "Expected" section."""
    tf.io.gfile.makedirs(out_dir)
    stats_sections = "".join(
        f"<h2>{html.escape(split)}</h2>{_feature_table(stats)}<div>{_feature_charts(stats, split)}</div>"
        for split, stats in statistics.items()
    )
    verdict = (
        f"<p class=bad>{_count(len(problems), 'anomaly', 'anomalies')}: this data does not go on to "
        f"{'Transform and training' if next_step == 'Transform' else next_step}.</p>"
        if problems
        else "<p class=good>No anomalies.</p>"
    )
    problems_table = (
        pd.DataFrame([dataclasses.asdict(p) for p in problems])
        .rename(columns=lambda field: field.replace("_", " "))
        .to_html(index=False)
        if problems
        else ""
    )
    expected = ""
    if schema is not None:
        schema_features, schema_domains = display_util.get_schema_dataframe(schema)
        expected = "<h2>Expected (the schema)</h2>" + schema_features.to_html() + schema_domains.to_html()
    pages = {
        STATISTICS_HTML: _page(
            "Statistics",
            "<p>Per split: a summary table, then a chart of each feature's values (drawn into the page: it needs "
            "no network and no JavaScript).</p>" + stats_sections,
        ),
        ANOMALIES_HTML: _page("Anomalies", verdict + problems_table + expected),
    }
    for name, page in pages.items():
        with tf.io.gfile.GFile(os.path.join(out_dir, name), "w") as out:
            out.write(page)
    return os.path.join(out_dir, STATISTICS_HTML), os.path.join(out_dir, ANOMALIES_HTML)


def _categorical(feature: statistics_pb2.FeatureNameStatistics) -> bool:
    """A string feature of few values, like the label; never the text, however few texts there are."""
    return (
        feature.HasField("string_stats")
        and _name(feature) != features.TEXT
        and feature.string_stats.unique <= MAX_CHARTED_VALUES
    )


def _feature_charts(stats: statistics_pb2.DatasetFeatureStatistics, split: str) -> str:
    """Bars of a categorical feature's values (the label), the histogram of a numeric one (token counts)."""
    svgs = []
    for feature in stats.features:
        name = _name(feature)
        if name in features.TOKEN_FEATURES:
            continue  # Token ids, mask and type ids: their histograms say nothing about the data.
        if _categorical(feature):
            buckets = feature.string_stats.rank_histogram.buckets
            svgs.append(
                charts.grouped_bars(
                    [b.label for b in buckets], {split: [b.sample_count for b in buckets]}, name, "examples"
                )
            )
        elif feature.HasField("num_stats") and feature.num_stats.histograms:
            histogram = next(
                (h for h in feature.num_stats.histograms if h.type == statistics_pb2.Histogram.STANDARD),
                feature.num_stats.histograms[0],
            )
            svgs.append(
                charts.bucket_bars(
                    [(b.low_value, b.high_value) for b in histogram.buckets],
                    [b.sample_count for b in histogram.buckets],
                    name,
                    name,
                )
            )
    return "".join(svgs)


def _feature_table(stats: statistics_pb2.DatasetFeatureStatistics) -> str:
    """A plain table; the top values only of categorical features (a text column's are noise)."""
    rows = []
    for feature in stats.features:
        common = _common(feature)
        shown = feature.string_stats.top_values[:5] if _categorical(feature) else []
        top = ", ".join(f"{v.value!r} ({int(v.frequency)})" for v in shown)
        rows.append(
            {
                "feature": _name(feature),
                "type": statistics_pb2.FeatureNameStatistics.Type.Name(feature.type),
                "examples without it": common.num_missing,
                "values per example": f"{common.min_num_values}–{common.max_num_values}",
                "distinct values": feature.string_stats.unique,
                "average length": f"{feature.string_stats.avg_length:.1f}" if feature.HasField("string_stats") else "",
                "top values": top,
            }
        )
    return f"<p>{stats.num_examples} examples</p>" + pd.DataFrame(rows).to_html(index=False)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title><style>"
        "body{font-family:sans-serif;margin:2em} table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
        ".bad{color:#b00;font-weight:bold} .good{color:#070;font-weight:bold}"
        f"</style></head><body><h1>{title}</h1>{body}</body></html>"
    )


def _rejected_dir(report_uri: str) -> str:
    """Where a rejected run's report goes: TFX deletes a failed component's output directories, report's included.

    Output URIs are <pipeline_root>/<node>/<output>/<execution id>; this is <pipeline_root>/<node>/rejected/<id>.
    """
    output_dir, execution_id = posixpath.split(report_uri.rstrip("/"))
    return posixpath.join(posixpath.dirname(output_dir), "rejected", execution_id)


def _stop_or_pass(problems, statistics, schema, report_uri: str, next_step: str, drift_checks: list[dict]) -> None:
    """Writes the report (and the drift checks); raises AnomaliesFoundError if there are problems, so the run stops
    before next_step."""
    out_dir = _rejected_dir(report_uri) if problems else report_uri
    stats_html, anomalies_html = write_report(out_dir, statistics, problems, schema, next_step)
    with tf.io.gfile.GFile(os.path.join(out_dir, DRIFT_FILE), "w") as out:
        out.write(json.dumps(drift_checks))
    log.info("Data validation report: %s and %s", anomalies_html, stats_html)
    if problems:
        raise AnomaliesFoundError(
            f"{summarize(problems, next_step)}\nReport: {anomalies_html} (statistics: {stats_html})"
        )


@tfx.dsl.components.component
def ValidationGate(
    statistics: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleStatistics],
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    schema: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Schema],
    report: tfx.dsl.components.OutputArtifact[ValidationReport],
    max_label_drift: tfx.dsl.components.Parameter[float],
    previous_statistics: tfx.dsl.components.InputArtifact[drift.AcceptedStatistics] = None,
) -> None:
    """Writes the HTML report; raises AnomaliesFoundError if any split has anomalies or the train split's labels
    drifted from the last accepted run's (`previous_statistics`, none at first), so the run stops here."""
    anomalies_by_split = {
        split: anomalies_util.load_anomalies_binary(
            os.path.join(artifact_utils.get_split_uri([anomalies], split), ANOMALIES_FILE)
        )
        for split in anomalies.splits
    }
    stats_by_split = {
        split: stats_artifact_utils.load_statistics(statistics, split).get_default_slice_or_die().proto()
        for split in statistics.splits
    }
    schema_proto = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(schema.uri))
    problems = find_problems(anomalies_by_split, stats_by_split, schema_proto)
    problems += too_few_classes(stats_by_split, schema_proto)
    if previous_statistics is None:
        log.info("no accepted statistics of an earlier run: label drift not checked")
        checks = [drift_check(features.LABEL, None, FIRST_RUN)]
    else:
        labels = drift.label_drift(stats_by_split[drift.TRAIN], previous_statistics, max_label_drift)
        checks = [drift_check(features.LABEL, labels)]
        if labels and labels.drifted:
            problems.append(drift_problem(drift.TRAIN, labels, "--max-label-drift"))
    _stop_or_pass(problems, stats_by_split, schema_proto, report.uri, "Transform", checks)


@tfx.dsl.components.component
def TokenLengthDriftGate(
    statistics: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleStatistics],
    transformed_statistics: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleStatistics],
    length_report: tfx.dsl.components.OutputArtifact[ValidationReport],
    accepted_statistics: tfx.dsl.components.OutputArtifact[drift.AcceptedStatistics],
    max_token_length_drift: tfx.dsl.components.Parameter[float],
    tokenization: tfx.dsl.components.Parameter[str],
    previous_statistics: tfx.dsl.components.InputArtifact[drift.AcceptedStatistics] = None,
) -> None:
    """After Transform: stops the run if the token lengths (`transformed_statistics`, Transform's) drifted from the
    last accepted run's; otherwise records this run's statistics as accepted, the next run's baseline. Lengths are
    compared only under the same `tokenization` (preprocessor and sequence length). Its report is not named
    `report` like ValidationGate's: TFX's Airflow driver names artifacts <output key>:<run id>, unique per type."""
    transformed = drift.load_transformed(transformed_statistics)
    problems = []
    if previous_statistics is None:
        log.info("no accepted statistics of an earlier run: token-length drift not checked")
        checks = [drift_check(features.TOKEN_COUNT, None, FIRST_RUN)]
    elif previous_statistics.get_string_custom_property(drift.TOKENIZATION) != tokenization:
        log.info("the tokenization changed since the last accepted run: token-length drift not checked")
        checks = [drift_check(features.TOKEN_COUNT, None, "the tokenization changed since the last accepted run")]
    else:
        lengths = drift.token_length_drift(transformed, previous_statistics, max_token_length_drift)
        checks = [drift_check(features.TOKEN_COUNT, lengths)]
        if lengths and lengths.drifted:
            problems.append(drift_problem(drift.TRANSFORMED, lengths, "--max-token-length-drift"))
    _stop_or_pass(problems, {drift.TRANSFORMED: transformed}, None, length_report.uri, "training", checks)
    train = stats_artifact_utils.load_statistics(statistics, drift.TRAIN).get_default_slice_or_die().proto()
    drift.record(accepted_statistics, train, transformed, tokenization)
