"""The same create_pipeline(config) under each orchestrator and Beam runner that runs on one machine. Each run must
complete every component, push a model, and tokenize exactly the records that the reference run (LocalDagRunner,
FnApiRunner in memory) wrote: a runner that drops, duplicates or alters records fails here."""

import os
import shlex
from pathlib import Path

import pytest
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions
from ml_metadata.proto import metadata_store_pb2

from sentence_tfx.errors import InputError
from sentence_tfx.pipeline import beam_services, pipeline, results, runners

pytestmark = pytest.mark.slow  # Whole pipelines (or Airflow, MariaDB): `make test-fast` skips these.

DEPLOY_BEAM = Path(__file__).resolve().parents[1] / "deploy" / "beam"


def _canonical(record: bytes) -> tuple:
    """A record's features and values in name order (the serialized feature order differs between processes)."""
    features = tf.train.Example.FromString(record).features.feature
    return tuple(
        (name, tuple(getattr(features[name], features[name].WhichOneof("kind")).value)) for name in sorted(features)
    )


def _transformed_records(config) -> dict[str, list[tuple]]:
    _, transform = results.latest_outputs(results.open_store(config), config.pipeline_name, "Transform")
    uri = transform["transformed_examples"][0].uri
    return {
        split: sorted(
            _canonical(record.numpy())
            for record in tf.data.TFRecordDataset(
                tf.io.gfile.glob(os.path.join(uri, split, "*")), compression_type="GZIP"
            )
        )
        for split in ("Split-train", "Split-eval")
    }


def _run_and_check(config, runner: str, reference) -> None:
    tfx_pipeline = pipeline.create_pipeline(config)
    runners.run(tfx_pipeline, runner)
    store = results.open_store(config)
    for component in tfx_pipeline.components:
        execution, _ = results.latest_outputs(store, config.pipeline_name, component.id)
        assert execution.last_known_state in (
            metadata_store_pb2.Execution.COMPLETE,
            metadata_store_pb2.Execution.CACHED,
        ), component.id
    records = _transformed_records(config)
    assert {split: len(r) for split, r in records.items()} == {"Split-train": 160, "Split-eval": 48}
    assert records == _transformed_records(reference)
    summary = results.summarize_run(config)
    assert summary.metrics["example_count"] == 48 and summary.pushed_to


@pytest.mark.long  # One whole run per runner: `make test-all` only.
def test_beam_dag_runner(tiny_pipeline_config, frozen_run, tmp_path):
    _run_and_check(tiny_pipeline_config(tmp_path), "beam", frozen_run)


@pytest.mark.long
def test_beam_multi_processing_workers(tiny_pipeline_config, frozen_run, tmp_path):
    """Worker processes unpickle every DoFn and load the Transform graph: pickling and TF Text op registration."""
    config = tiny_pipeline_config(
        tmp_path,
        beam_pipeline_args=("--runner=FnApiRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"),
    )
    _run_and_check(config, "local", frozen_run)


@pytest.fixture(scope="module")
def portable_beam_args(tmp_path_factory):
    with beam_services.local_portable_runner(tmp_path_factory.mktemp("portable")) as beam_args:
        yield beam_args


@pytest.mark.long
def test_portable_runner_with_external_worker_pool(tiny_pipeline_config, frozen_run, portable_beam_args, tmp_path):
    """Beam's job service and an EXTERNAL worker pool: the submission path of Flink, Spark and Dataflow."""
    _run_and_check(tiny_pipeline_config(tmp_path, beam_pipeline_args=portable_beam_args), "local", frozen_run)


@pytest.mark.parametrize("name", ["dataflow", "flink", "spark", "local-portable"])
def test_documented_beam_configurations_are_known_options(name, tiny_pipeline_config, tmp_path):
    """deploy/beam/*.args cannot be run here (no cloud, no Flink/Spark job server): each flag must at least be one
    Beam knows, and a worker container must stop the --setup_file staging."""
    args = shlex.split((DEPLOY_BEAM / f"{name}.args").read_text())
    known = PipelineOptions(args).get_all_options()
    for arg in args:
        assert arg.startswith("--") and arg[2:].split("=", 1)[0] in known, arg
    pipeline_args = pipeline.beam_pipeline_args(tiny_pipeline_config(tmp_path, beam_pipeline_args=tuple(args)))
    assert pipeline.BEAM_WORKER_PLUGIN in pipeline_args
    assert any(a.startswith("--setup_file") for a in pipeline_args) == (name == "local-portable")


def test_a_second_run_on_the_same_store_is_refused_naming_the_first(tmp_path):
    """The lock that makes "RUNNING" mean "abandoned" at the start of a run; the OS drops it when its holder dies
    (recovery_and_push_test.py kills runs with SIGKILL and reruns)."""
    lock = str(tmp_path / "metadata.sqlite.lock")
    refused = pytest.raises(InputError, match=rf"another run \(pid {os.getpid()} on .+\) is using this ML Metadata")
    with runners.one_run_at_a_time(lock), refused, runners.one_run_at_a_time(lock):
        pass
    with runners.one_run_at_a_time(lock):  # Released on exit.
        pass
