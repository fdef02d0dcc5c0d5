"""The bad-input corpus: wrong options and broken files given to `sentence-tfx`, each answered with its exit status and
a message that names the option, file, line or field; none may succeed.

Each case runs `cli.main` in this process, in a fresh folder (also the working directory), and must leave that folder
as it found it: options and paths are refused before anything is written or any TFX component runs. Only the cases
that need the pipeline to reach data validation (exit 3) run components, and are marked slow. The data files are in
files/; `{files}`, `{work}` (the fresh folder, with the fixtures of `_workspace`), `{train}` and `{eval}` (good CSV
files) and `{tiny}` (the tiny encoder export) are filled in.
"""

import contextlib
import os
import shlex
import shutil
import tempfile
from pathlib import Path

import pytest

from sentence_tfx.pipeline import cli, preflight  # noqa: F401  (imported here, before any case drops privileges)

FILES = Path(__file__).parent / "files"
NOBODY = 65534
RUN = "run --train {train} --eval {eval}"
SERVE = "serve --model-base-path {work} --model-name m"

# (id, command line, exit status, words the message must hold)
OPTION_CASES = [
    # argparse: types, choices, unknown and missing options.
    ("epochs-not-a-number", RUN + " --epochs two", 2, ["argument --epochs: invalid int value: 'two'"]),
    ("learning-rate-not-a-number", RUN + " --head-lr fast", 2, ["argument --head-lr: invalid float value: 'fast'"]),
    ("unknown-format", RUN + " --format xml", 2, ["argument --format: invalid choice: 'xml'"]),
    ("unknown-mode", RUN + " --mode distill", 2, ["argument --mode: invalid choice: 'distill'"]),
    ("unknown-runner", RUN + " --runner spark", 2, ["argument --runner: invalid choice: 'spark'"]),
    ("unknown-option", RUN + " --epoks 2", 2, ["unrecognized arguments: --epoks 2"]),
    ("missing-train", "run --epochs 2", 2, ["the following arguments are required: --train"]),
    (
        "beam-args-unclosed-quote",
        RUN + " --beam-args='--runner=\"x'",
        2,
        ["argument --beam-args: '--runner=\"x': No closing"],
    ),
    # Numeric ranges.
    ("epochs-zero", RUN + " --epochs 0", 2, ["error: --epochs 0: must be an integer ≥ 1"]),
    ("epochs-negative", RUN + " --epochs -1", 2, ["error: --epochs -1: must be an integer ≥ 1"]),
    ("batch-size-zero", RUN + " --batch-size 0", 2, ["error: --batch-size 0: must be an integer ≥ 1"]),
    ("batch-size-negative", RUN + " --batch-size -32", 2, ["error: --batch-size -32: must be an integer ≥ 1"]),
    ("head-lr-zero", RUN + " --head-lr 0", 2, ["error: --head-lr 0.0: must be a number > 0"]),
    ("head-lr-negative", RUN + " --head-lr -0.001", 2, ["error: --head-lr -0.001: must be a number > 0"]),
    ("head-lr-nan", RUN + " --head-lr nan", 2, ["error: --head-lr nan: must be a number > 0"]),
    ("encoder-lr-zero", RUN + " --encoder-lr 0", 2, ["error: --encoder-lr 0.0: must be a number > 0"]),
    ("encoder-lr-infinite", RUN + " --encoder-lr inf", 2, ["error: --encoder-lr inf: must be a number > 0"]),
    ("max-train-steps-zero", RUN + " --max-train-steps 0", 2, ["error: --max-train-steps 0: must be an integer ≥ 1"]),
    (
        "validation-fraction-too-large",
        RUN + " --validation-fraction 0.9",
        2,
        ["error: --validation-fraction 0.9: must be a number in [0, 0.5] (0: no validation split; most of train"],
    ),
    ("validation-fraction-negative", RUN + " --validation-fraction -0.1", 2, ["--validation-fraction -0.1: must be"]),
    ("class-weight-unknown", RUN + " --class-weight auto", 2, ["argument --class-weight: invalid choice: 'auto'"]),
    ("bless-metric-unknown", RUN + " --bless-metric f1", 2, ["argument --bless-metric: invalid choice: 'f1'"]),
    ("setfit-iterations-zero", RUN + " --setfit-iterations 0", 2, ["error: --setfit-iterations 0: must be an integer"]),
    (
        "setfit-multi-worker",
        RUN + " --mode setfit --distribution multi_worker_mirrored",
        2,
        ["error: --mode setfit trains on one worker: drop --distribution"],
    ),
    ("max-train-steps-negative", RUN + " --max-train-steps -5", 2, ["error: --max-train-steps -5: must be"]),
    (
        "min-accuracy-above-one",
        RUN + " --min-accuracy 1.5",
        2,
        ["error: --min-accuracy 1.5: must be a number in [0, 1]"],
    ),
    ("min-accuracy-negative", RUN + " --min-accuracy -0.1", 2, ["error: --min-accuracy -0.1: must be a number in"]),
    ("min-accuracy-percent", RUN + " --min-accuracy 80", 2, ["error: --min-accuracy 80.0: must be a number in [0, 1]"]),
    ("max-drop-above-one", RUN + " --max-accuracy-drop 2", 2, ["error: --max-accuracy-drop 2.0: must be a number in"]),
    ("max-drop-nan", RUN + " --max-accuracy-drop nan", 2, ["error: --max-accuracy-drop nan: must be a number in"]),
    ("seq-length-two", RUN + " --seq-length 2", 2, ["error: --seq-length 2: must be an integer ≥ 3", "[CLS]"]),
    ("seq-length-negative", RUN + " --seq-length -128", 2, ["error: --seq-length -128: must be an integer ≥ 3"]),
    # Columns and labels.
    ("text-column-is-label", RUN + " --text-column label", 2, ["--text-column and --label-column are both 'label'"]),
    ("label-column-is-text", RUN + " --label-column text", 2, ["--text-column and --label-column are both 'text'"]),
    ("same-custom-columns", RUN + " --text-column x --label-column x", 2, ["are both 'x'"]),
    ("empty-text-column", RUN + " --text-column ''", 2, ["error: --text-column: must name a column"]),
    ("empty-label-column", RUN + " --label-column ''", 2, ["error: --label-column: must name a column"]),
    ("labels-empty-entry", RUN + " --labels pos,,neg", 2, ["error: --labels 'pos,,neg': label 2 is empty"]),
    ("labels-trailing-comma", RUN + " --labels pos,neg,", 2, ["error: --labels 'pos,neg,': label 3 is empty"]),
    ("labels-empty", RUN + " --labels ''", 2, ["error: --labels '': label 1 is empty"]),
    ("labels-repeated", RUN + " --labels pos,neg,pos", 2, ["--labels 'pos,neg,pos': 'pos' given more than once"]),
    ("labels-repeated-by-spaces", RUN + " --labels 'pos, pos'", 2, ["--labels 'pos,pos': 'pos' given more than once"]),
    ("labels-single", RUN + " --labels pos", 2, ["--labels 'pos': a classifier needs at least 2 classes"]),
    # Formats.
    ("unknown-extension", "run --train {work}/a_file.txt", 2, ["--train {work}/a_file.txt: cannot tell the format"]),
    ("eval-unknown-extension", "run --train {train} --eval {work}/a_file.txt", 2, ["--eval {work}/a_file.txt: cannot"]),
    # Encoder options, metadata, names.
    ("preprocessor-alone", RUN + " --preprocessor {work}/a_dir", 2, ["error: --preprocessor needs --encoder too"]),
    ("encoder-alone", RUN + " --encoder {work}/a_dir", 2, ["--encoder {work}/a_dir needs --preprocessor too"]),
    ("encoder-missing", RUN + " --encoder {work}/no_encoder", 2, ["--encoder {work}/no_encoder: no such directory"]),
    (
        "metadata-twice",
        RUN + " --metadata-path {work}/m.sqlite --metadata-mysql tfx@db:3306/mlmd",
        2,
        ["--metadata-path and --metadata-mysql both say where ML Metadata lives"],
    ),
    ("pipeline-name-empty", RUN + " --pipeline-name ''", 2, ["error: --pipeline-name: must not be empty"]),
    ("pipeline-name-too-long", RUN + " --pipeline-name " + "p" * 64, 2, ["at most 63 characters"]),
    (
        "kubeflow-without-image",
        "compile --orchestrator kubeflow-v2 --out {work}/p.json --train gs://b/t.csv --labels neg,pos",
        2,
        ["--orchestrator kubeflow-v2 needs --image"],
    ),
    (
        "compile-epochs-zero",
        "compile --orchestrator airflow --out {work}/dag.py --train gs://b/t.csv --labels neg,pos --epochs 0",
        2,
        ["error: --epochs 0: must be an integer ≥ 1"],
    ),
    # `serve`: refused before a port is opened or a model loaded.
    (
        "serve-batch-option-without-batching",
        SERVE + " --max-batch-size 8",
        2,
        ["--max-batch-size needs --enable-batching"],
    ),
    ("serve-drain-negative", SERVE + " --drain-seconds -1", 2, ["--drain-seconds must be at least 0, got -1"]),
    (
        "serve-intra-op-threads-negative",
        SERVE + " --tensorflow-intra-op-parallelism -2",
        2,
        ["--tensorflow-intra-op-parallelism must be at least 0 (0: TensorFlow's choice), got -2"],
    ),
]

