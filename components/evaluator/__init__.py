"""Evaluator: TFMA metrics on the eval split, an accuracy floor and no regression against the last pushed model."""
