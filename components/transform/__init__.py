"""Transform: tokenization with the encoder's own preprocessor, label → class index."""
