"""write_schema: the curated schema with the run's labels, readable the way TFX reads it; bad label lists refused."""

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tfx.utils import io_utils

from sentence_tfx import schemas
from sentence_tfx.errors import InputError


def test_written_schema_has_the_labels_in_order_and_both_features_required(tmp_path):
    path = schemas.write_schema(["positive", "negative", "neutral"], tmp_path / "new")
    assert path == str(tmp_path / "new" / "schema.pbtxt")
    schema = io_utils.SchemaReader().read(path)  # how ExampleValidator and Transform read it
    (domain,) = schema.string_domain
    assert list(domain.value) == ["positive", "negative", "neutral"]
    features = {f.name: f for f in schema.feature}
    assert set(features) == {"text", "label"}
    for feature in features.values():
        assert feature.presence.min_fraction == 1.0 and feature.presence.min_count == 1
        assert (feature.value_count.min, feature.value_count.max) == (1, 1)
    assert features["label"].domain == "label"
    assert features["text"].HasField("natural_language_domain")
    assert list(features["label"].not_in_environment) == ["SERVING"]
    assert set(schema.default_environment) == {"TRAINING", "SERVING"}


def test_a_second_run_overwrites_the_labels(tmp_path):
    schemas.write_schema(["a", "b"], tmp_path)
    schema = io_utils.SchemaReader().read(schemas.write_schema(("x", "y"), tmp_path))
    assert list(schema.string_domain[0].value) == ["x", "y"]
    assert schemas.read_label_names(schemas.schema_file(str(tmp_path))) == ("x", "y")


@pytest.mark.parametrize(
    "label_names, problem",
    [
        (["a", "", "b"], "empty or blank"),
        (["a", "  "], "empty or blank"),
        (["a", "b", "a"], "repeat 'a'"),
    ],
)
def test_bad_label_names_are_refused(label_names, problem, tmp_path):
    with pytest.raises(ValueError, match=problem):
        schemas.write_schema(label_names, tmp_path)
    assert not (tmp_path / "schema.pbtxt").exists()


def test_a_string_is_not_a_list_of_labels(tmp_path):
    with pytest.raises(TypeError, match="not the string 'ab'"):
        schemas.write_schema("ab", tmp_path)


def test_fewer_than_two_names_are_written_for_the_validation_gate_to_refuse(tmp_path):
    assert schemas.read_label_names(schemas.write_schema(["only"], tmp_path)) == ("only",)


def _label_statistics(labels, **options):
    """TFDV's own statistics of a split with these labels, as StatisticsGen computes them."""
    frame = pd.DataFrame({"text": ["t"] * len(labels), "label": labels})
    statistics = tfdv.generate_statistics_from_dataframe(frame, tfdv.StatsOptions(**options))
    return statistics.datasets[0]


def test_labels_from_statistics_numbers_in_numeric_order_then_names():
    labels = ["10", "pos", "2", "-1", "neg", "2", "10", "1.5"]
    assert schemas.labels_in_statistics(_label_statistics(labels)) == ["-1", "1.5", "2", "10", "neg", "pos"]


def test_more_labels_than_the_statistics_list_are_refused():
    with pytest.raises(InputError, match="5 distinct labels, more than the 3 .* is --label-column right"):
        schemas.labels_in_statistics(_label_statistics(list("abcde"), num_rank_histogram_buckets=3))