PATH_CASES = [
    ("train-missing", "run --train {work}/missing.csv", 2, ["--train {work}/missing.csv: no such file"]),
    ("eval-missing", "run --train {train} --eval {work}/missing.csv", 2, ["--eval {work}/missing.csv: no such file"]),
    ("train-broken-link", "run --train {work}/broken.csv", 2, ["--train {work}/broken.csv: a broken symbolic link"]),
    ("train-under-a-file", "run --train {work}/a_file.txt/x.csv", 2, ["--train {work}/a_file.txt/x.csv: no such"]),
    ("train-folder-empty", "run --train {work}/data.csv", 2, ["--train {work}/data.csv: the folder holds no files"]),
    (
        "eval-folder-empty",
        "run --train {train} --eval {work}/data.csv",
        2,
        ["--eval {work}/data.csv: the folder holds"],
    ),
    ("train-fifo", "run --train {work}/fifo.csv", 2, ["--train {work}/fifo.csv: not a regular file"]),
    ("train-empty-file", "run --train {files}/empty.csv", 2, ["--train {files}/empty.csv: the file is empty"]),
    ("remote-train-missing", "run --train ram://nowhere/t.csv", 2, ["--train ram://nowhere/t.csv: no such file"]),
    (
        "two-filesystems",
        "run --train {train} --eval gs://bucket/eval.csv",
        2,
        ["--train {train} and --eval gs://bucket/eval.csv must be on one filesystem"],
    ),
    (
        "encoder-not-a-saved-model",
        RUN + " --encoder {work}/a_dir --preprocessor {work}/a_dir",
        2,
        ["--preprocessor {work}/a_dir: not a SavedModel (no saved_model.pb in it)"],
    ),
    (
        "encoder-saved-model-corrupt",
        RUN + " --encoder {work}/corrupt/encoder --preprocessor {work}/corrupt/encoder",
        2,
        ["{work}/corrupt/encoder/saved_model.pb: not a SavedModel"],
    ),
    (
        "preprocessor-is-a-file",
        RUN + " --encoder {work}/a_dir --preprocessor {work}/a_file.txt",
        2,
        ["--preprocessor {work}/a_file.txt: not a directory"],
    ),
    (
        "seq-length-beyond-minilm",
        RUN + " --seq-length 100000",
        2,
        ["--seq-length 100000: the encoder has 512 positions"],
    ),
    (
        "seq-length-beyond-tiny",
        RUN + " --encoder {tiny} --seq-length 513",
        2,
        ["--seq-length 513: the encoder has 512"],
    ),
    ("root-is-a-file", RUN + " --pipeline-root {work}/a_file.txt", 2, ["--pipeline-root {work}/a_file.txt: is a file"]),
    (
        "root-inside-a-file",
        RUN + " --pipeline-root {work}/a_file.txt/root",
        2,
        ["--pipeline-root {work}/a_file.txt/root: is inside {work}/a_file.txt, which is a file"],
    ),
    (
        "serving-dir-is-a-file",
        RUN + " --serving-dir {work}/a_file.txt",
        2,
        ["--serving-dir {work}/a_file.txt: is a file"],
    ),
    (
        "metadata-path-is-a-folder",
        RUN + " --metadata-path {work}/a_dir",
        2,
        ["--metadata-path {work}/a_dir: is a directory; ML Metadata needs an SQLite file"],
    ),
    (
        "metadata-path-not-sqlite",
        RUN + " --metadata-path {work}/a_file.txt",
        2,
        ["--metadata-path {work}/a_file.txt: not an SQLite database"],
    ),
    (
        "export-out-is-a-file",
        "export-encoder --out {work}/a_file.txt --from {work}/a_dir",
        2,
        ["--out {work}/a_file.txt: is a file, not a directory"],
    ),
    (
        "export-from-not-a-model",
        "export-encoder --out {work}/open/encoder --from {work}/a_dir",
        2,
        ["{work}/a_dir/modules.json is missing: not a sentence-transformers model folder?"],
    ),
    ("embed-not-an-export", "embed --encoder {work}/a_dir hello", 2, ["--encoder {work}/a_dir: not an export-encoder"]),
    (
        "compile-out-is-a-folder",
        "compile --orchestrator airflow --out {work}/a_dir --train gs://b/t.csv --labels neg,pos",
        2,
        ["--out {work}/a_dir: is a directory; give the file to write"],
    ),
    (
        "compile-out-inside-a-file",
        "compile --orchestrator airflow --out {work}/a_file.txt/dag.py --train gs://b/t.csv --labels neg,pos",
        2,
        ["--out {work}/a_file.txt: is a file, not a directory"],
    ),
    (
        "compile-dag-file-hides-the-package",
        "compile --orchestrator airflow --out {work}/sentence_tfx.py --train gs://b/t.csv --labels neg,pos",
        2,
        ["--out {work}/sentence_tfx.py: Airflow puts the DAG folder on sys.path", "give it another name"],
    ),
    ("metadata-mysql-malformed", RUN + " --metadata-mysql tfx@db", 2, ["'tfx@db' is not USER@HOST:PORT/DATABASE"]),
]

