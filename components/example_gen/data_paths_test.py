"""--train/--eval → TFX's input base and split patterns, for files, globs, folders and span patterns."""

import pytest

from sentence_tfx.components.example_gen import data_paths
from sentence_tfx.errors import InputError


def _patterns(train, eval_data=None):
    base, config = data_paths.input_config(train, eval_data)
    return base, {split.name: split.pattern for split in config.splits}


@pytest.mark.parametrize(
    "path, folder",
    [
        ("data/train.tsv", False),
        ("data/train-*.csv", False),
        ("data/part-*", False),
        ("data/train", True),
        ("data/train/", True),
        ("data/v1.2/", True),
        ("gs://b/reviews/{SPAN}", True),
        ("gs://b/reviews/{YYYY}-{MM}-{DD}", True),
        ("gs://b/reviews/{SPAN}.jsonl", False),
    ],
)
def test_a_folder_ends_with_a_slash_or_has_no_extension_and_no_glob(path, folder):
    assert data_paths.is_folder(path) == folder


def test_files_globs_and_folders_below_the_deepest_common_folder(tmp_path):
    assert _patterns(f"{tmp_path}/data/train.tsv", f"{tmp_path}/data/eval/e.tsv") == (
        f"{tmp_path}/data",
        {"train": "train.tsv", "eval": "eval/e.tsv"},
    )
    assert _patterns(f"{tmp_path}/a/*/x-*.csv", f"{tmp_path}/a/eval") == (
        f"{tmp_path}/a",
        {"train": "*/x-*.csv", "eval": "eval/*"},
    )


def test_relative_paths_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _patterns("data/train.tsv") == (f"{tmp_path}/data", {"train": "train.tsv"})


def test_span_specs_stay_in_the_split_patterns_where_tfx_resolves_them():
    assert _patterns("gs://b/reviews/{SPAN}/train/*.jsonl", "gs://b/reviews/{SPAN}/eval/") == (
        "gs://b/reviews",
        {"train": "{SPAN}/train/*.jsonl", "eval": "{SPAN}/eval/*"},
    )
    assert _patterns("gs://b/r/{YYYY}{MM}{DD}/t.csv") == ("gs://b/r", {"train": "{YYYY}{MM}{DD}/t.csv"})
    assert data_paths.has_span_spec("x/{SPAN:4}/v{VERSION}/a.csv") and not data_paths.has_span_spec("x/{a}.csv")


@pytest.mark.parametrize(
    "train, eval_data, message",
    [
        ("gs://b/{SPAN}/t.csv", "gs://b/e.csv", "must both use span specs"),
        ("gs://b/t.csv", "/local/e.csv", "must be on one filesystem"),
    ],
)
def test_inconsistent_paths_are_refused_by_name(train, eval_data, message):
    with pytest.raises(InputError, match=message):
        data_paths.input_config(train, eval_data)
