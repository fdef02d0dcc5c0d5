"""The converted all-MiniLM-L6-v2 against PyTorch sentence-transformers (fixture made by parity/make_fixture.sh)."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401

pytestmark = pytest.mark.integration
TESTDATA = Path(__file__).parent / "testdata"
MAX_ABS_DIFF = 1e-5
MIN_COSINE = 0.99999


@pytest.fixture(scope="module")
def fixture():
    return json.loads((TESTDATA / "minilm_parity.json").read_text())


@pytest.fixture(scope="module")
def preprocessor(minilm_export):
    return tf.saved_model.load(str(minilm_export / "preprocessor"))


def _packed_rows(packed):
    return [
        row[mask.astype(bool)].tolist()
        for row, mask in zip(packed["input_word_ids"].numpy(), packed["input_mask"].numpy())
    ]


def test_token_ids_identical_untruncated(preprocessor, fixture):
    tokens = preprocessor.tokenize(tf.constant(fixture["sentences"])).merge_dims(-2, -1).to_list()
    mismatches = [
        (s, [101] + ours + [102], ref)
        for s, ours, ref in zip(fixture["sentences"], tokens, fixture["token_ids"])
        if [101] + ours + [102] != ref
    ]
    assert not mismatches, f"{len(mismatches)}/{len(tokens)} differ, first: {mismatches[0]}"


@pytest.mark.parametrize("seq_length, key", [(128, "token_ids_128"), (256, "token_ids_st")])
def test_token_ids_identical_when_packed(preprocessor, fixture, seq_length, key):
    tokens = preprocessor.tokenize(tf.constant(fixture["sentences"]))
    packed = preprocessor.bert_pack_inputs([tokens], seq_length=tf.constant(seq_length))
    assert _packed_rows(packed) == fixture[key]


def test_pair_truncation_identical(preprocessor, fixture):
    # transformers drops an empty second text (`if text_pair:`) before its Rust tokenizer sees it; the tokenizer
    # itself, TF Hub's bert_pack_inputs and ours keep the empty segment's [SEP]. Only that case is left out.
    pairs = [pair for pair in fixture["pairs"] if pair["b"] != ""]
    assert len(pairs) == len(fixture["pairs"]) - 1
    for pair in pairs:
        segments = [preprocessor.tokenize(tf.constant([pair[side]])) for side in ("a", "b")]
        packed = preprocessor.bert_pack_inputs(segments, seq_length=tf.constant(pair["max_length"]))
        length = len(pair["input_ids"])
        assert _packed_rows(packed) == [pair["input_ids"]], pair["case"]
        assert packed["input_type_ids"].numpy()[0, :length].tolist() == pair["token_type_ids"], pair["case"]


def test_embeddings_match_sentence_transformers_through_hub_keras_layer(minilm_export, fixture):
    expected = np.load(TESTDATA / "minilm_parity_embeddings.npy")
    preprocess = hub.KerasLayer(str(minilm_export / "preprocessor"))
    loaded = hub.load(str(minilm_export / "preprocessor"))
    encode = hub.KerasLayer(str(minilm_export / "encoder"), trainable=True)
    pack = hub.KerasLayer(loaded.bert_pack_inputs, arguments=dict(seq_length=fixture["max_seq_length"]))
    sentences = tf.constant(fixture["sentences"])
    ours = np.concatenate(
        [
            encode(pack([loaded.tokenize(batch)]), training=False)["pooled_output"].numpy()
            for batch in tf.split(sentences, 10)
        ]
    )
    _assert_matches(ours, expected, "encoder")
    assert preprocess(sentences[:2])["input_word_ids"].shape == (2, 128)  # The export's default length.


def test_sentence_encoder_matches_sentence_transformers_from_dict_and_from_ids(minilm_export, fixture):
    expected = np.load(TESTDATA / "minilm_parity_embeddings.npy")
    loaded = hub.load(str(minilm_export / "preprocessor"))
    encode = hub.KerasLayer(str(minilm_export / "sentence_encoder"), trainable=True)
    packed = [
        loaded.bert_pack_inputs([loaded.tokenize(batch)], seq_length=fixture["max_seq_length"])
        for batch in tf.split(tf.constant(fixture["sentences"]), 10)
    ]
    _assert_matches(np.concatenate([encode(p, training=False) for p in packed]), expected, "sentence_encoder, dict")
    # From ids alone the mask is ids != [PAD]: it differs from HF's only where a text itself types "[PAD]".
    from_ids = np.concatenate([encode(p["input_word_ids"], training=False) for p in packed])
    word_ids, mask = (np.concatenate([p[name] for p in packed]) for name in ("input_word_ids", "input_mask"))
    typed_pad = ((word_ids == 0) & (mask == 1)).any(axis=1)
    assert [fixture["sentences"][i] for i in np.flatnonzero(typed_pad)] == ["[PAD] padding [PAD]"]
    _assert_matches(from_ids[~typed_pad], expected[~typed_pad], "sentence_encoder, ids")


def _assert_matches(ours, expected, what):
    max_abs_diff = float(np.abs(ours - expected).max())
    cosine = (ours * expected).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(expected, axis=1))
    print(f"{what}: parity over {len(ours)} sentences: max |diff| {max_abs_diff:.2e}, min cosine {cosine.min():.8f}")
    assert max_abs_diff <= MAX_ABS_DIFF
    assert cosine.min() >= MIN_COSINE
