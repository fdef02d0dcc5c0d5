"""ML Metadata on a real MariaDB server: two runs recorded there, the second evaluated against the first's model."""

import os
import re
import subprocess

import pytest
from ml_metadata.proto import metadata_store_pb2

from sentence_tfx.pipeline import cli, metadata, results
from sentence_tfx.config import PipelineConfig


def test_mysql_address_and_password_from_the_environment(monkeypatch):
    monkeypatch.setenv(metadata.PASSWORD_VARIABLE, "s3cret")
    config = PipelineConfig(train_data="t.csv", metadata_mysql="mlmd_user@db.internal:3306/mlmd")
    connection = metadata.connection_config(config)
    assert (
        connection.mysql.host,
        connection.mysql.port,
        connection.mysql.database,
        connection.mysql.user,
        connection.mysql.password,
    ) == ("db.internal", 3306, "mlmd", "mlmd_user", "s3cret")
    assert "s3cret" not in config.to_json()  # The config is recorded in ML Metadata by every component.


@pytest.mark.parametrize("address", ["db:3306/mlmd", "u@db/mlmd", "u@db:port/mlmd", "u@db:3306"])
def test_a_malformed_mysql_address_names_the_expected_form(address):
    with pytest.raises(ValueError, match="is not USER@HOST:PORT/DATABASE"):
        metadata.connection_config(PipelineConfig(train_data="t.csv", metadata_mysql=address))


@pytest.mark.slow
@pytest.mark.long  # A MariaDB server and two runs: `make test-all` only.
def test_two_runs_recorded_in_mariadb(mariadb_address, tiny_pipeline_config, tmp_path, capsys):
    config = tiny_pipeline_config(tmp_path, metadata_mysql=mariadb_address, min_accuracy=0.0)
    args = [
        "run",
        "--train",
        config.train_data,
        "--eval",
        config.eval_data,
        "--text-column",
        "sentence",
        "--encoder",
        os.path.dirname(config.encoder_handle),
        "--seq-length",
        "16",
        "--epochs",
        "1",
        "--min-accuracy",
        "0",
        "--max-accuracy-drop",
        "1",
        "--pipeline-root",
        config.pipeline_root,
        "--serving-dir",
        config.serving_dir,
        "--metadata-mysql",
        mariadb_address,
    ]
    assert cli.main(args) == 0, capsys.readouterr().err
    assert cli.main([*args, "--no-cache"]) == 0, capsys.readouterr().err  # Trains again: a second model to compare.
    assert not os.path.exists(config.sqlite_path), "SQLite was used although MySQL was asked for"
    user, host, port, database = re.fullmatch(r"(.+)@(.+):(\d+)/(.+)", mariadb_address).groups()
    executions = subprocess.run(  # Asked of the server itself, not through ML Metadata.
        [
            "mariadb",
            "--no-defaults",
            "-h",
            host,
            "-P",
            port,
            "-u",
            user,
            f"-p{os.environ[metadata.PASSWORD_VARIABLE]}",
            database,
            "--batch",
            "--skip-column-names",
            "-e",
            "SELECT COUNT(*) FROM Execution",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert int(executions) >= 2 * 10  # Ten nodes per run (the resolver included).
    store = results.open_store(config)
    trainer_context = store.get_context_by_type_and_name("node", f"{config.pipeline_name}.Trainer")
    models = sorted(
        (a for a in store.get_artifacts_by_context(trainer_context.id) if a.type == "Model"), key=lambda a: a.id
    )
    assert len(models) == 2
    evaluation, inputs = results.latest_outputs(store, config.pipeline_name, "Evaluator", results.INPUT_EVENTS)
    assert evaluation.last_known_state == metadata_store_pb2.Execution.COMPLETE
    assert [a.id for a in inputs["baseline_model"]] == [models[0].id]  # Run 2 is compared with run 1's model.
    assert len(os.listdir(config.serving_dir)) == 2
