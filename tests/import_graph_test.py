"""Imports flow one way: leaf modules (config, features, errors) ← encoder, schemas, serving ← components ← pipeline;
the model server needs only the leaf modules. Checked twice: statically over every source file (imports inside
functions included), and by importing each package in a fresh interpreter and looking at sys.modules."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEAVES = ("sentence_tfx.config", "sentence_tfx.features", "sentence_tfx.errors", "sentence_tfx.keras2")
# Subpackage → the project packages its (non-test) modules may import, besides the leaf modules and itself.
ALLOWED = {
    "sentence_tfx": set(),
    "encoder": set(),
    "schemas": set(),
    "serving": set(),
    "components": {"sentence_tfx.encoder", "sentence_tfx.schemas", "sentence_tfx.serving"},
    "pipeline": {"sentence_tfx.components", "sentence_tfx.encoder", "sentence_tfx.schemas", "sentence_tfx.serving"},
}


def _project_imports(path: Path) -> set[str]:
    """Every sentence_tfx module a file imports, at any depth of the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("sentence_tfx.")}


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_each_folder_imports_only_what_lies_below_it(folder):
    own = "sentence_tfx" if folder == "sentence_tfx" else f"sentence_tfx.{folder}"
    allowed = {own, *LEAVES, *ALLOWED[folder]}
    offending = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        if path.name.endswith("_test.py") or path.name == "conftest.py":
            continue  # Tests may build whatever fixture they need.
        bad = sorted(
            name
            for name in _project_imports(path)
            if not any(name == prefix or name.startswith(prefix + ".") for prefix in allowed)
            and not (
                folder == "sentence_tfx"
                and name.startswith(
                    (
                        "sentence_tfx.components.data_validation",
                        "sentence_tfx.components.example_gen.quarantine",
                        "sentence_tfx.components.report.component",
                    )
                )
            )
        )
        if bad:
            offending[str(path.relative_to(ROOT))] = bad
    assert not offending, f"imports against the flow: {offending}"


def _modules_after_import(*modules: str) -> set[str]:
    """sys.modules of a fresh interpreter after importing `modules`, with the Keras switch unset (as in a new shell)."""
    code = f"import json, sys\nfor m in {list(modules)!r}: __import__(m)\nprint(json.dumps(sorted(sys.modules)))"
    env = {key: value for key, value in os.environ.items() if key != "TF_USE_LEGACY_KERAS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/", env=env)
    return set(json.loads(out.stdout.splitlines()[-1]))


def _all_modules(package_folder: str) -> list[str]:
    return [
        "sentence_tfx."
        + ".".join((package_folder, *path.relative_to(ROOT / package_folder).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        for path in sorted((ROOT / package_folder).rglob("*.py"))
        if not path.name.endswith("_test.py") and path.name != "conftest.py"
    ]


def test_leaf_modules_import_nothing_heavy():
    loaded = _modules_after_import(*LEAVES)
    assert {name for name in loaded if name.startswith("sentence_tfx")} == {"sentence_tfx", *LEAVES}
    assert not {"tensorflow", "tfx", "numpy"} & loaded


def test_components_never_load_the_pipeline():
    loaded = _modules_after_import(*_all_modules("components"))
    assert not {name for name in loaded if name.startswith("sentence_tfx.pipeline")}


def test_the_model_server_loads_neither_trainer_nor_transform():
    loaded = _modules_after_import(*_all_modules("serving"))
    assert "sentence_tfx.serving.server" in loaded
    forbidden = {"tensorflow_transform", "tf_keras", "tfx", "sentence_tfx.components", "sentence_tfx.pipeline"}
    assert not {name for name in loaded if name.split(".")[0] in forbidden or name.startswith(tuple(forbidden))}


def test_the_encoder_converter_stands_alone():
    loaded = _modules_after_import(*_all_modules("encoder"))
    assert not {name for name in loaded if name.startswith(("sentence_tfx.components", "sentence_tfx.pipeline"))}
    assert "tfx" not in loaded


def test_installed_packages_do_not_take_generic_names():
    """Everything installs under sentence_tfx: no `pipeline`, `components`, `encoder`... in site-packages."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.metadata as m; print(m.distribution('sentence-tfx').read_text('top_level.txt') or '')",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() in ([], ["sentence_tfx"])
    for generic in ("pipeline", "components", "encoder", "serving", "schemas"):
        found = subprocess.run(
            [sys.executable, "-c", f"import importlib.util as u; print(u.find_spec({generic!r}) is None)"],
            capture_output=True,
            text=True,
            check=True,
            cwd="/",
        )
        assert found.stdout.strip() == "True", f"`import {generic}` resolves outside the source tree"
