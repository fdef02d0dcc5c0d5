"""Names shared by the stages, the exported model and the model server: tf.Example features, what Transform makes
of them, and the signatures of the pushed SavedModel. A leaf module: it imports nothing."""

TEXT = "text"  # Raw: one UTF-8 string per example.
LABEL = "label"  # Raw: the class name as a string.
LABEL_INDEX = "label_xf"  # Transformed: index of LABEL in the configured label names.
TRUNCATED = "truncated"  # Transformed: 1 when the text had more wordpieces than fit in seq_length.
TOKEN_COUNT = "token_count"  # Transformed: tokens the encoder sees ([CLS] and [SEP] included), the sum of MASK.
# Transformed: the TF Hub BERT encoder interface, int [batch, seq_length] each.
TOKEN_FEATURES = WORD_IDS, MASK, TYPE_IDS = ("input_word_ids", "input_mask", "input_type_ids")
EMBEDDING = "embedding"  # EmbeddingGen: the frozen encoder's pooled_output of one example (float32 [dim]).

DEFAULT_SIGNATURE = "serving_default"  # text → scores, classes, label
CLASSIFY_SIGNATURE = "serving_tf_example"  # serialized tf.Example → classes, scores (TF Serving's Classify API)
CLASSIFY_INPUTS = "inputs"  # The only input name TF Serving's Classify accepts (tf.saved_model.CLASSIFY_INPUTS).
TOKEN_IDS_SIGNATURE = "serving_token_ids"  # the three int32 id tensors → scores, classes, label
EMBED_SIGNATURE = "embed"  # text → embedding
TRANSFORM_SIGNATURE = "transform_features"  # serialized tf.Example → Transform outputs (TFMA's preprocessing)
