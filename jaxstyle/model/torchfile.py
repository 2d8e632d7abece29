"""PyTorch ``torch.save`` files (legacy or zip) read into numpy arrays without torch, safely:
an allow-listed unpickler refuses every global but ``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` and the torch storage types, and sizes are checked
before data is inflated."""
from __future__ import annotations

import io
import pickle
import struct
import zipfile
from typing import Callable, Mapping

import numpy as np

from ..errors import JaxstyleError

_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "ByteStorage": np.uint8, "CharStorage": np.int8, "ShortStorage": np.int16,
    "IntStorage": np.int32, "LongStorage": np.int64, "BoolStorage": np.bool_,
    "BFloat16Storage": None,
}


def _no_setstate(self, state):
    raise JaxstyleError("torch file: refusing to set the state of a loader object (crafted pickle)")


class _StorageType:
    __setstate__ = _no_setstate

    def __init__(self, name: str):
        self.name = name
        self.dtype = _DTYPES[name]


class _Storage:
    __setstate__ = _no_setstate

    def __init__(self, key: str, dtype, numel: int):
        self.key, self.dtype, self.numel = key, dtype, numel
        self.array: np.ndarray | None = None


class _TensorRef:
    __setstate__ = _no_setstate

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def materialise(self) -> np.ndarray:
        base = self.storage.array
        if base is None:
            raise JaxstyleError(f"torch file: storage {self.storage.key} has no data")
        n = int(np.prod(self.size)) if self.size else 1
        last = self.offset + sum((s - 1) * st for s, st in zip(self.size, self.stride)) if n else self.offset
        if self.offset < 0 or last >= base.size or any(st < 0 for st in self.stride):
            raise JaxstyleError("torch file: tensor view lies outside its storage (corrupt file)")
        if n > base.size:  # overlapping (e.g. stride-0) views could expand a tiny file to any size
            raise JaxstyleError("torch file: tensor has more elements than its storage (corrupt file)")
        item = base.itemsize
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:], shape=self.size, strides=tuple(st * item for st in self.stride)
        )
        return np.array(view)


def _rebuild_tensor_v2(storage, offset, size, stride, *_ignored):
    if not isinstance(storage, _Storage):
        raise JaxstyleError("torch file: tensor without a storage")
    return _TensorRef(storage, int(offset), tuple(size), tuple(stride))


def _ordered_dict(*args):
    from collections import OrderedDict
    return OrderedDict(*args)


class _TorchUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals a torch state dict needs."""

    ALLOWED: dict[tuple[str, str], Callable] = {
        ("collections", "OrderedDict"): _ordered_dict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    }
    STORAGES = frozenset(_DTYPES)

    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str):
        if module == "torch" and name in self.STORAGES:
            return _StorageType(name)  # a fresh object per load: nothing shared between files
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise JaxstyleError(
                f"refusing to load {module}.{name} from a weights pickle (not a plain tensor dict)"
            ) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise JaxstyleError(f"torch file: unexpected persistent id {str(pid)[:60]}")
        stype, key, _loc, numel = pid[1], str(pid[2]), pid[3], int(pid[4])
        if not isinstance(stype, _StorageType) or stype.dtype is None:
            raise JaxstyleError("torch file: unsupported storage type")
        if key not in self.storages:
            self.storages[key] = _Storage(key, stype.dtype, numel)
        return self.storages[key]


def _materialise(obj) -> dict[str, np.ndarray]:
    if not isinstance(obj, Mapping):
        raise JaxstyleError("torch file: top-level object is not a dict of tensors")
    out = {}
    for k, v in obj.items():
        if isinstance(v, _TensorRef):
            out[str(k)] = v.materialise()
    return out


def read_torch_pickle(data: bytes) -> dict[str, np.ndarray]:
    """Read a torch ``save`` file (legacy or zip) into numpy arrays, safely.

    Only ``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` and torch storage
    types are allowed as globals; anything else (``os.system``, ...) raises before it runs.
    """
    try:
        if data[:4] == b"PK\x03\x04":
            return _read_torch_zip(data)
        return _read_torch_legacy(data)
    except JaxstyleError:
        raise
    except Exception as e:  # truncated / garbage bytes
        raise JaxstyleError(f"not a readable torch weights file ({type(e).__name__}: {str(e)[:80]})") from None


def _read_torch_legacy(data: bytes) -> dict[str, np.ndarray]:
    f = io.BytesIO(data)
    storages: dict[str, _Storage] = {}
    plain = _TorchUnpickler(f, {})  # magic, protocol and sys_info hold no globals
    magic = plain.load()
    if magic != 0x1950A86A20F9469CFC6C:
        raise JaxstyleError("not a legacy torch file (bad magic number)")
    plain.load()  # protocol version
    plain.load()  # sys info
    obj = _TorchUnpickler(f, storages).load()
    keys = _TorchUnpickler(f, {}).load()
    if not isinstance(keys, list):
        raise JaxstyleError("torch file: bad storage key list")
    for key in keys:
        st = storages.get(str(key))
        (n,) = struct.unpack("<q", f.read(8))
        if st is None:
            raise JaxstyleError(f"torch file: data for unknown storage {key}")
        nbytes = n * np.dtype(st.dtype).itemsize
        raw = f.read(nbytes)
        if n != st.numel or len(raw) != nbytes:
            raise JaxstyleError(f"torch file: storage {key} truncated ({len(raw)} of {nbytes} bytes)")
        st.array = np.frombuffer(raw, st.dtype)
    return _materialise(obj)


_MAX_PICKLE_BYTES = 64 << 20  # a state dict's pickle is kilobytes; refuse to inflate more


def _read_torch_zip(data: bytes) -> dict[str, np.ndarray]:
    zf = zipfile.ZipFile(io.BytesIO(data))
    names = zf.namelist()
    pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
    if not pkl:
        raise JaxstyleError("torch zip file without data.pkl")
    prefix = pkl[0][: -len("data.pkl")]
    storages: dict[str, _Storage] = {}
    if zf.getinfo(pkl[0]).file_size > _MAX_PICKLE_BYTES:
        raise JaxstyleError("torch zip file: data.pkl is implausibly large (corrupt or a zip bomb)")
    obj = _TorchUnpickler(io.BytesIO(zf.read(pkl[0])), storages).load()
    for key, st in storages.items():
        info = zf.getinfo(f"{prefix}data/{key}")
        if info.file_size > max(st.numel, 0) * np.dtype(st.dtype).itemsize + 4096:
            raise JaxstyleError(f"torch zip file: storage {key} is larger than its {st.numel} elements (corrupt)")
        raw = zf.read(info)
        arr = np.frombuffer(raw, st.dtype)
        if arr.size < st.numel:
            raise JaxstyleError(f"torch file: storage {key} truncated")
        st.array = arr
    return _materialise(obj)
