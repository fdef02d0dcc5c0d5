"""Pusher: copies blessed models to TF Serving's <serving_dir>/<version>/ layout."""
