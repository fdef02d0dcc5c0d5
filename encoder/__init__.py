"""Sentence-transformer → TF Hub-style preprocessor + encoder SavedModels."""
