"""Feature names shared by every stage: the raw tf.Example features, and what Transform makes of them."""
from components.encoder.encoder import INPUT_NAMES as TOKEN_FEATURES  # input_word_ids, input_mask, input_type_ids

TEXT = "text"  # Raw: one UTF-8 string per example.
LABEL = "label"  # Raw: the class name as a string.
LABEL_INDEX = "label_xf"  # Transformed: index of LABEL in the configured label names.
TRUNCATED = "truncated"  # Transformed: 1 when the text had more wordpieces than fit in seq_length.
WORD_IDS, MASK, TYPE_IDS = TOKEN_FEATURES

__all__ = ["TEXT", "LABEL", "LABEL_INDEX", "TRUNCATED", "TOKEN_FEATURES", "WORD_IDS", "MASK", "TYPE_IDS"]
