"""The Transform component; it receives only TransformSettings."""

from tfx import v1 as tfx

from sentence_tfx.config import TransformSettings


def create_transform(settings: TransformSettings, examples, schema) -> tfx.components.Transform:
    return tfx.components.Transform(
        examples=examples,
        schema=schema,
        preprocessing_fn="sentence_tfx.components.transform.preprocessing.preprocessing_fn",
        custom_config={"settings": settings.to_json()},
    )
