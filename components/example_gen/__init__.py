"""ExampleGen for labelled text: CSV, TSV, JSONL or TFRecord in, tf.Examples with `text` and `label` out."""
