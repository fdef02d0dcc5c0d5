from pathlib import Path

import numpy as np
import pytest

from sentence_tfx.encoder import weights

TESTDATA = Path(__file__).parent / "testdata"


def test_reads_a_real_torch_checkpoint_without_torch():
    """torch_checkpoint.bin was written by torch.save (torch 2.13) with views, strides and several dtypes."""
    tensors = weights.read_pytorch_bin(TESTDATA / "torch_checkpoint.bin")
    np.testing.assert_array_equal(tensors["linear.weight"], np.arange(12, dtype=np.float32).reshape(3, 4))
    np.testing.assert_array_equal(tensors["linear.bias"], np.array([0.5, -1.0, 2.0], np.float32))
    np.testing.assert_array_equal(tensors["transposed"], np.arange(6, dtype=np.float32).reshape(2, 3).T)
    np.testing.assert_array_equal(tensors["half"], np.array([1.5, -2.25], np.float16))
    np.testing.assert_array_equal(tensors["ids"], np.array([[1, 2], [3, 4]], np.int64))
    np.testing.assert_array_equal(tensors["offset_view"], np.array([4, 5, 6], np.float32))


def test_safetensors_round_trip(tmp_path):
    tensors = {
        "a": np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32),
        "b": np.arange(7, dtype=np.int64),
        "c": np.array([True, False]),
    }
    weights.write_safetensors(tmp_path / "m.safetensors", tensors)
    loaded = weights.read_safetensors(tmp_path / "m.safetensors")
    assert loaded.keys() == tensors.keys()
    for name, value in tensors.items():
        np.testing.assert_array_equal(loaded[name], value)
        assert loaded[name].dtype == value.dtype


def test_legacy_torch_format_is_refused_with_a_hint(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(b"\x80\x02legacy pickle")
    with pytest.raises(ValueError, match="legacy .*safetensors"):
        weights.read_pytorch_bin(path)
