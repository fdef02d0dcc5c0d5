"""A TF Hub-style BERT preprocessor SavedModel that tokenizes exactly like the HF BERT tokenizer.

API as TF Hub's BERT preprocessors: `preprocessor(strings)` → dict of int32 [batch, seq_length] tensors;
`preprocessor.tokenize(strings)` → ragged [batch, words, wordpieces]; `preprocessor.bert_pack_inputs(segments,
seq_length=N)` packs one or two tokenized segments. Only TF core ops plus TF Text's WordpieceTokenizeWithOffsets are
used, all present in stock TF Serving 2.16 (which links TF Text 2.12.1).
"""

import re
from pathlib import Path

import tensorflow as tf
import tensorflow_text as text

from sentence_tfx.encoder import normalization_table
from sentence_tfx.encoder.st_model import TokenizerSpec

_TOKENS = tf.RaggedTensorSpec([None, None, None], tf.int32, ragged_rank=2)


class BertPreprocessor(tf.Module):
    def __init__(self, spec: TokenizerSpec, default_seq_length: int):
        super().__init__(name="bert_preprocessor")
        table = normalization_table.build(spec)
        self._run_starts = tf.constant(table.run_starts)
        self._run_actions = tf.constant(table.run_actions)
        self._run_values = tf.constant(table.run_values)
        self._sentinels = normalization_table.special_token_sentinels(spec)
        self._vocab_file = tf.saved_model.Asset(str(spec.vocab_file))
        self._vocab_table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                self._vocab_file,
                tf.string,
                tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64,
                tf.lookup.TextFileIndex.LINE_NUMBER,
            ),
            default_value=-1,
        )
        self._unk_token = spec.unk_token
        self._max_chars = spec.max_input_chars_per_word
        self._wordpiece = text.WordpieceTokenizer(
            self._vocab_table,
            suffix_indicator=spec.continuing_subword_prefix,
            max_bytes_per_word=4 * spec.max_input_chars_per_word,
            token_out_type=tf.int64,
            unknown_token=spec.unk_token,
            split_unknown_characters=False,
        )
        self._cls_id = spec.token_id(spec.cls_token)
        self._sep_id = spec.token_id(spec.sep_token)
        self._pad_id = spec.token_id(spec.pad_token)
        self._default_seq_length = default_seq_length

    def _normalize(self, strings: tf.Tensor) -> tf.Tensor:
        """Applies BertNormalizer and isolates punctuation; words come out separated by spaces."""
        if self._sentinels:
            first, last = (ord(s) for s in (min(self._sentinels.values()), max(self._sentinels.values())))
            strings = tf.strings.regex_replace(
                strings, f"[\\x{{{first:X}}}-\\x{{{last:X}}}]", normalization_table.SENTINEL_STAND_IN
            )
            for token, sentinel in self._sentinels.items():
                strings = tf.strings.regex_replace(strings, re.escape(token), f" {sentinel} ")
        code_points = tf.strings.unicode_decode(strings, "UTF-8", errors="replace")
        flat = code_points.flat_values
        chars = tf.strings.unicode_encode(tf.expand_dims(flat, -1), "UTF-8")
        run = tf.searchsorted(self._run_starts, flat, side="right") - 1
        action = tf.gather(self._run_actions, run)
        pieces = tf.where(
            action == normalization_table.KEEP,
            chars,
            tf.where(
                action == normalization_table.PAD, tf.strings.join([" ", chars, " "]), tf.gather(self._run_values, run)
            ),
        )
        return tf.strings.reduce_join(code_points.with_flat_values(pieces), axis=-1)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokenize(self, strings):
        """Strings → int32 wordpiece ids, ragged [batch, words, wordpieces]."""
        words = tf.strings.split(self._normalize(strings))
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > self._max_chars
        words = words.with_flat_values(tf.where(too_long, self._unk_token, words.flat_values))
        return tf.cast(self._wordpiece.tokenize(words), tf.int32)

    def _pack(self, segments, seq_length):
        segments = [s.merge_dims(-2, -1) if s.ragged_rank == 2 else s for s in segments]
        if not 1 <= len(segments) <= 2:
            raise ValueError(f"bert_pack_inputs takes 1 or 2 segments, got {len(segments)}")
        seq_length = tf.cast(seq_length, tf.int64)
        budget = seq_length - 1 - len(segments)
        lengths = [s.row_lengths() for s in segments]
        if len(segments) == 1:
            limits = [tf.fill(tf.shape(lengths[0]), budget)]
        else:
            limits = _longest_first_limits(lengths[0], lengths[1], budget)
        kept = [
            tf.ragged.boolean_mask(s, tf.ragged.range(n) < tf.expand_dims(limit, -1))
            for s, n, limit in zip(segments, lengths, limits)
        ]
        batch = tf.shape(lengths[0], out_type=tf.int64)[0]
        cls = tf.RaggedTensor.from_tensor(tf.fill([batch, 1], self._cls_id))
        sep = tf.RaggedTensor.from_tensor(tf.fill([batch, 1], self._sep_id))
        word_ids, type_ids = [cls], [tf.zeros_like(cls)]
        for index, segment in enumerate(kept):
            word_ids += [segment, sep]
            type_ids += [tf.zeros_like(segment) + index, tf.zeros_like(sep) + index]
        word_ids = tf.concat(word_ids, axis=1)
        shape = tf.stack([batch, seq_length])
        return {
            "input_word_ids": word_ids.to_tensor(self._pad_id, shape=shape),
            "input_mask": tf.ones_like(word_ids).to_tensor(0, shape=shape),
            "input_type_ids": tf.concat(type_ids, axis=1).to_tensor(0, shape=shape),
        }

    @tf.function
    def bert_pack_inputs(self, segments, seq_length=None):
        """Packs 1 or 2 tokenized segments into [CLS] a [SEP] (b [SEP]), truncated as HF's longest_first."""
        return self._pack(segments, self._default_seq_length if seq_length is None else seq_length)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, strings):
        return self._pack([self.tokenize(strings)], self._default_seq_length)


def _longest_first_limits(len_a: tf.Tensor, len_b: tf.Tensor, budget: tf.Tensor) -> list[tf.Tensor]:
    """Per-row token limits that reproduce HF tokenizers' LongestFirst truncation of a pair."""
    shorter = tf.minimum(len_a, len_b)
    longer_limit = tf.where(shorter > budget, shorter, tf.maximum(shorter, budget - shorter))
    over = shorter + longer_limit > budget
    shorter_limit = tf.where(over, budget // 2, shorter)
    longer_limit = tf.where(over, budget // 2 + budget % 2, longer_limit)
    swapped = len_a > len_b
    return [tf.where(swapped, longer_limit, shorter_limit), tf.where(swapped, shorter_limit, longer_limit)]


def save(spec: TokenizerSpec, out_dir: Path, default_seq_length: int) -> None:
    preprocessor = BertPreprocessor(spec, default_seq_length)
    for num_segments in (1, 2):
        preprocessor.bert_pack_inputs.get_concrete_function([_TOKENS] * num_segments)
        preprocessor.bert_pack_inputs.get_concrete_function(
            [_TOKENS] * num_segments, seq_length=tf.TensorSpec([], tf.int32)
        )
    tf.saved_model.save(preprocessor, str(out_dir), signatures={"serving_default": preprocessor.__call__})
