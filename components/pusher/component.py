"""The Pusher: only blessed models reach the serving directory."""

from tfx import v1 as tfx


def create_pusher(serving_dir: str, model, model_blessing, infra_blessing=None) -> tfx.components.Pusher:
    return tfx.components.Pusher(
        model=model,
        model_blessing=model_blessing,
        infra_blessing=infra_blessing,
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=serving_dir)
        ),
    )
