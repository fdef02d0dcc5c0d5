"""The pipeline as an Airflow DAG: TFX's AirflowDagRunner, one Airflow task per component.

`sentence-tfx compile --orchestrator airflow --out DAGS_FOLDER/NAME.py` writes a DAG file holding the prepared
PipelineConfig (encoder resolved); neither compiling nor parsing it reads the data. Airflow needs this project and the
Airflow extra installed (`pip install --no-deps -r requirements.lock -r requirements-airflow.lock`)."""

import dataclasses
import datetime
import os
from pathlib import Path

from sentence_tfx.pipeline import pipeline
from sentence_tfx.config import PipelineConfig
from sentence_tfx.errors import InputError

DAG_FILE = '''"""Airflow DAG of the sentence-tfx pipeline {name!r}: one task per TFX component.

Written by `sentence-tfx compile --orchestrator airflow`; compile again rather than editing the config below."""
from sentence_tfx.pipeline import airflow_dag

DAG = airflow_dag.create_dag({config!r}, schedule={schedule!r})
'''


def create_dag(config_json: str, schedule: str | None = None):
    """The Airflow DAG of a prepared PipelineConfig given as JSON; TFX names it after the pipeline."""
    from tfx.orchestration.airflow.airflow_dag_runner import AirflowDagRunner, AirflowPipelineConfig  # Not in v1.

    config = PipelineConfig.from_json(config_json)
    return AirflowDagRunner(
        AirflowPipelineConfig(
            airflow_dag_config={
                "schedule": schedule,
                "catchup": False,
                "start_date": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
                "max_active_runs": 1,  # Runs of one pipeline share its ML Metadata store and serving dir.
                "tags": ["tfx", "sentence-tfx"],
            }
        )
    ).run(pipeline.create_pipeline(config))


PATH_FIELDS = (
    "train_data",
    "eval_data",
    "preprocessor_handle",
    "encoder_handle",
    "pipeline_root",
    "metadata_path",
    "serving_dir",
)


def write_dag_file(config: PipelineConfig, out: str, schedule: str | None) -> None:
    """Local paths are made absolute: Airflow's tasks do not run in the folder this command ran in."""
    path = Path(out)
    if path.suffix != ".py":
        raise InputError(f"an Airflow DAG file must end in .py: {out}")
    config = dataclasses.replace(
        config,
        **{
            name: os.path.abspath(getattr(config, name))
            for name in PATH_FIELDS
            if getattr(config, name) and "://" not in getattr(config, name)
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        DAG_FILE.format(name=config.pipeline_name, config=config.to_json(), schedule=schedule), encoding="utf-8"
    )
