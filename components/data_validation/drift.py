"""Drift between runs: this run's statistics against those of the last run whose data passed validation.

TFDV's drift comparators do the comparing, as TFX's DistributionValidator does: L-infinity distance on the label
distribution of the train split (ValidationGate, before Transform) and Jensen-Shannon divergence on the
token-length distribution, `token_count` as Transform records it (TokenLengthDriftGate, before any training).

A run whose data passes both records its statistics as AcceptedStatistics, the next run's baseline. A drifted run
records nothing, so running it again compares against the same baseline and stops again. DistributionValidator
itself does not fit: its baseline must be a plain ExampleStatistics, which Kubeflow V2's latest-artifact resolver
finds by type alone (this run's own statistics, or Transform's, would match), and it cannot read Transform's
statistics, which have no splits.
"""

import dataclasses
import logging
import os

import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2
from tfx import v1 as tfx

from sentence_tfx import features

log = logging.getLogger(__name__)
TRAIN, TRANSFORMED = "train", "transformed"  # The parts of AcceptedStatistics, one folder each.
TOKENIZATION = "tokenization"  # Its custom property: token lengths are compared only under the same tokenization.
STATS_FILE = "FeatureStats.pb"  # As StatisticsGen and Transform name it.
_MAX_LISTED_LABELS = 5
_MEASURES = {
    anomalies_pb2.DriftSkewInfo.Measurement.L_INFTY: "L-infinity distance",
    anomalies_pb2.DriftSkewInfo.Measurement.JENSEN_SHANNON_DIVERGENCE: "Jensen-Shannon divergence",
}


class AcceptedStatistics(tfx.dsl.Artifact):
    """Statistics of a run's data that passed validation: train/FeatureStats.pb (StatisticsGen's train split) and
    transformed/FeatureStats.pb (Transform's post-transform statistics)."""

    TYPE_NAME = "sentence_tfx.AcceptedStatistics"  # "<module>.<Class>", as Kubeflow V2 requires (see gate.py).


@dataclasses.dataclass(frozen=True)
class Drift:
    """How far one feature's distribution moved from the last accepted run, and how (in words)."""

    feature: str
    measure: str  # "L-infinity distance" or "Jensen-Shannon divergence"
    value: float
    threshold: float
    change: str  # e.g. "'1' 50% → 90%, '0' 50% → 10%"

    @property
    def drifted(self) -> bool:
        return self.value > self.threshold


class LatestOrNoneStrategy(tfx.dsl.experimental.LatestArtifactStrategy):
    """LatestArtifactStrategy, except that finding nothing (the first run) resolves to nothing: TFX's own fails the
    resolver then, with an error in the log and a failed execution in ML Metadata. Kubeflow V2 compiles it as
    LatestArtifactStrategy (see pipeline/kubeflow_v2.py)."""

    def resolve_artifacts(self, store, input_dict):
        return super().resolve_artifacts(store, input_dict) or {key: [] for key in input_dict}


def previous_statistics_resolver() -> tfx.dsl.Resolver:
    """The latest AcceptedStatistics in ML Metadata: the last run whose data passed validation (none at first)."""
    return tfx.dsl.Resolver(
        strategy_class=LatestOrNoneStrategy,
        statistics=tfx.dsl.Channel(type=AcceptedStatistics),
    ).with_id("previous_accepted_statistics")


def label_drift(
    current: statistics_pb2.DatasetFeatureStatistics, previous: AcceptedStatistics, max_drift: float
) -> Drift | None:
    comparator = schema_pb2.FeatureComparator(infinity_norm=schema_pb2.InfinityNorm(threshold=max_drift))
    return _measure(features.LABEL, comparator, current, load(previous, TRAIN))


def token_length_drift(
    current: statistics_pb2.DatasetFeatureStatistics, previous: AcceptedStatistics, max_drift: float
) -> Drift | None:
    comparator = schema_pb2.FeatureComparator(
        jensen_shannon_divergence=schema_pb2.JensenShannonDivergence(threshold=max_drift)
    )
    return _measure(features.TOKEN_COUNT, comparator, current, load(previous, TRANSFORMED))


