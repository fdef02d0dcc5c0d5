"""Compiles the pipeline into a Kubeflow Pipelines V2 / Vertex AI Pipelines job spec (JSON); submitting it is the
user's step. Every component runs in IMAGE (deploy/Dockerfile builds one with this project installed).

Needs the Kubeflow extra: `pip install --no-deps -r requirements-kubeflow.lock` (kfp-pipeline-spec is what TFX's
compiler imports)."""

import json
import logging
import os
import re

from tfx import v1 as tfx
from tfx.dsl.components.common.resolver import RESOLVER_STRATEGY_CLASS

from sentence_tfx.config import PipelineConfig
from sentence_tfx.errors import InputError

log = logging.getLogger(__name__)


def remote(path: str | None) -> bool:
    return bool(path) and "://" in path


def check_paths(config: PipelineConfig) -> None:
    """Containers cannot see the compiling machine's disk: data, pipeline root and serving dir must be URIs
    (gs://...); a local encoder path must exist inside the image (deploy/Dockerfile bakes the default one in)."""
    local = {
        name: getattr(config, name)
        for name in ("train_data", "eval_data", "pipeline_root", "serving_dir")
        if getattr(config, name) and not remote(getattr(config, name))
    }
    if local:
        raise InputError(
            "a Kubeflow/Vertex pipeline runs in containers, which cannot read this machine's files; "
            "give URIs (gs://bucket/...) for " + ", ".join(f"{k} ({v})" for k, v in local.items())
        )
    for name in ("preprocessor_handle", "encoder_handle"):
        if not remote(getattr(config, name)):
            log.warning(
                "%s %s is a local path: it must exist at that path inside the image", name, getattr(config, name)
            )


def _tfx_resolver_strategies(tfx_pipeline: tfx.dsl.Pipeline) -> None:
    """Kubeflow V2 compiles only TFX's LatestArtifactStrategy and LatestBlessedModelStrategy (Vertex runs them
    itself): a resolver whose strategy extends one of them (drift.LatestOrNoneStrategy) is compiled as that one."""
    for node in tfx_pipeline.components:
        if isinstance(node, tfx.dsl.Resolver):
            strategy = node.exec_properties[RESOLVER_STRATEGY_CLASS]
            for tfx_strategy in (
                tfx.dsl.experimental.LatestArtifactStrategy,
                tfx.dsl.experimental.LatestBlessedModelStrategy,
            ):
                if issubclass(strategy, tfx_strategy):
                    node._strategy_class = tfx_strategy  # exec_properties returns a copy (TFX 1.16).


def _query_custom_types_by_their_title(spec_file: str) -> None:
    """TFX 1.16 compiles a resolver of a custom artifact type (drift.AcceptedStatistics) to a query for
    schema_title="tfx.Artifact", which no artifact has: Vertex records a custom type under its instanceSchema's title.
    Rewrites those queries to that title."""
    with open(spec_file, encoding="utf-8") as file:
        job = json.load(file)
    spec = job["pipelineSpec"]
    for component in spec["components"].values():
        executor = spec["deploymentSpec"]["executors"].get(component.get("executorLabel"), {})
        for key, query in executor.get("resolver", {}).get("outputArtifactQueries", {}).items():
            schema = component["outputDefinitions"]["artifacts"][key]["artifactType"].get("instanceSchema", "")
            title = re.search(r"^title: (\S+)$", schema, re.MULTILINE)
            if title:
                query["filter"] = query["filter"].replace('schema_title="tfx.Artifact"', f'schema_title="{title[1]}"')
    with open(spec_file, "w", encoding="utf-8") as file:
        json.dump(job, file)


def compile_pipeline(tfx_pipeline: tfx.dsl.Pipeline, config: PipelineConfig, image: str, out: str) -> None:
    check_paths(config)
    try:
        from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner
    except ImportError as error:
        raise RuntimeError(
            f"the Kubeflow V2 compiler needs the Kubeflow extra ({error}): "
            "pip install --no-deps -r requirements-kubeflow.lock"
        ) from None
    _tfx_resolver_strategies(tfx_pipeline)
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=os.path.dirname(os.path.abspath(out)),
        output_filename=os.path.basename(out),
    )
    runner.run(tfx_pipeline)
    _query_custom_types_by_their_title(out)
