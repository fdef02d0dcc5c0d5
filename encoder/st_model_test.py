"""Reading sentence-transformers folders, and the clear errors for what cannot be converted exactly."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from sentence_tfx.encoder import st_model

TESTDATA = Path(__file__).parent / "testdata"


@pytest.fixture
def model_dir(tiny_model_dir, tmp_path):
    return shutil.copytree(tiny_model_dir, tmp_path / "model")


def _edit_json(path, **changes):
    content = json.loads(path.read_text())
    content.update(changes)
    path.write_text(json.dumps(content))


def test_reads_the_tiny_model(tiny_model_dir):
    model = st_model.load(tiny_model_dir)
    assert model.bert.num_layers == 2 and model.bert.hidden_size == 32
    assert model.pooling_modes == ("mean",) and model.normalize and model.embedding_dim == 32
    assert model.tokenizer.lowercase and model.tokenizer.special_tokens[:2] == ("[UNK]", "[SEP]")
    assert not any(name.startswith("pooler") for name in model.bert_weights)


def test_reads_a_torch_saved_checkpoint_with_bert_prefix(model_dir):
    """Older sentence-transformers folders: pytorch_model.bin, "bert."-prefixed names, pooler and position_ids.

    testdata/tiny_bert_pytorch_model.bin was written by torch.save (torch 2.13) from tiny.write(seed=0)'s weights.
    """
    expected = st_model.load(model_dir).bert_weights
    (model_dir / "model.safetensors").unlink()
    shutil.copy(TESTDATA / "tiny_bert_pytorch_model.bin", model_dir / "pytorch_model.bin")
    loaded = st_model.load(model_dir).bert_weights
    assert loaded.keys() == expected.keys()
    for name, value in expected.items():
        np.testing.assert_array_equal(loaded[name], value, err_msg=name)


def test_unsupported_architecture_names_what_was_found(model_dir):
    _edit_json(model_dir / "config.json", model_type="mpnet", architectures=["MPNetModel"])
    with pytest.raises(st_model.UnsupportedModelError, match=r"'mpnet' \(MPNetModel\).*supported: bert"):
        st_model.load(model_dir)


def test_unsupported_module_is_named(model_dir):
    modules = json.loads((model_dir / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_LSTM", "type": "sentence_transformers.models.LSTM"})
    (model_dir / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(st_model.UnsupportedModelError, match="LSTM.*supported: Transformer, Pooling, Dense"):
        st_model.load(model_dir)


def test_unsupported_pooling_is_named(model_dir):
    _edit_json(
        model_dir / "1_Pooling" / "config.json", pooling_mode_mean_tokens=False, pooling_mode_weightedmean_tokens=True
    )
    with pytest.raises(st_model.UnsupportedModelError, match="weightedmean"):
        st_model.load(model_dir)


def test_non_bert_tokenizer_is_refused(model_dir):
    (model_dir / "tokenizer.json").write_text(
        json.dumps(
            {"normalizer": {"type": "NFKC"}, "pre_tokenizer": {"type": "Metaspace"}, "model": {"type": "Unigram"}}
        )
    )
    with pytest.raises(st_model.UnsupportedModelError, match="Unigram"):
        st_model.load(model_dir)


def test_duplicate_vocab_entries_name_the_lines(model_dir):
    vocab = (model_dir / "vocab.txt").read_text().split("\n")
    vocab[-2] = "movie"
    (model_dir / "vocab.txt").write_text("\n".join(vocab))
    with pytest.raises(st_model.UnsupportedModelError, match=r"line \d+ repeats the token 'movie' of line \d+"):
        st_model.load(model_dir)


def test_missing_modules_json_is_explained(tmp_path):
    with pytest.raises(st_model.UnsupportedModelError, match="modules.json is missing"):
        st_model.load(tmp_path)
