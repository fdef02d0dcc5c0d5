"""The pipeline's ExampleGen: a FileBasedExampleGen whose executor reads the configured text format."""
import glob
import os

from google.protobuf import struct_pb2
from tfx import v1 as tfx
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base.executor_spec import BeamExecutorSpec

from components.example_gen import executor
from pipeline.configs import PipelineConfig


def create_example_gen(config: PipelineConfig) -> FileBasedExampleGen:
    """Splits `train`/`eval` from the two files, or hashes the train file 4:1 when there is no eval file."""
    files = {"train": config.train_data, "eval": config.eval_data}
    paths = {split: os.path.abspath(path) for split, path in files.items() if path is not None}
    # TFX globs os.path.join(input_base, pattern): escape names so `[`, `*` or `?` in them match only themselves.
    input_base = os.path.commonpath([os.path.dirname(path) for path in paths.values()])
    input_config = tfx.proto.Input(splits=[
        tfx.proto.Input.Split(name=split, pattern=glob.escape(os.path.relpath(path, input_base)))
        for split, path in paths.items()])
    output_config = None if config.eval_data is not None else tfx.proto.Output(
        split_config=tfx.proto.SplitConfig(splits=[tfx.proto.SplitConfig.Split(name="train", hash_buckets=4),
                                                   tfx.proto.SplitConfig.Split(name="eval", hash_buckets=1)]))
    settings = struct_pb2.Struct()
    settings.update({key: getattr(config, key) for key in executor.SETTINGS})
    custom_config = tfx.proto.CustomConfig()
    custom_config.custom_config.Pack(settings)
    # BeamExecutorSpec, not a plain ExecutorClassSpec: only Beam specs receive the pipeline's beam_pipeline_args.
    return FileBasedExampleGen(input_base=input_base, input_config=input_config, output_config=output_config,
                               custom_config=custom_config, custom_executor_spec=BeamExecutorSpec(executor.Executor))
