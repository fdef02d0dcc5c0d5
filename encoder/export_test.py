"""export-encoder: the CLI, the export layout and the content-keyed cache of the default encoder."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from sentence_tfx.encoder import export
from sentence_tfx.pipeline import cli


def test_cli_exports_preprocessor_and_both_encoders(tiny_model_dir, tmp_path, capsys):
    assert (
        cli.main(["export-encoder", "--out", str(tmp_path), "--from", str(tiny_model_dir), "--seq-length", "24"]) == 0
    )
    for part in ("preprocessor", "encoder", "sentence_encoder"):
        assert (tmp_path / part / "saved_model.pb").exists()
    info = json.loads((tmp_path / export.INFO_FILE).read_text())
    assert info["seq_length"] == 24 and info["embedding_dim"] == 32 and info["normalize"]
    assert "embedding dim 32, pooling mean, L2-normalized" in capsys.readouterr().out


def test_cli_explains_an_unsupported_model(tiny_model_dir, tmp_path, capsys):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "xlmr")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "xlm-roberta"}))
    assert cli.main(["export-encoder", "--out", str(tmp_path / "out"), "--from", str(folder)]) == 2
    assert "architecture 'xlm-roberta'" in capsys.readouterr().err


def test_cli_refuses_a_seq_length_the_model_cannot_hold(tiny_model_dir, tmp_path, capsys):
    assert (
        cli.main(["export-encoder", "--out", str(tmp_path), "--from", str(tiny_model_dir), "--seq-length", "513"]) == 2
    )
    assert "must be in 3..512" in capsys.readouterr().err


def test_cli_embed_prints_similarities(tiny_export, capsys):
    assert cli.main(["embed", "--encoder", str(tiny_export), "good movie", "bad movie"]) == 0
    out = capsys.readouterr().out
    assert "32-dim embeddings" in out and "|v|=1.0000" in out and "cosine similarity" in out


def test_cli_embed_json_gives_ids_lengths_and_embeddings(tiny_export, capsys):
    texts = ["good movie", "a bad , boring film"]
    assert cli.main(["embed", "--json", "--encoder", str(tiny_export), *texts]) == 0
    result = json.loads(capsys.readouterr().out)
    inputs = hub.KerasLayer(str(tiny_export / "preprocessor"))(tf.constant(texts))
    expected = hub.KerasLayer(str(tiny_export / "encoder"))(inputs)["pooled_output"].numpy()
    assert result["texts"] == texts and result["lengths"] == [4, 7]
    assert result["ids"] == [row[:n].tolist() for row, n in zip(inputs["input_word_ids"].numpy(), [4, 7])]
    np.testing.assert_array_equal(np.array(result["embeddings"], np.float32), expected)


def test_cached_export_converts_once_per_source_content(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SENTENCE_TFX_CACHE", str(tmp_path / "cache"))
    first = export.cached_export(tiny_model_dir, seq_length=16)
    stamp = (first / "encoder" / "saved_model.pb").stat().st_mtime_ns
    assert export.cached_export(tiny_model_dir, seq_length=16) == first
    assert (first / "encoder" / "saved_model.pb").stat().st_mtime_ns == stamp
    changed = shutil.copytree(tiny_model_dir, tmp_path / "changed")
    (changed / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64}))
    assert export.cached_export(changed, seq_length=16) != first
    assert sorted(p.name for p in (tmp_path / "cache" / "encoders").iterdir() if p.name.startswith(".")) == []


@pytest.mark.integration
def test_default_export_is_all_minilm_l6_v2(minilm_export):
    info = json.loads((minilm_export / export.INFO_FILE).read_text())
    assert info["source_sha256"] == export.source_hash(export.default_model_dir())
    assert (info["num_layers"], info["hidden_size"], info["embedding_dim"]) == (6, 384, 384)
    assert info["pooling_modes"] == ["mean"] and info["normalize"] and info["max_seq_length"] == 256
