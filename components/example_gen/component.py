"""The pipeline's ExampleGen: a FileBasedExampleGen whose executor reads the configured text format."""

import dataclasses
import glob
import os
import posixpath

from google.protobuf import struct_pb2
from tfx import v1 as tfx
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base.executor_spec import BeamExecutorSpec

from sentence_tfx.components.example_gen import executor
from sentence_tfx.config import ExampleGenSettings


def _input_base(files: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The deepest folder holding every file, and each file's path below it. Local paths are made absolute; URIs
    (gs://bucket/x.tsv) are kept, and must all be on one filesystem."""
    schemes = {path.split("://", 1)[0] if "://" in path else "" for path in files.values()}
    if len(schemes) > 1:
        raise ValueError(f"train and eval data must be on one filesystem, got {', '.join(files.values())}")
    (scheme,) = schemes
    if scheme:
        folder = posixpath.commonpath([posixpath.dirname(path.split("://", 1)[1]) for path in files.values()])
        base = f"{scheme}://{folder}"
        return base, {split: path[len(base) + 1 :] for split, path in files.items()}
    paths = {split: os.path.abspath(path) for split, path in files.items()}
    base = os.path.commonpath([os.path.dirname(path) for path in paths.values()])
    return base, {split: os.path.relpath(path, base) for split, path in paths.items()}


def create_example_gen(train_data: str, eval_data: str | None, settings: ExampleGenSettings) -> FileBasedExampleGen:
    """Splits `train`/`eval` from the two files, or hashes the train file 4:1 when there is no eval file."""
    input_base, relative = _input_base(
        {split: path for split, path in (("train", train_data), ("eval", eval_data)) if path}
    )
    # TFX globs os.path.join(input_base, pattern): escape names so `[`, `*` or `?` in them match only themselves.
    input_config = tfx.proto.Input(
        splits=[tfx.proto.Input.Split(name=split, pattern=glob.escape(path)) for split, path in relative.items()]
    )
    output_config = (
        None
        if eval_data is not None
        else tfx.proto.Output(
            split_config=tfx.proto.SplitConfig(
                splits=[
                    tfx.proto.SplitConfig.Split(name="train", hash_buckets=4),
                    tfx.proto.SplitConfig.Split(name="eval", hash_buckets=1),
                ]
            )
        )
    )
    struct = struct_pb2.Struct()
    struct.update(dataclasses.asdict(settings))
    custom_config = tfx.proto.CustomConfig()
    custom_config.custom_config.Pack(struct)
    # BeamExecutorSpec, not a plain ExecutorClassSpec: only Beam specs receive the pipeline's beam_pipeline_args.
    return FileBasedExampleGen(
        input_base=input_base,
        input_config=input_config,
        output_config=output_config,
        custom_config=custom_config,
        custom_executor_spec=BeamExecutorSpec(executor.Executor),
    )