# Run as `nobody` when the tests run as root (root may read and write anything).
UNPRIVILEGED_CASES = [
    ("train-unreadable", "run --train {work}/locked.csv", 2, ["--train {work}/locked.csv: cannot be read: Permission"]),
    (
        "train-in-locked-folder",
        "run --train {work}/secret/train.csv",
        2,
        ["--train {work}/secret/train.csv: cannot be read: Permission denied"],
    ),
    (
        "root-read-only",
        RUN + " --pipeline-root {work}/read_only/root",
        2,
        ["--pipeline-root {work}/read_only/root: cannot write in {work}/read_only: Permission denied"],
    ),
    (
        "serving-dir-read-only",
        RUN + " --pipeline-root {work}/open/root --serving-dir {work}/read_only",
        2,
        ["--serving-dir {work}/read_only: cannot write in {work}/read_only: Permission denied"],
    ),
]

DATA_CASES = [  # ExampleGen finds these when the run reads the data (on Beam), before anything else runs.
    ("header-only", "run --train {files}/header_only.csv", 2, ["header_only.csv: empty file: no csv records"]),
    ("blank-lines-only", "run --train {files}/blank_lines.jsonl", 2, ["blank_lines.jsonl: empty file: no jsonl"]),
    (
        "column-missing",
        "run --train {files}/missing_column.csv",
        2,
        ["missing_column.csv:1: column 'text' is missing from the header; columns found: ['sentence', 'label']"],
    ),
    (
        "text-column-option-missing",
        RUN + " --text-column sentence",
        2,
        ["column 'sentence' is missing from the header"],
    ),
    ("column-repeated", "run --train {files}/repeated_column.csv", 2, [":1: column 'text' is repeated in the header"]),
    ("row-ragged", "run --train {files}/ragged.csv", 2, ["ragged.csv:3: row has 3 fields, the header has 2"]),
    ("eval-ragged", "run --train {train} --eval {files}/ragged.csv", 2, ["{files}/ragged.csv:3: row has 3 fields"]),
    (
        "quote-unterminated",
        "run --train {files}/unterminated_quote.csv",
        2,
        ["unterminated_quote.csv:3: malformed csv"],
    ),
    ("tsv-named-csv", "run --train {files}/tab_separated.csv", 2, ["tab_separated.csv:1: column 'text' is missing"]),
    ("tsv-stray-quote", "run --train {files}/stray_quote.tsv", 2, ["stray_quote.tsv:2: malformed tsv record"]),
    ("label-empty", "run --train {files}/empty_label.csv", 2, ["empty_label.csv:3: field 'label': label is empty"]),
    ("label-blank", "run --train {files}/blank_label.csv", 2, ["blank_label.csv:3: field 'label': label is empty"]),
    ("text-not-utf8", "run --train {files}/latin1.csv", 2, ["latin1.csv:3: field 'text' is not UTF-8: bytes b'\\xe8'"]),
    ("label-not-utf8", "run --train {files}/latin1_label.csv", 2, ["latin1_label.csv:3: field 'label' is not UTF-8"]),
    (
        "jsonl-repeated-key",
        "run --train {files}/duplicate_key.jsonl",
        2,
        ["duplicate_key.jsonl:2: key 'label' appears more than once in one object"],
    ),
    (
        "jsonl-repeated-nested-key",
        "run --train {files}/duplicate_nested_key.jsonl",
        2,
        ["duplicate_nested_key.jsonl:1: key 'id' appears more than once"],
    ),
    ("jsonl-not-object", "run --train {files}/not_object.jsonl", 2, ["not_object.jsonl:1: expected a JSON object"]),
    ("jsonl-invalid", "run --train {files}/invalid.jsonl", 2, ["invalid.jsonl:2: invalid JSON"]),
    ("jsonl-label-missing", "run --train {files}/missing_label.jsonl", 2, [":1: field 'label' is missing"]),
    ("jsonl-label-bool", "run --train {files}/bool_label.jsonl", 2, [":1: field 'label' must be a string or number"]),
    ("jsonl-label-null", "run --train {files}/null_label.jsonl", 2, [":1: field 'label' must be a string or number"]),
    ("jsonl-label-list", "run --train {files}/list_label.jsonl", 2, [":1: field 'label' must be a string or number"]),
    (
        "jsonl-text-number",
        "run --train {files}/number_text.jsonl",
        2,
        [":1: field 'text' must be a string, got number"],
    ),
    ("tfrecord-garbage", "run --train {files}/garbage.tfrecord", 2, ["garbage.tfrecord:record 1: unreadable TFRecord"]),
    (
        "jsonl-read-as-csv-when-asked",
        "run --format csv --train {train} --eval {files}/eval.jsonl",
        2,
        ["eval.jsonl:1: column 'text' is missing from the header"],
    ),
]

