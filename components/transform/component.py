"""The Transform component; it receives only TransformSettings, and the label names through the schema."""

from tfx import v1 as tfx
from tfx.dsl.components.base.executor_spec import BeamExecutorSpec

from sentence_tfx.components.transform import executor
from sentence_tfx.config import TransformSettings


class Transform(tfx.components.Transform):
    """TFX's Transform whose executor binds the schema's label names to preprocessing_fn."""

    EXECUTOR_SPEC = BeamExecutorSpec(executor.Executor)


def create_transform(settings: TransformSettings, examples, schema) -> tfx.components.Transform:
    return Transform(
        examples=examples,
        schema=schema,
        preprocessing_fn="sentence_tfx.components.transform.preprocessing.preprocessing_fn",
        custom_config={"settings": settings.to_json()},
    )
