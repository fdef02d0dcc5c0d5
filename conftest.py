"""Shared test fixtures: the tiny test encoder (seconds) and the real all-MiniLM-L6-v2 export (cached)."""

import sentence_tfx.keras2  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import pytest

TINY_SEQ_LENGTH = 16


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from sentence_tfx.encoder import tiny

    return tiny.write(tmp_path_factory.mktemp("tiny_st"))


@pytest.fixture(scope="session")
def tiny_export(tiny_model_dir, tmp_path_factory):
    from sentence_tfx.encoder import export

    out = tmp_path_factory.mktemp("tiny_export")
    export.export(out, tiny_model_dir, seq_length=TINY_SEQ_LENGTH)
    return out


@pytest.fixture(scope="session")
def minilm_export():
    """The default encoder, converted once per machine (the cache is keyed by the source's content hash)."""
    from sentence_tfx.encoder import export

    return export.cached_export()


@pytest.fixture(scope="session")
def free_ports():
    """free_ports(n) → n distinct TCP ports on 127.0.0.1 that nothing listens on right now."""
    from sentence_tfx.pipeline import beam_services

    return beam_services.free_ports