def _measure(feature, comparator, current, previous) -> Drift | None:
    """Compared as DistributionValidator compares: a schema inferred from the previous statistics, with the
    comparator on `feature`. None when TFDV could not compare (the feature missing from one side)."""
    previous_list = _as_list(previous)
    schema = tfdv.infer_schema(previous_list)
    tfdv.get_feature(schema, feature).drift_comparator.CopyFrom(comparator)
    anomalies = tfdv.validate_statistics(_as_list(current), schema, previous_statistics=previous_list)
    measurements = [m for info in anomalies.drift_skew_info for m in info.drift_measurements]
    if not measurements:
        log.warning("%s: no statistics to compare with the last accepted run's", feature)
        return None
    (measurement,) = measurements
    was, now = _feature(previous, feature), _feature(current, feature)
    drift = Drift(
        feature,
        _MEASURES[measurement.type],
        measurement.value,
        measurement.threshold,
        _label_change(was, now) if feature == features.LABEL else _length_change(was, now),
    )
    log.info(
        "%s, from the last accepted run: %s %.4f (threshold %g)", feature, drift.measure, drift.value, drift.threshold
    )
    return drift


def _as_list(stats: statistics_pb2.DatasetFeatureStatistics) -> statistics_pb2.DatasetFeatureStatisticsList:
    return statistics_pb2.DatasetFeatureStatisticsList(datasets=[stats])


def _feature(stats: statistics_pb2.DatasetFeatureStatistics, name: str) -> statistics_pb2.FeatureNameStatistics:
    return next(f for f in stats.features if (list(f.path.step) if f.HasField("path") else [f.name]) == [name])


def _label_change(was: statistics_pb2.FeatureNameStatistics, now: statistics_pb2.FeatureNameStatistics) -> str:
    """The labels whose share moved most, largest move first."""
    before, after = _shares(was), _shares(now)
    labels = sorted(
        before.keys() | after.keys(), key=lambda label: (-abs(after.get(label, 0) - before.get(label, 0)), label)
    )
    listed = ", ".join(
        f"{label!r} {100 * before.get(label, 0):.0f}% → {100 * after.get(label, 0):.0f}%"
        for label in labels[:_MAX_LISTED_LABELS]
    )
    more = len(labels) - _MAX_LISTED_LABELS
    return listed + (f", and {more} more" if more > 0 else "")


def _shares(stats: statistics_pb2.FeatureNameStatistics) -> dict[str, float]:
    buckets = stats.string_stats.rank_histogram.buckets
    total = sum(bucket.sample_count for bucket in buckets) or 1
    return {bucket.label: bucket.sample_count / total for bucket in buckets}


def _length_change(was: statistics_pb2.FeatureNameStatistics, now: statistics_pb2.FeatureNameStatistics) -> str:
    return (
        f"mean {was.num_stats.mean:.1f} → {now.num_stats.mean:.1f} tokens, "
        f"median {was.num_stats.median:.0f} → {now.num_stats.median:.0f}"
    )


def load(accepted: AcceptedStatistics, part: str) -> statistics_pb2.DatasetFeatureStatistics:
    return tfdv.load_stats_binary(os.path.join(accepted.uri, part, STATS_FILE)).datasets[0]


def load_transformed(
    post_transform_stats: tfx.types.standard_artifacts.ExampleStatistics,
) -> statistics_pb2.DatasetFeatureStatistics:
    """Transform's post-transform statistics: every split it transformed, together (they have no splits)."""
    return tfdv.load_stats_binary(os.path.join(post_transform_stats.uri, STATS_FILE)).datasets[0]


def record(
    out: AcceptedStatistics,
    train: statistics_pb2.DatasetFeatureStatistics,
    transformed: statistics_pb2.DatasetFeatureStatistics,
    tokenization: str,
) -> None:
    for part, stats in ((TRAIN, train), (TRANSFORMED, transformed)):
        tf.io.gfile.makedirs(os.path.join(out.uri, part))
        with tf.io.gfile.GFile(os.path.join(out.uri, part, STATS_FILE), "wb") as file:
            file.write(_as_list(stats).SerializeToString())
    out.set_string_custom_property(TOKENIZATION, tokenization)
