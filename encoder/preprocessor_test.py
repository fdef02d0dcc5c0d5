"""The tiny preprocessor against HF tokenizers' BERT WordPiece tokenizer over the same vocab."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401
from tokenizers import BertWordPieceTokenizer

from sentence_tfx.encoder import tiny
from conftest import TINY_SEQ_LENGTH

TEXTS = [
    "The movie was fun!",
    "WHO directed it?",
    "Crème brûlée, naïve café",
    "don't stop",
    "",
    "   ",
    "a" * 101,
    "a" * 100,
    "中文abc",
    "x\x00y\u200bz",
    "hello [SEP] world [cls]",
    "\ue000 [MASK]\ue001",
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen",
    "ＦＵＬＬ width ＡＢＣ",
    "ß ﬁ İ",
    "tab\tnew\nline\r",
    "emoji 🙂 ok",
    "unknownwordzzq",
]


@pytest.fixture(scope="module")
def preprocessor(tiny_export):
    return tf.saved_model.load(str(tiny_export / "preprocessor"))


@pytest.fixture
def reference(tiny_model_dir):
    return BertWordPieceTokenizer(str(tiny_model_dir / "vocab.txt"), lowercase=True)


def test_tokenize_matches_hf_wordpiece(preprocessor, reference):
    ours = preprocessor.tokenize(tf.constant(TEXTS))
    assert ours.dtype == tf.int32 and ours.shape.rank == 3
    for text, words in zip(TEXTS, ours.to_list()):
        assert [i for word in words for i in word] == reference.encode(text, add_special_tokens=False).ids, text


def test_call_packs_and_truncates_like_hf(preprocessor, reference):
    reference.enable_truncation(TINY_SEQ_LENGTH)
    reference.enable_padding(length=TINY_SEQ_LENGTH)
    packed = preprocessor(tf.constant(TEXTS))
    for name in ("input_word_ids", "input_mask", "input_type_ids"):
        assert packed[name].dtype == tf.int32 and packed[name].shape == (len(TEXTS), TINY_SEQ_LENGTH)
    for row, text in enumerate(TEXTS):
        expected = reference.encode(text)
        np.testing.assert_array_equal(packed["input_word_ids"][row], expected.ids, err_msg=text)
        np.testing.assert_array_equal(packed["input_mask"][row], expected.attention_mask, err_msg=text)
        np.testing.assert_array_equal(packed["input_type_ids"][row], expected.type_ids, err_msg=text)


@pytest.mark.parametrize("seq_length", [5, 8, 9, 16, 17])
def test_pair_packing_matches_hf_longest_first(preprocessor, reference, seq_length):
    reference.enable_truncation(seq_length, strategy="longest_first")
    firsts = [TEXTS[12], TEXTS[0], TEXTS[12], "", TEXTS[6], "a b c d e f"]
    seconds = [TEXTS[0], TEXTS[12], TEXTS[12], TEXTS[12], "x y", "g h i j k l"]
    packed = preprocessor.bert_pack_inputs(
        [preprocessor.tokenize(tf.constant(firsts)), preprocessor.tokenize(tf.constant(seconds))],
        seq_length=tf.constant(seq_length),
    )
    for row, (first, second) in enumerate(zip(firsts, seconds)):
        expected = reference.encode(first, second)
        length = len(expected.ids)
        np.testing.assert_array_equal(packed["input_word_ids"][row, :length], expected.ids)
        np.testing.assert_array_equal(packed["input_type_ids"][row, :length], expected.type_ids)
        assert int(tf.reduce_sum(packed["input_mask"][row])) == length


def test_hub_keras_layer_api_like_tf_hub(tiny_export):
    """The TF Hub pattern: tokenize and bert_pack_inputs as separate KerasLayers, length chosen at pack time."""
    path = str(tiny_export / "preprocessor")
    texts = tf.constant(["fun movie", "a very good film indeed"])
    loaded = hub.load(path)
    tokens = hub.KerasLayer(loaded.tokenize)(texts)
    short = hub.KerasLayer(loaded.bert_pack_inputs, arguments=dict(seq_length=7))([tokens])
    assert short["input_word_ids"].shape == (2, 7)
    assert short["input_word_ids"][1, -1] == tiny.tiny_vocab().index("[SEP]")  # closes the truncated text
    full = hub.KerasLayer(loaded.bert_pack_inputs, arguments=dict(seq_length=TINY_SEQ_LENGTH))([tokens])
    default = hub.KerasLayer(path)(texts)
    for name in ("input_word_ids", "input_mask", "input_type_ids"):
        np.testing.assert_array_equal(default[name], full[name])


def test_three_segments_are_refused(preprocessor):
    tokens = preprocessor.tokenize(tf.constant(["a"]))
    with pytest.raises((ValueError, TypeError)):
        preprocessor.bert_pack_inputs([tokens, tokens, tokens], seq_length=tf.constant(8))
