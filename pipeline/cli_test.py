"""Exit statuses automation can trust (0 pushed, 1 not blessed, 2 bad input, 3 invalid data, 4 internal error) and a
console log that shows every component start and finish. Statuses 2 and 3 are in tests/bad_inputs and pipeline_test."""

import dataclasses
import re
import shlex
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from sentence_tfx import config as config_module
from sentence_tfx.config import PipelineConfig
from sentence_tfx.pipeline import cli, pipeline, preflight

TRAIN = Path(__file__).resolve().parents[1] / "tests" / "bad_inputs" / "files" / "train.csv"
COMPONENT_LINE = re.compile(r"INFO absl: Component (\S+) is (running|finished)\.$", re.MULTILINE)


def test_messages_name_each_setting_by_its_option():
    run_parser = cli.build_parser()._subparsers._group_actions[0].choices["run"]
    options = {option for action in run_parser._actions for option in action.option_strings}
    for field in dataclasses.fields(PipelineConfig):
        name = config_module.option(field.name)
        if field.name in config_module.FIELDS_WITHOUT_OPTION:
            assert not any(action.dest == field.name for action in run_parser._actions), field.name
        else:
            assert name in options, f"{field.name}: messages call it {name}, which `run` does not have"


@pytest.mark.parametrize(
    "blessed, serving_check_failure, pushed_to, status",
    [
        (True, "", "/serving/1", cli.EXIT_PUSHED),
        (False, "", None, cli.EXIT_NOT_BLESSED),
        (True, "the model server did not load it", None, cli.EXIT_NOT_BLESSED),
        (True, "", None, cli.EXIT_INTERNAL_ERROR),
    ],
)
def test_exit_status_is_zero_only_for_a_pushed_model(blessed, serving_check_failure, pushed_to, status):
    summary = types.SimpleNamespace(blessed=blessed, serving_check_failure=serving_check_failure, pushed_to=pushed_to)
    assert cli.exit_status(summary) == status


@pytest.mark.parametrize("verbose", [False, True])
def test_an_internal_error_exits_4_with_a_hint_or_the_traceback(verbose, monkeypatch, tmp_path, capsys):
    def fail(config):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(preflight, "check", fail)
    argv = ["-v"] * verbose + ["run", "--train", str(TRAIN), "--pipeline-root", str(tmp_path / "root")]
    assert cli.main(argv) == cli.EXIT_INTERNAL_ERROR
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: the disk is on fire" in err
    assert ("Traceback (most recent call last)" in err) == verbose
    assert ("(rerun with -v for the traceback)" in err) != verbose


@pytest.mark.slow
def test_a_run_logs_every_component_exits_0_when_pushed_and_1_when_not_blessed(tiny_export, tmp_path, capsys):
    train, eval_data = tmp_path / "train.csv", tmp_path / "eval.csv"
    shutil.copy(TRAIN, train)
    # Each text twice, with both labels: no model gets more than half of them right.
    eval_data.write_text("text,label\nreally great,pos\nreally great,neg\nreally bad,neg\nreally bad,pos\n")
    argv = shlex.split(
        f"run --train {train} --eval {eval_data} --encoder {tiny_export} --seq-length 16 --epochs 2 "
        f"--min-accuracy 0 --pipeline-root {tmp_path / 'pipeline'} --serving-dir {tmp_path / 'serving'}"
    )
    run = subprocess.run(
        [sys.executable, "-m", "sentence_tfx.pipeline.cli", *argv], capture_output=True, text=True, cwd=tmp_path
    )
    assert run.returncode == cli.EXIT_PUSHED, run.stderr
    pushed = re.search(r"^pushed:  (\S+) \(version \d+: copied, loaded and renamed", run.stdout, re.MULTILINE)
    assert pushed and Path(pushed[1]).parent == tmp_path / "serving", run.stdout
    config = pipeline.prepare(cli.config_from_args(cli.build_parser().parse_args(argv)))
    components = {component.id for component in pipeline.create_pipeline(config).components}
    lines = COMPONENT_LINE.findall(run.stderr)
    assert sorted(lines) == sorted((name, state) for name in components for state in ("running", "finished"))
    assert "Unable to register cu" not in run.stderr

    # The same run, now requiring more accuracy than the eval set allows: trained (from the cache), not blessed.
    assert cli.main([*argv, "--min-accuracy", "0.75"]) == cli.EXIT_NOT_BLESSED
    out = capsys.readouterr().out
    assert "blessed: no" in out and "pushed:  nothing (not blessed by the Evaluator)" in out
    assert len(list((tmp_path / "serving").iterdir())) == 1
    print(f"{len(components)} components, {len(lines)} start/finish lines")
