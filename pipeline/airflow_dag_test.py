"""`sentence-tfx compile --orchestrator airflow`: the DAG file run end to end by `airflow dags test` (Airflow 2.11.2
from requirements-airflow.lock, in its own venv, SQLite), checked through the run's ML Metadata."""

import os
import subprocess
from pathlib import Path

import pytest
from ml_metadata.proto import metadata_store_pb2

from sentence_tfx.pipeline import cli, metadata
from sentence_tfx.config import PipelineConfig

pytestmark = [pytest.mark.slow, pytest.mark.long]  # Two runs under Airflow: `make test-all` only.

AIRFLOW_VENV = Path(os.environ.get("SENTENCE_TFX_AIRFLOW_VENV", Path(__file__).resolve().parents[1] / ".venv-airflow"))
AIRFLOW = AIRFLOW_VENV / "bin" / "airflow"


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    """Runs the Airflow CLI of the Airflow venv with a fresh home (SQLite) and the given DAGs folder."""
    if not AIRFLOW.exists():
        if os.environ.get("CI"):
            pytest.fail(f"no {AIRFLOW}: `make test-all` builds it (make setup-airflow)")
        pytest.skip(f"no {AIRFLOW}: make setup-airflow")
    home = tmp_path_factory.mktemp("airflow_home")
    dags = tmp_path_factory.mktemp("dags")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "PATH": f"{AIRFLOW_VENV / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("VIRTUAL_ENV", None)

    def run(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        done = subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        return done

    run("db", "migrate", timeout=300)
    return run, dags


def _executions(config: PipelineConfig) -> dict[str, int]:
    """Node → its executions' states, from ML Metadata (Airflow's TFX runner records each run's nodes in
    `component_run` contexts named <pipeline>.<run id>.<node>)."""
    from ml_metadata import metadata_store

    store = metadata_store.MetadataStore(metadata.connection_config(config))
    states = {}
    for context in store.get_contexts_by_type("component_run"):
        node = context.name.rsplit(".", 1)[-1]
        states[node] = [e.last_known_state for e in store.get_executions_by_context(context.id)]
    return states


def _write_span(data: Path, span: int, train: str, eval_data: str) -> None:
    (data / str(span)).mkdir(parents=True)
    for name, source in (("train.tsv", train), ("eval.tsv", eval_data)):
        (data / str(span) / name).write_text(Path(source).read_text(encoding="utf-8"), encoding="utf-8")


def _latest_execution(store, pipeline_name: str, node: str):
    """The newest execution of `node` over the runs' `component_run` contexts, and its input artifacts by key."""
    executions = [
        execution
        for context in store.get_contexts_by_type("component_run")
        if context.name.startswith(f"{pipeline_name}.") and context.name.endswith(f".{node}")
        for execution in store.get_executions_by_context(context.id)
    ]
    execution = max(executions, key=lambda e: e.id)
    inputs = {}
    for event in store.get_events_by_execution_ids([execution.id]):
        if event.type == metadata_store_pb2.Event.INPUT:
            inputs.setdefault(event.path.steps[0].key, []).extend(store.get_artifacts_by_id([event.artifact_id]))
    return execution, inputs


def test_dag_file_runs_every_component_and_each_run_the_newest_span(airflow, tiny_pipeline_config, tmp_path):
    """One compiled DAG, `airflow dags test` twice with a span added between: each run trains on the newest span, and
    the second one's Evaluator compares with the first one's model."""
    run, dags = airflow
    config = tiny_pipeline_config(tmp_path, pipeline_name="sentence-tfx-airflow-test")
    data = tmp_path / "reviews"
    _write_span(data, 1, config.train_data, config.eval_data)
    dag_file = dags / "reviews_dag.py"
    assert (
        cli.main(
            [
                "compile",
                "--orchestrator",
                "airflow",
                "--out",
                str(dag_file),
                "--train",
                str(data / "{SPAN}" / "train.tsv"),
                "--eval",
                str(data / "{SPAN}" / "eval.tsv"),
                "--text-column",
                "sentence",
                "--encoder",
                os.path.dirname(config.encoder_handle),
                "--seq-length",
                "16",
                "--epochs",
                "2",
                "--min-accuracy",
                "0",
                "--max-accuracy-drop",
                "1",
                "--pipeline-name",
                config.pipeline_name,
                "--pipeline-root",
                config.pipeline_root,
                "--serving-dir",
                config.serving_dir,
            ]
        )
        == 0
    )
    tasks = set(run("tasks", "list", config.pipeline_name).stdout.split())
    assert {
        "FileBasedExampleGen",
        "CuratedSchemaGen",
        "ValidationGate",
        "Transform",
        "Trainer",
        "Evaluator",
        "Pusher",
    } <= tasks
    from ml_metadata import metadata_store

    store = metadata_store.MetadataStore(metadata.connection_config(config))
    models = []
    for span, day in ((1, "2026-01-02"), (2, "2026-01-03")):
        if span == 2:
            _write_span(data, 2, config.train_data, config.eval_data)
        done = run("dags", "test", config.pipeline_name, day)
        log = done.stdout + done.stderr
        for task in tasks:
            assert f"Marking task as SUCCESS. dag_id={config.pipeline_name}, task_id={task}" in log, (task, log[-3000:])
        assert f"DagRun Finished: dag_id={config.pipeline_name}" in log
        _, transform_inputs = _latest_execution(store, config.pipeline_name, "Transform")
        assert transform_inputs["examples"][0].custom_properties["span"].int_value == span
        _, evaluator_inputs = _latest_execution(store, config.pipeline_name, "Evaluator")
        assert [model.id for model in evaluator_inputs.get("baseline_model", [])] == models[-1:]
        models.append(evaluator_inputs["model"][0].id)
    states = _executions(config)
    assert tasks - {"latest_blessed_model_resolver", "previous_accepted_statistics"} <= set(states), states
    for node, node_states in states.items():
        assert node_states and all(
            state in (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)
            for state in node_states
        ), (node, node_states)
    assert len(os.listdir(config.serving_dir)) == 2  # Both blessed (accuracy floor 0, any drop allowed) and pushed.
