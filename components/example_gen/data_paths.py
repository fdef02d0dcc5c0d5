"""What `--train` and `--eval` name, as TFX's input base and split patterns, worked out without touching any file.

Each is a file (`data/train.tsv`), a glob (`data/train-*.csv`, `gs://b/x/part-*.jsonl`), a folder (`data/train/` or
a last part without an extension: the files in it), or any of these with TFX's span specs: `{SPAN}` or
`{YYYY}{MM}{DD}` (and `{VERSION}`), which ExampleGen's driver resolves to the latest span when the pipeline runs.
"""

import os
import posixpath
import re

from tfx.proto import example_gen_pb2

from sentence_tfx.errors import InputError

_GLOB = re.compile(r"[*?\[]")
_SPAN_SPECS = re.compile(r"\{(SPAN|VERSION)(:[^}]*)?\}|\{YYYY\}|\{MM\}|\{DD\}")


def has_span_spec(path: str) -> bool:
    return bool(_SPAN_SPECS.search(path))


def has_glob(path: str) -> bool:
    return bool(_GLOB.search(path))


def is_folder(path: str) -> bool:
    """Ends with '/', or its last part is neither a glob nor has an extension (`data/train`, `gs://b/{SPAN}`)."""
    last = posixpath.basename(path)
    return not last or not (has_glob(last) or os.path.splitext(_SPAN_SPECS.sub("0", last))[1])


def file_pattern(path: str) -> str:
    """The glob of the files `path` names: the path itself, or every file in the folder it names."""
    return path.rstrip("/") + "/*" if is_folder(path) else path


def input_config(train_data: str, eval_data: str | None) -> tuple[str, example_gen_pb2.Input]:
    """The input base (the deepest folder above every pattern part) and one split per path, patterns relative to it.
    Local paths are made absolute; URIs (gs://bucket/x) are kept and must all be on one filesystem."""
    paths = {split: file_pattern(path) for split, path in (("train", train_data), ("eval", eval_data)) if path}
    if len({has_span_spec(path) for path in paths.values()}) > 1:
        raise InputError(
            f"--train and --eval must both use span specs ({{SPAN}}, {{YYYY}}{{MM}}{{DD}}) or neither: {train_data}, "
            f"{eval_data}"
        )
    schemes = {path.split("://", 1)[0] if "://" in path else "" for path in paths.values()}
    if len(schemes) > 1:
        raise InputError(f"train and eval data must be on one filesystem, got {', '.join(paths.values())}")
    (scheme,) = schemes
    if scheme:
        fixed = {split: _fixed_folder(path.split("://", 1)[1]) for split, path in paths.items()}
        base = f"{scheme}://{posixpath.commonpath(list(fixed.values()))}"
    else:
        paths = {split: os.path.abspath(path) for split, path in paths.items()}
        base = os.path.commonpath([_fixed_folder(path) for path in paths.values()])
    return base, example_gen_pb2.Input(
        splits=[
            example_gen_pb2.Input.Split(name=split, pattern=path[len(base) :].lstrip("/"))
            for split, path in paths.items()
        ]
    )


def _fixed_folder(path: str) -> str:
    """The folders of `path` before its first part with a glob character or a span spec: TFX resolves span specs
    only in split patterns, below the input base."""
    parts = path.split("/")
    fixed = next((i for i, part in enumerate(parts) if has_glob(part) or has_span_spec(part)), len(parts) - 1)
    return "/".join(parts[: min(fixed, len(parts) - 1)]) or "/"
