#!/usr/bin/env bash
# Regenerates the op lists of stock TensorFlow Serving 2.16, which links the
# TF 2.16 core ops plus TensorFlow Text 2.12.1's ops (tensorflow/serving 2.16.1
# pins org_tensorflow_text to v2.12.1 and links its //tensorflow_text:ops_lib).
# An exported SavedModel that should run there may only use ops from these lists.
#
#   tf_core_2_16_ops.txt      - project .venv (TF 2.16.x), without tensorflow_text
#   tf_text_2_12_1_ops.txt    - throwaway Python 3.10 venv with tensorflow(-text)==2.12.1
#                               (downloads ~600 MB; deleted on exit)
#
# Usage: bash encoder/serving_ops/generate_op_lists.sh  [PY310=/path/to/python3.10]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
venv_py="$repo/.venv/bin/python"
py310=${PY310:-$HOME/.pyenv/versions/3.10.13/bin/python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore

# list_ops.py core: every op registered after `import tensorflow`.
# list_ops.py text: every op of each *.so in the tensorflow_text package, loaded the way
# tf.load_op_library does (TF >= 2 no longer sets the module's OP_LIST, so read the
# library's OpList directly), then cross-checked against a plain `import tensorflow_text`.
cat > "$tmp/list_ops.py" <<'PY'
import glob, importlib.util, os, sys
import tensorflow  # noqa: F401  (registers the core ops)
from tensorflow.core.framework import op_def_pb2
from tensorflow.python.client import pywrap_tf_session as c

def parse(buf):
    ol = op_def_pb2.OpList()
    ol.ParseFromString(buf)
    return {o.name for o in ol.op}

def registered():
    return parse(c.TF_GetBuffer(c.TF_GetAllOpList()))

def lib_ops(so):
    handle = c.TF_LoadLibrary(so)
    try:
        return parse(c.TF_GetOpList(handle))
    finally:
        c.TF_DeleteLibraryHandle(handle)

core = registered()
if sys.argv[1] == "core":
    assert "tensorflow_text" not in sys.modules
    ops = core
else:
    pkg = os.path.dirname(importlib.util.find_spec("tensorflow_text").origin)
    ops, failed = set(), []
    for so in sorted(glob.glob(pkg + "/**/*.so", recursive=True)):
        try:
            names = lib_ops(so)
        except Exception as e:  # retried after `import tensorflow_text` below
            failed.append(so)
            print(f"standalone load failed: {so}: {e}", file=sys.stderr)
            continue
        print(f"  {os.path.relpath(so, pkg)}: {len(names)} ops", file=sys.stderr)
        ops |= names
    import tensorflow_text  # noqa: F401
    for so in failed:
        ops |= lib_ops(so)
    missed = registered() - core - ops
    assert not missed, f"registered by tensorflow_text but in no .so: {missed}"
    assert not ops & core, f"tensorflow_text ops clashing with core: {ops & core}"
assert ops
print("\n".join(sorted(ops)))
PY

version() { "$1" -c "import importlib.metadata as m; print(m.version('$2'))"; }

echo "TF core ops from $venv_py" >&2
"$venv_py" "$tmp/list_ops.py" core > "$tmp/core"
"$venv_py" "$tmp/list_ops.py" text > "$tmp/text_project" 2>/dev/null
tf_new=$(version "$venv_py" tensorflow)
text_new=$(version "$venv_py" tensorflow-text)

echo "TF Text 2.12.1 ops from a throwaway venv in $tmp" >&2
"$py310" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --disable-pip-version-check tensorflow==2.12.1 tensorflow-text==2.12.1
"$tmp/venv/bin/python" "$tmp/list_ops.py" text > "$tmp/text"

today=$(date -u +%F)
{
  echo "# Ops registered by TensorFlow $tf_new core: the TF 2.16 core ops that stock TF Serving 2.16 links."
  echo "# Generated $today by encoder/serving_ops/generate_op_lists.sh"
  echo "# (TF_GetAllOpList after \`import tensorflow\` in the project .venv, tensorflow_text not imported)."
  echo "# These are op definitions, not kernels: a few (e.g. PyFunc, EagerPyFunc) cannot run in a model server."
  cat "$tmp/core"
} > "$here/tf_core_2_16_ops.txt"
{
  echo "# Ops registered by tensorflow-text 2.12.1, the TF Text that stock TF Serving 2.16 links."
  echo "# Generated $today by encoder/serving_ops/generate_op_lists.sh"
  echo "# (each tensorflow_text/**/*.so of the 2.12.1 wheel loaded under TF 2.12.1, Python 3.10;"
  echo "# cross-checked against \`import tensorflow_text\`)."
  echo "# In tensorflow-text $text_new (project .venv) but NOT here, so not servable by stock TF Serving 2.16:"
  comm -13 "$tmp/text" "$tmp/text_project" | sed 's/^/#   /'
  cat "$tmp/text"
} > "$here/tf_text_2_12_1_ops.txt"
wc -l "$tmp/core" "$tmp/text" >&2
