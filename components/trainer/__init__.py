"""Trainer: the pre-tokenized sentence-encoder classifier, its training, and its serving signatures."""
