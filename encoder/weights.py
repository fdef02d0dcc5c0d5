"""Reads and writes PyTorch checkpoints as numpy arrays, so conversion needs no torch."""

import json
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

from sentence_tfx.errors import InputError

_SAFETENSORS_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}
_TORCH_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a .safetensors file (bf16 is widened to float32, which numpy lacks)."""
    data = Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    body = memoryview(data)[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = body[begin:end]
        if info["dtype"] == "BF16":
            array = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] in _SAFETENSORS_DTYPES:
            array = np.frombuffer(raw, _SAFETENSORS_DTYPES[info["dtype"]])
        else:
            raise InputError(f"{path}: tensor {name!r} has unsupported dtype {info['dtype']}")
        tensors[name] = array.reshape(info["shape"]).copy()
    return tensors


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """Writes float32/int tensors in the safetensors layout (used for the tiny test model)."""
    names = {np.dtype(v): k for k, v in _SAFETENSORS_DTYPES.items()}
    header, chunks, offset = {}, [], 0
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array).tobytes()
        header[name] = {
            "dtype": names[array.dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    header_bytes = json.dumps(header).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(chunks))


class _TorchUnpickler(pickle.Unpickler):
    """Unpickles a torch zip checkpoint's data.pkl, building numpy arrays instead of torch tensors."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self._archive = archive
        self._prefix = prefix

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _TORCH_STORAGE_DTYPES:
            return _TORCH_STORAGE_DTYPES[name]
        if module == "collections" and name == "OrderedDict":
            return dict
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a torch checkpoint")

    def persistent_load(self, pid):
        _, dtype, key, _location, _numel = pid
        return np.frombuffer(self._archive.read(f"{self._prefix}/data/{key}"), dtype)


def _rebuild_tensor(storage, offset, size, stride, *_):
    itemsize = storage.dtype.itemsize
    return np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)
    ).copy()


def read_pytorch_bin(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a pytorch_model.bin in torch's zip format (torch >= 1.6), without torch."""
    if not zipfile.is_zipfile(path):
        raise InputError(
            f"{path}: legacy (pre-zip) torch checkpoint; re-save it with torch >= 1.6 "
            "or convert it to model.safetensors"
        )
    with zipfile.ZipFile(path) as archive:
        pickle_name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        prefix = pickle_name[: -len("/data.pkl")]
        with archive.open(pickle_name) as file:
            return _TorchUnpickler(file, archive, prefix).load()
