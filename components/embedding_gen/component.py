"""EmbeddingGen, between Transform and the frozen-mode Trainer; it receives only EmbeddingSettings.

Its output is an Examples artifact (split like its input), so the Trainer takes it as its `examples`."""

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from sentence_tfx.components.embedding_gen import executor
from sentence_tfx.config import EmbeddingSettings


class EmbeddingGenSpec(ComponentSpec):
    PARAMETERS = {executor.SETTINGS: ExecutionParameter(type=str)}
    INPUTS = {executor.EXAMPLES: ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {executor.EMBEDDINGS: ChannelParameter(type=standard_artifacts.Examples)}


class EmbeddingGen(base_beam_component.BaseBeamComponent):
    """Transformed examples (token ids, label_xf) in; per split, `embedding` and `label_xf` out."""

    SPEC_CLASS = EmbeddingGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, settings: EmbeddingSettings):
        super().__init__(
            EmbeddingGenSpec(
                **{
                    executor.EXAMPLES: examples,
                    executor.SETTINGS: settings.to_json(),
                    executor.EMBEDDINGS: types.Channel(type=standard_artifacts.Examples),
                }
            )
        )
