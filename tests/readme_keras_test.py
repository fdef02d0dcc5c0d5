"""README "Use the encoder in your own Keras model": its Python blocks, run as written, in order, in a fresh Python
(so a missing import fails as it would for a reader), with out/minilm pointing at the tiny test encoder."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # A fresh TensorFlow process and three one-step fits: about a minute of CPU.
README = Path(__file__).parents[1] / "README.md"
SECTION = "## Use the encoder in your own Keras model"
MODELS = ("frozen_model", "finetuned_model", "ids_model")  # What the three pattern blocks build, in order.

# Run after the blocks: what each pattern built and what one step of fit did to the encoder's weights.
INSPECT = """
import json as _json
_exported = {v.name: v.numpy() for v in hub.load("out/minilm/sentence_encoder").variables}
_report = {}
for _name in _MODELS:
    _model = globals()[_name]
    (_layer,) = [layer for layer in _model.layers if isinstance(layer, hub.KerasLayer)
                 and layer.get_config()["handle"] == "out/minilm/sentence_encoder"]
    _report[_name] = {
        "inputs": [[tensor.dtype.name, tensor.shape.as_list()] for tensor in _model.inputs],
        "dense_on_encoder": _model.layers[-1].input is _layer.output,
        "output_shape": list(_model.output_shape),
        "steps": int(_model.optimizer.iterations.numpy()),
        "learning_rate": float(_model.optimizer.learning_rate.numpy()),
        "trainable_encoder_variables": len(_layer.trainable_weights),
        "changed_encoder_variables": sum(
            not (variable.numpy() == _exported[variable.name]).all() for variable in _layer.weights
        ),
        "encoder_variables": len(_layer.weights),
        "exported_variables": len(_exported),
    }
print("REPORT " + _json.dumps(_report))
"""


def readme_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_readme_keras_blocks_run_as_written(tiny_export, tmp_path):
    blocks = readme_blocks()
    assert len(blocks) == 4  # Imports and data, then the three patterns.
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "minilm").symlink_to(tiny_export)
    script = tmp_path / "readme_keras.py"
    script.write_text("\n".join(blocks) + f"\n_MODELS = {MODELS!r}\n" + INSPECT, encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_USE_LEGACY_KERAS", None)  # The README's own first line must set it.
    run = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.rsplit("REPORT ", 1)[1])

    text_inputs = [["string", [None]]]
    assert [report[name]["inputs"] for name in MODELS] == [text_inputs, text_inputs, [["int32", [None, 128]]]]
    for name in MODELS:
        assert report[name]["dense_on_encoder"], name  # Dense directly on the layer's output tensor.
        assert report[name]["output_shape"] == [None, 2] and report[name]["steps"] == 1, name
    frozen, finetuned, ids = (report[name] for name in MODELS)
    assert frozen["trainable_encoder_variables"] == ids["trainable_encoder_variables"] == 0
    assert frozen["changed_encoder_variables"] == ids["changed_encoder_variables"] == 0
    assert (
        finetuned["trainable_encoder_variables"]
        == finetuned["encoder_variables"]
        == finetuned["exported_variables"]
        == 37
    )
    assert finetuned["changed_encoder_variables"] == 37  # One step of fit reached every encoder weight...
    assert 1e-5 <= finetuned["learning_rate"] <= 1e-4  # ...at a fine-tuning learning rate, not Adam's 1e-3.
