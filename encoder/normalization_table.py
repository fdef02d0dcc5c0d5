"""The HF BERT tokenizer's per-character rules, compiled into a run-length table for TF graph ops.

HF's BertNormalizer (clean text, CJK spacing, accent stripping, lower-casing) and BertPreTokenizer (split on
whitespace, isolate punctuation) act on each character independently, so their combined effect is a map from one
code point to a string. The map is taken from HF `tokenizers` itself at export time (not re-derived from Python's
older Unicode tables), then stored as runs of code points, each run either keeping its character, keeping it
between spaces, or replacing it with a constant string. The graph then only needs a sorted search and gathers.
"""

import dataclasses
import functools

import numpy as np
from tokenizers import normalizers, pre_tokenizers

from sentence_tfx.encoder.st_model import TokenizerSpec

KEEP, PAD, CONST = 0, 1, 2
_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)
SENTINEL_BASE = 0xE000  # Private-use code points that stand for special tokens found in the raw text.
SENTINEL_STAND_IN = "\uf8ff"  # Replaces a sentinel code point typed by a user; HF treats both alike.


@dataclasses.dataclass(frozen=True)
class NormalizationTable:
    run_starts: np.ndarray  # int32 [R], ascending; run i covers run_starts[i] .. run_starts[i+1]-1.
    run_actions: np.ndarray  # int32 [R]: KEEP, PAD or CONST.
    run_values: tuple[str, ...]  # The replacement of CONST runs ("" elsewhere).


def special_token_sentinels(spec: TokenizerSpec) -> dict[str, str]:
    """One private-use character per special token, so the graph can protect them from normalization."""
    return {token: chr(SENTINEL_BASE + i) for i, token in enumerate(spec.special_tokens)}


@functools.lru_cache(maxsize=8)  # Building takes seconds; tests export several models of one tokenizer.
def build(spec: TokenizerSpec) -> NormalizationTable:
    normalizer = normalizers.BertNormalizer(
        clean_text=spec.clean_text,
        handle_chinese_chars=spec.handle_chinese_chars,
        strip_accents=spec.strip_accents,
        lowercase=spec.lowercase,
    )
    splitter = pre_tokenizers.BertPreTokenizer()
    split_cache: dict[str, str] = {}

    def split_form(char: str) -> str:
        """' ' for whitespace, ' c ' for punctuation, else the character (as BertPreTokenizer splits)."""
        if char not in split_cache:
            pieces = len(splitter.pre_tokenize_str(f"a{char}a"))
            split_cache[char] = {1: char, 2: " ", 3: f" {char} "}[pieces]
        return split_cache[char]

    sentinels = {ord(s): f" {token} " for token, s in special_token_sentinels(spec).items()}
    starts, actions, values = [], [], []
    for code_point in range(_MAX_CODE_POINT + 1):
        if code_point in sentinels:
            action, value = CONST, sentinels[code_point]
        elif code_point in _SURROGATES:
            action, value = CONST, ""
        else:
            char = chr(code_point)
            output = "".join(split_form(c) for c in normalizer.normalize_str(char))
            action, value = (KEEP, "") if output == char else (PAD, "") if output == f" {char} " else (CONST, output)
        if not actions or actions[-1] != action or values[-1] != value:
            starts.append(code_point)
            actions.append(action)
            values.append(value)
    return NormalizationTable(np.array(starts, np.int32), np.array(actions, np.int32), tuple(values))
