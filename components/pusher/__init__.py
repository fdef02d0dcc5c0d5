"""Pusher: copies blessed models to TF Serving's <serving_dir>/<version>/ layout, atomically; the Evaluator's baseline
is the latest model it pushed."""
