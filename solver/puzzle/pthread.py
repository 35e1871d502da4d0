"""Read torch ``.pth`` state dicts into numpy arrays without importing torch.

Workers run on nodes without torch, and a file someone handed us must never be
unpickled freely: this unpickler admits only the few globals a saved tensor needs.
"""
from __future__ import annotations

import collections
import io
import pickle
import zipfile

import numpy as np

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16",
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class PthError(ValueError):
    """A .pth file that is not a readable torch state dict of plain tensors."""


class _StorageType:
    def __init__(self, name: str):
        self.name = name


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    data = storage
    if not size:
        return np.array(data[offset])
    itemsize = data.itemsize
    view = np.lib.stride_tricks.as_strided(
        data[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)
    )
    return np.array(view)


def _rebuild_parameter(tensor, *_ignored):
    return tensor


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, stream, archive: zipfile.ZipFile, prefix: str, byteorder: str):
        super().__init__(stream)
        self._archive = archive
        self._prefix = prefix
        self._byteorder = "<" if byteorder == "little" else ">"
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise PthError(f"refuses to load {module}.{name}: only plain tensors are allowed")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise PthError(f"unsupported persistent id {pid!r}")
        storage_type, key = pid[1], str(pid[2])
        if not isinstance(storage_type, _StorageType):
            raise PthError(f"unsupported storage type {storage_type!r}")
        if key not in self._storages:
            raw = self._archive.read(f"{self._prefix}data/{key}")
            dtype = _STORAGE_DTYPES[storage_type.name]
            if dtype == "bfloat16":
                halves = np.frombuffer(raw, dtype=self._byteorder + "u2").astype(np.uint32)
                arr = (halves << 16).view(np.float32)
            else:
                arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder(self._byteorder))
            self._storages[key] = arr
        return self._storages[key]


def read_state_dict(path) -> dict[str, np.ndarray]:
    """Return the tensors of a torch-saved dict as numpy arrays (any save device)."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return _read_legacy(path)
    with archive:
        names = archive.namelist()
        pkl = [n for n in names if n.endswith("data.pkl")]
        if len(pkl) != 1:
            raise PthError("not a torch archive (no data.pkl)")
        prefix = pkl[0][: -len("data.pkl")]
        byteorder = "little"
        if f"{prefix}byteorder" in names:
            byteorder = archive.read(f"{prefix}byteorder").decode().strip()
        stream = io.BytesIO(archive.read(pkl[0]))
        try:
            obj = _RestrictedUnpickler(stream, archive, prefix, byteorder).load()
        except PthError:
            raise
        except Exception as exc:  # corrupt pickle stream, truncated storage, ...
            raise PthError(f"unreadable torch archive ({exc})") from exc
    if not isinstance(obj, dict):
        raise PthError(f"holds a {type(obj).__name__}, expected a state dict")
    return dict(obj)


def _read_legacy(path) -> dict[str, np.ndarray]:
    # Pre-1.6 torch files are not zip archives; only torch itself reads them.
    try:
        import torch
    except ImportError as exc:
        raise PthError("not a zip-format torch file (legacy format needs torch installed)") from exc
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise PthError(f"not a torch file ({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(obj, dict):
        raise PthError(f"holds a {type(obj).__name__}, expected a state dict")
    return {k: v.detach().cpu().numpy() if hasattr(v, "detach") else v for k, v in obj.items()}
