"""The orchestrators that run one `create_pipeline(config)` here and now: TFX's LocalDagRunner (default) or its
BeamDagRunner, which runs each component as a step of an orchestrating Beam pipeline."""

from tfx import v1 as tfx

from sentence_tfx.errors import InputError

RUNNERS = ("local", "beam")


def run(tfx_pipeline: tfx.dsl.Pipeline, runner: str = "local") -> None:
    if runner == "beam":
        from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner  # Not in tfx.v1.

        BeamDagRunner().run(tfx_pipeline)
    elif runner == "local":
        tfx.orchestration.LocalDagRunner().run(tfx_pipeline)
    else:
        raise InputError(f"runner {runner!r} is not one of {', '.join(RUNNERS)}")
