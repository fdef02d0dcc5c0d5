"""The sentence-tfx TFX pipeline: assembly (create_pipeline), runners, orchestrator compilers and the CLI."""
