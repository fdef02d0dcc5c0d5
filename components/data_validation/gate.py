"""ValidationGate: turns ExampleValidator's anomalies into a failed run with a readable reason, plus HTML pages.

ExampleValidator only records anomalies; the run would go on to Transform and training with bad data. The gate
reads what it recorded, writes statistics.html and anomalies.html, and raises AnomaliesFoundError if any split has
anomalies. Wire Transform after it (`transform.add_upstream_node(gate)` or consume `report`) so a rejection stops the
run before Transform.
"""

import dataclasses
import html
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

log = logging.getLogger(__name__)

STATISTICS_HTML = "statistics.html"
ANOMALIES_HTML = "anomalies.html"
DATASET = "(dataset)"  # the feature column of anomalies about a whole split, not one feature
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


def summarize(problems: list[Problem]) -> str:
    """The multi-line text a person reads in the failed run: per split and feature, what is wrong."""
    lines = [f"  {p.split}: {p.feature}: {p.short_description}: {p.detail}" for p in problems]
    return "\n".join(
        [
            f"Data validation found {_count(len(problems), 'anomaly', 'anomalies')}; the run stops before Transform:",
            *lines,
        ]
    )


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
    schema: schema_pb2.Schema,
) -> tuple[str, str]:
    """Writes statistics.html and anomalies.html into out_dir (any filesystem TensorFlow knows); returns their
    paths."""
    tf.io.gfile.makedirs(out_dir)
    stats_sections = "".join(
        f"<h2>{html.escape(split)}</h2>{_feature_table(stats)}"
        + display_util.get_statistics_html(_as_list(stats), lhs_name=split)
        for split, stats in statistics.items()
    )
    verdict = (
        f"<p class=bad>{_count(len(problems), 'anomaly', 'anomalies')}: this data does not go on to Transform "
        "and training.</p>"
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
    schema_features, schema_domains = display_util.get_schema_dataframe(schema)
    pages = {
        STATISTICS_HTML: _page(
            "Statistics",
            "<p>Per split: a summary table, then the Facets view (it loads its scripts from the web).</p>"
            + stats_sections,
        ),
        ANOMALIES_HTML: _page(
            "Anomalies",
            verdict + problems_table + "<h2>Expected (the schema)"
            "</h2>" + schema_features.to_html() + schema_domains.to_html(),
        ),
    }
    for name, page in pages.items():
        with tf.io.gfile.GFile(os.path.join(out_dir, name), "w") as out:
            out.write(page)
    return os.path.join(out_dir, STATISTICS_HTML), os.path.join(out_dir, ANOMALIES_HTML)


def _as_list(stats: statistics_pb2.DatasetFeatureStatistics) -> statistics_pb2.DatasetFeatureStatisticsList:
    return statistics_pb2.DatasetFeatureStatisticsList(datasets=[stats])


def _feature_table(stats: statistics_pb2.DatasetFeatureStatistics) -> str:
    """A plain table that reads without network access, unlike Facets."""
    rows = []
    for feature in stats.features:
        common = _common(feature)
        top = ", ".join(f"{v.value!r} ({int(v.frequency)})" for v in feature.string_stats.top_values[:5])
        rows.append(
            {
                "feature": _name(feature),
                "type": statistics_pb2.FeatureNameStatistics.Type.Name(feature.type),
                "examples without it": common.num_missing,
                "values per example": f"{common.min_num_values}–{common.max_num_values}",
                "distinct values": feature.string_stats.unique,
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


@tfx.dsl.components.component
def ValidationGate(
    statistics: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleStatistics],
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    schema: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Schema],
    report: tfx.dsl.components.OutputArtifact[ValidationReport],
) -> None:
    """Writes the HTML report; raises AnomaliesFoundError if any split has anomalies, so the run stops here."""
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
    out_dir = _rejected_dir(report.uri) if problems else report.uri
    stats_html, anomalies_html = write_report(out_dir, stats_by_split, problems, schema_proto)
    log.info("Data validation report: %s and %s", anomalies_html, stats_html)
    if problems:
        raise AnomaliesFoundError(f"{summarize(problems)}\nReport: {anomalies_html} (statistics: {stats_html})")
