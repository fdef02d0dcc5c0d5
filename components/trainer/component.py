"""The Trainer component; it receives only TrainerSettings."""

from tfx import v1 as tfx

from sentence_tfx.config import TrainerSettings


def create_trainer(settings: TrainerSettings, examples, transform_graph, schema) -> tfx.components.Trainer:
    """`examples`: EmbeddingGen's embeddings in frozen mode, Transform's transformed examples in finetune mode."""
    return tfx.components.Trainer(
        run_fn="sentence_tfx.components.trainer.training.run_fn",
        examples=examples,
        transform_graph=transform_graph,
        schema=schema,
        custom_config={"settings": settings.to_json()},
    )
