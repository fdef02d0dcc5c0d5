"""ServingCheck: a model that does not load in the model server, or does not answer its warm-up requests over REST
and gRPC, gets an InfraBlessing with blessed=0 and the reason; the Pusher's infra_blessing input then stops its push."""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec

from sentence_tfx.components.serving_check import executor


class ServingCheckSpec(ComponentSpec):
    PARAMETERS = {}
    INPUTS = {"model": ChannelParameter(type=standard_artifacts.Model)}
    OUTPUTS = {"blessing": ChannelParameter(type=standard_artifacts.InfraBlessing)}


class ServingCheck(base_component.BaseComponent):
    """TFX's InfraValidator contract (Model in, InfraBlessing out) on this project's model server, in a subprocess."""

    SPEC_CLASS = ServingCheckSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, model: types.BaseChannel):
        super().__init__(
            spec=ServingCheckSpec(model=model, blessing=types.Channel(type=standard_artifacts.InfraBlessing))
        )
