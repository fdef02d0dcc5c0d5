"""The pipeline's ExampleGen: TFX's FileBasedExampleGen (its driver resolves spans) with our executor, which reads
the configured text formats, and a second output, the quarantine of bad rows."""

from tfx import v1 as tfx
from tfx.components.example_gen import driver
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import base_driver
from tfx.dsl.components.base.base_beam_component import BaseBeamComponent
from tfx.dsl.components.base.executor_spec import BeamExecutorSpec
from tfx.proto import example_gen_pb2, range_config_pb2
from tfx.types import standard_component_specs
from tfx.types.component_spec import ChannelParameter

from sentence_tfx.components.example_gen import data_paths, executor, quarantine
from sentence_tfx.components.example_gen.text_formats import InputDataError
from sentence_tfx.config import ExampleGenSettings
from sentence_tfx.errors import InputError

EXAMPLE_GEN_ID = "FileBasedExampleGen"  # The node id since the first runs: ML Metadata contexts, Airflow task ids.


class TextExampleGenSpec(standard_component_specs.FileBasedExampleGenSpec):
    OUTPUTS = {
        **standard_component_specs.FileBasedExampleGenSpec.OUTPUTS,
        quarantine.QUARANTINE_KEY: ChannelParameter(type=quarantine.QuarantinedRows),
    }


class Driver(driver.FileBasedDriver):
    """TFX's driver of file-based ExampleGens: resolves the latest span (or the one of a static range), records span,
    version and input fingerprint. Here a pattern that matches nothing is bad input, and the quarantine output is
    prepared too on orchestrators whose drivers prepare the outputs (Airflow; TFX's ExampleGen driver knows only
    `examples`)."""

    def resolve_exec_properties(self, exec_properties, pipeline_info, component_info):
        try:
            return super().resolve_exec_properties(exec_properties, pipeline_info, component_info)
        except ValueError as error:  # TFX's words, e.g. "Cannot find matching for split train based on {SPAN}/*"
            base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
            raise InputDataError(f"no span to read in {base}: {error}") from None

    def _prepare_output_artifacts(
        self, input_artifacts, output_dict, exec_properties, execution_id, pipeline_info, component_info
    ):
        infos = {"pipeline_info": pipeline_info, "component_info": component_info}  # TFX passes them by keyword.
        examples = super()._prepare_output_artifacts(
            input_artifacts, output_dict, exec_properties, execution_id, **infos
        )
        others = {key: channel for key, channel in output_dict.items() if key not in examples}
        return {
            **base_driver.BaseDriver._prepare_output_artifacts(
                self, input_artifacts, others, exec_properties, execution_id, **infos
            ),
            **examples,
        }


class TextExampleGen(FileBasedExampleGen):
    """A FileBasedExampleGen (so every orchestrator runs TFX's span resolution before it) with the quarantine output.
    FileBasedExampleGen.__init__ would build TFX's own spec, which has no quarantine: the spec is built here."""

    SPEC_CLASS = TextExampleGenSpec
    EXECUTOR_SPEC = BeamExecutorSpec(executor.Executor)  # Beam specs receive the pipeline's beam_pipeline_args.
    DRIVER_CLASS = Driver

    def __init__(self, input_base, input_config, output_config, custom_config, range_config):
        BaseBeamComponent.__init__(
            self,
            spec=TextExampleGenSpec(
                input_base=input_base,
                input_config=input_config,
                output_config=output_config,
                custom_config=custom_config,
                range_config=range_config,
                output_data_format=example_gen_pb2.FORMAT_TF_EXAMPLE,
                output_file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP,
                examples=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Examples),
                quarantine=tfx.dsl.Channel(type=quarantine.QuarantinedRows),
            ),
        )


def create_example_gen(settings: ExampleGenSettings) -> TextExampleGen:
    """Splits `train`/`eval` from the two paths, or hashes the train data 4:1 when there is no eval path."""
    input_base, input_config = data_paths.input_config(settings.train_data, settings.eval_data)
    if (settings.span_range or settings.latest_spans > 1) and not data_paths.has_span_spec(settings.train_data):
        raise InputError(
            "--latest-spans and --span-range need a span spec in --train, e.g. data/{SPAN}/*.tsv; got "
            + settings.train_data
        )
    output_config = (
        None
        if settings.eval_data
        else tfx.proto.Output(
            split_config=tfx.proto.SplitConfig(
                splits=[
                    tfx.proto.SplitConfig.Split(name="train", hash_buckets=4),
                    tfx.proto.SplitConfig.Split(name="eval", hash_buckets=1),
                ]
            )
        )
    )
    # The driver resolves one span: the last of a static range; the executor reads the range's earlier spans too.
    range_config = (
        range_config_pb2.RangeConfig(
            static_range=range_config_pb2.StaticRange(
                start_span_number=settings.span_range[-1], end_span_number=settings.span_range[-1]
            )
        )
        if settings.span_range
        else None
    )
    custom_config = tfx.proto.CustomConfig()
    custom_config.custom_config.Pack(executor.settings_struct(settings))
    return TextExampleGen(
        input_base=input_base,
        input_config=input_config,
        output_config=output_config or example_gen_pb2.Output(),
        custom_config=custom_config,
        range_config=range_config,
    ).with_id(EXAMPLE_GEN_ID)
