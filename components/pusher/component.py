"""The Pusher: TFX's Pusher spec (`model`, `model_blessing`, `infra_blessing`, `push_destination` → `pushed_model`)
run by our executor, which pushes atomically to a new version, plus one output, `pushed_blessing`.

`pushed_blessing` is a ModelBlessing that only a successful push writes. The Evaluator's baseline resolver (TFX's
LatestBlessedModelStrategy) reads these instead of the Evaluator's own blessings, which exist before the push: so a
blessed model whose push failed or was killed never becomes the next run's baseline."""

from tfx import types
from tfx import v1 as tfx
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter

from sentence_tfx.components.pusher import executor

PUSHER_ID = "Pusher"


class PusherSpec(standard_component_specs.PusherSpec):
    OUTPUTS = {
        **standard_component_specs.PusherSpec.OUTPUTS,
        executor.PUSHED_BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing),
    }


class Pusher(base_component.BaseComponent):
    SPEC_CLASS = PusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, serving_dir: str, model, model_blessing, infra_blessing=None):
        super().__init__(
            spec=PusherSpec(
                model=model,
                model_blessing=model_blessing,
                infra_blessing=infra_blessing,
                push_destination=tfx.proto.PushDestination(
                    filesystem=tfx.proto.PushDestination.Filesystem(base_directory=serving_dir)
                ),
                pushed_model=types.Channel(type=standard_artifacts.PushedModel),
                **{executor.PUSHED_BLESSING_KEY: types.Channel(type=standard_artifacts.ModelBlessing)},
            )
        )


def create_pusher(serving_dir: str, model, model_blessing, infra_blessing=None) -> Pusher:
    return Pusher(serving_dir, model, model_blessing, infra_blessing).with_id(PUSHER_ID)


def pushed_blessings() -> tfx.dsl.Channel:
    """The blessings of every model that was pushed: the baseline resolver's `model_blessing` input."""
    return tfx.dsl.Channel(
        type=standard_artifacts.ModelBlessing, producer_component_id=PUSHER_ID, output_key=executor.PUSHED_BLESSING_KEY
    )
