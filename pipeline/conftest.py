"""Pipeline fixtures: small SST-2 samples, a config factory on the tiny encoder, one shared finished run, and a
real MariaDB server for ML Metadata."""

import getpass
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from tfx import v1 as tfx

from sentence_tfx.pipeline import metadata, pipeline
from sentence_tfx.config import PipelineConfig

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sst2"


@pytest.fixture(scope="session")
def sst2_sample(tmp_path_factory):
    """sst2_sample(split, rows) → path of a TSV with the header and the first `rows` rows of data/sst2/<split>.tsv."""

    def write(split: str, rows: int) -> str:
        lines = (SAMPLE / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
        out = tmp_path_factory.mktemp("sst2") / f"{split}.tsv"
        out.write_text("\n".join(lines[: rows + 1]) + "\n", encoding="utf-8")
        return str(out)

    return write


@pytest.fixture(scope="session")
def tiny_pipeline_config(tiny_export, sst2_sample):
    """tiny_pipeline_config(root, **overrides) → a prepared config: 160 train / 48 eval rows (14 of train held out for
    validation), the tiny encoder."""
    train, eval_data = sst2_sample("train", 160), sst2_sample("eval", 48)

    def make(root: Path, **overrides) -> PipelineConfig:
        return pipeline.prepare(
            PipelineConfig(
                **{
                    "train_data": train,
                    "eval_data": eval_data,
                    "text_column": "sentence",
                    "preprocessor_handle": str(tiny_export / "preprocessor"),
                    "encoder_handle": str(tiny_export / "encoder"),
                    "seq_length": 16,
                    "epochs": 2,
                    "min_accuracy": 0.0,
                    "pipeline_root": str(root / "pipeline"),
                    "serving_dir": str(root / "serving"),
                    **overrides,
                }
            )
        )

    return make


@pytest.fixture(scope="session")
def frozen_run(tiny_pipeline_config, tmp_path_factory) -> PipelineConfig:
    """One finished run with LocalDagRunner on Beam's FnApiRunner: the reference the other runners are held to."""
    config = tiny_pipeline_config(tmp_path_factory.mktemp("e2e"))
    tfx.orchestration.LocalDagRunner().run(pipeline.create_pipeline(config))
    return config


@pytest.fixture(scope="session")
def mariadb_address(tmp_path_factory, free_ports):
    """A real MariaDB server (Debian's mariadb-server; `.ci/run` installs it) with an empty database for ML
    Metadata, run by this fixture on 127.0.0.1 and stopped after the tests: yields USER@HOST:PORT/DATABASE and
    sets the password variable."""
    if not shutil.which("mariadbd", path=f"{os.environ.get('PATH', '')}:/usr/sbin"):
        if os.environ.get("CI"):
            pytest.fail("CI must install mariadb-server (.ci/run does)")
        pytest.skip("no MariaDB server here: apt-get install mariadb-server")
    folder = Path(tempfile.mkdtemp(prefix="mariadb-"))  # Short: the socket path must stay under 108 bytes.
    port, socket_path = free_ports(1)[0], folder / "mysqld.sock"
    base = ["--no-defaults", f"--datadir={folder / 'data'}", *(["--user=root"] if os.getuid() == 0 else [])]
    subprocess.run(
        ["mariadb-install-db", *base, "--auth-root-authentication-method=socket", "--skip-test-db"],
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [
            shutil.which("mariadbd", path="/usr/sbin:/usr/bin"),
            *base,
            f"--socket={socket_path}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            f"--log-error={folder / 'error.log'}",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-buffer-pool-size=64M",
        ]
    )
    admin = ["--no-defaults", f"--socket={socket_path}", f"--user={getpass.getuser()}"]
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["mariadb-admin", *admin, "--silent", "ping"], capture_output=True).returncode:
            assert server.poll() is None and time.monotonic() < deadline, (folder / "error.log").read_text()
            time.sleep(0.1)
        subprocess.run(
            ["mariadb", *admin],
            check=True,
            text=True,
            input=(
                "CREATE DATABASE mlmd; CREATE USER 'tfx'@'%' IDENTIFIED BY 'tfx-password';"
                "GRANT ALL PRIVILEGES ON mlmd.* TO 'tfx'@'%';"
            ),
        )
        os.environ[metadata.PASSWORD_VARIABLE] = "tfx-password"
        yield f"tfx@127.0.0.1:{port}/mlmd"
    finally:
        os.environ.pop(metadata.PASSWORD_VARIABLE, None)
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
