"""RunReport: the last step of a run, one self-contained report.html of what went in, what was checked, how training
went, how the model does and what it is for. It reads the other steps' artifacts and changes none."""

from tfx import types
from tfx import v1 as tfx
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from sentence_tfx.components.data_validation.gate import ValidationReport
from sentence_tfx.components.report import executor
from sentence_tfx.config import ReportSettings

REPORT_KEY = "report"


class RunReportPage(tfx.dsl.Artifact):
    """report.html: one page, every chart inline, readable offline and without JavaScript."""

    TYPE_NAME = (
        "sentence_tfx.RunReportPage"  # "<module>.<Class>", as Kubeflow V2 requires (see data_validation/gate.py).
    )


class RunReportSpec(ComponentSpec):
    PARAMETERS = {executor.SETTINGS_KEY: ExecutionParameter(type=str)}
    INPUTS = {
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "schema": ChannelParameter(type=standard_artifacts.Schema),
        "validation_report": ChannelParameter(type=ValidationReport),
        "token_length_report": ChannelParameter(type=ValidationReport),
        "transformed_examples": ChannelParameter(type=standard_artifacts.Examples),
        "model": ChannelParameter(type=standard_artifacts.Model),
        "model_run": ChannelParameter(type=standard_artifacts.ModelRun),
        "evaluation": ChannelParameter(type=standard_artifacts.ModelEvaluation),
        "blessing": ChannelParameter(type=standard_artifacts.ModelBlessing),
        "infra_blessing": ChannelParameter(type=standard_artifacts.InfraBlessing),
        "pushed_model": ChannelParameter(type=standard_artifacts.PushedModel),
    }
    OUTPUTS = {REPORT_KEY: ChannelParameter(type=RunReportPage)}


class RunReport(base_component.BaseComponent):
    """After the Pusher: report.html from every stage's output (inputs keyed as in RunReportSpec.INPUTS)."""

    SPEC_CLASS = RunReportSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, settings: ReportSettings, **inputs: types.BaseChannel):
        super().__init__(
            spec=RunReportSpec(settings=settings.to_json(), report=types.Channel(type=RunReportPage), **inputs)
        )
