"""The Trainer component, configured from PipelineConfig."""
from tfx import v1 as tfx

from pipeline.configs import PipelineConfig


def create_trainer(config: PipelineConfig, transformed_examples, transform_graph, schema) -> tfx.components.Trainer:
    return tfx.components.Trainer(
        run_fn="components.trainer.training.run_fn", examples=transformed_examples,
        transform_graph=transform_graph, schema=schema, custom_config={"config": config.to_json()})
