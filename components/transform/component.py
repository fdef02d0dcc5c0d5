"""The Transform component, configured from PipelineConfig."""
from tfx import v1 as tfx

from pipeline.configs import PipelineConfig


def create_transform(config: PipelineConfig, examples, schema) -> tfx.components.Transform:
    return tfx.components.Transform(
        examples=examples, schema=schema, preprocessing_fn="components.transform.preprocessing.preprocessing_fn",
        custom_config={"config": config.to_json()})