VALIDATION_CASES = [
    (
        "single-class-train",
        "run --train {files}/single_class.csv --eval {eval} --encoder {tiny} --seq-length 16",
        3,
        ["train: label: Fewer than 2 classes"],
    ),
    (
        "label-outside-labels",
        "run --train {files}/extra_label.csv --eval {eval} --labels neg,pos --encoder {tiny} --seq-length 16",
        3,
        ["The data failed validation; nothing was trained.", "train: label: Unexpected string values: 'neutral'"],
    ),
]


def _params(*case_lists):
    return [pytest.param(*case[1:], id=case[0]) for cases in case_lists for case in cases]


@contextlib.contextmanager
def _unprivileged():
    """The effective user `nobody` while the case runs, when the tests run as root; restored after."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def workspace(monkeypatch):
    """A fresh folder that `nobody` may enter, with the paths the cases refer to; also the working directory."""
    work = Path(tempfile.mkdtemp(prefix="bad-inputs-"))
    work.chmod(0o755)
    (work / "a_dir").mkdir()
    (work / "a_dir" / "train.csv").write_text("text,label\na,pos\nb,neg\n")
    (work / "data.csv").mkdir()
    (work / "corrupt" / "encoder").mkdir(parents=True)
    (work / "corrupt" / "encoder" / "saved_model.pb").write_bytes(b"\xff\xff not a protocol buffer")
    (work / "a_file.txt").write_text("not a folder, not a database\n")
    (work / "broken.csv").symlink_to(work / "gone.csv")
    os.mkfifo(work / "fifo.csv")
    shutil.copy(FILES / "train.csv", work / "locked.csv")
    (work / "locked.csv").chmod(0o000)
    (work / "secret").mkdir(mode=0o700)
    shutil.copy(FILES / "train.csv", work / "secret" / "train.csv")
    (work / "read_only").mkdir()
    (work / "read_only").chmod(0o555)
    (work / "open").mkdir()
    (work / "open").chmod(0o777)
    monkeypatch.chdir(work)
    yield work
    shutil.rmtree(work)


def _contents(folder: Path) -> set[str]:
    return {str(Path(root, name).relative_to(folder)) for root, dirs, files in os.walk(folder) for name in dirs + files}


def _run_case(command, code, words, work, request, capsys, unprivileged=False):
    places = {"files": FILES, "work": work, "train": FILES / "train.csv", "eval": FILES / "eval.csv"}
    if "{tiny}" in command:
        places["tiny"] = request.getfixturevalue("tiny_export")
    argv = shlex.split(command.format(**places))
    if argv[0] == "run":
        argv += ["--pipeline-root", str(work / "root")] * ("--pipeline-root" not in argv)
        argv += ["--serving-dir", str(work / "serving")] * ("--serving-dir" not in argv)
    before = _contents(work)
    with _unprivileged() if unprivileged else contextlib.nullcontext():
        try:
            status = cli.main(argv)
        except SystemExit as exit_:  # argparse's own errors.
            status = exit_.code
    out, err = capsys.readouterr()
    assert status == code, f"exit {status}, expected {code}\n{err}\n{out}"
    for word in words:
        assert word.format(**places) in err, err
    assert "pushed:" not in out
    return before


@pytest.mark.parametrize("command, code, words", _params(OPTION_CASES, PATH_CASES))
def test_refused_before_anything_is_written(command, code, words, workspace, request, capsys):
    before = _run_case(command, code, words, workspace, request, capsys)
    assert _contents(workspace) == before


@pytest.mark.parametrize("command, code, words", _params(UNPRIVILEGED_CASES))
def test_permissions_are_checked_up_front(command, code, words, workspace, request, capsys):
    before = _run_case(command, code, words, workspace, request, capsys, unprivileged=True)
    assert _contents(workspace) == before


@pytest.mark.slow
@pytest.mark.parametrize("command, code, words", _params(DATA_CASES))
def test_bad_rows_stop_the_run_when_example_gen_reads_them(command, code, words, workspace, request, capsys):
    _run_case(command + " --encoder {tiny} --seq-length 16", code, words, workspace, request, capsys)
    assert not (workspace / "serving").exists()


@pytest.mark.slow
@pytest.mark.parametrize("command, code, words", _params(VALIDATION_CASES))
def test_data_that_fails_validation_stops_before_training(command, code, words, workspace, request, capsys):
    _run_case(command, code, words, workspace, request, capsys)
    assert not (workspace / "serving").exists()


def test_the_corpus_is_big_enough():
    names = [case[0] for case in OPTION_CASES + PATH_CASES + UNPRIVILEGED_CASES + DATA_CASES + VALIDATION_CASES]
    assert len(set(names)) == len(names) >= 60
