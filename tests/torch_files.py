"""Write torch ``save`` files (legacy and zip) without torch, for the weights tests.

The pickles reference ``torch._utils._rebuild_tensor_v2`` and ``torch.<X>Storage`` by
GLOBAL opcodes exactly as torch writes them; a pure-Python pickler subclass emits those
opcodes for stand-in objects, so no torch module has to exist.
"""
from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
STORAGE_NAMES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.float64): "DoubleStorage",
                 np.dtype(np.float16): "HalfStorage", np.dtype(np.uint8): "ByteStorage",
                 np.dtype(np.int8): "CharStorage", np.dtype(np.int16): "ShortStorage",
                 np.dtype(np.int32): "IntStorage", np.dtype(np.int64): "LongStorage"}


class Global:
    """Pickled as ``GLOBAL module name`` (callable so it may head a REDUCE)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *a):  # never called here; pickle only checks callable()
        raise AssertionError


REBUILD = Global("torch._utils", "_rebuild_tensor_v2")


class StorageRef:
    def __init__(self, key: str, array: np.ndarray):
        self.key, self.array = key, np.ascontiguousarray(array).reshape(-1)
        self.type = Global("torch", STORAGE_NAMES[self.array.dtype])


class Tensor:
    """Pickles as ``_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())``."""

    def __init__(self, storage: StorageRef, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def __reduce__(self):
        return REBUILD, (self.storage, self.offset, self.size, self.stride, False, OrderedDict())


def contiguous_stride(shape) -> tuple:
    st, acc = [], 1
    for s in reversed(shape):
        st.append(acc)
        acc *= s
    return tuple(reversed(st))


class _Pickler(pickle._Pickler):
    dispatch = dict(pickle._Pickler.dispatch)

    def save_global_stand_in(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[Global] = save_global_stand_in

    def __init__(self, file, location="cpu", extra_none=True):
        super().__init__(file, protocol=2)
        self.location, self.extra_none = location, extra_none

    def persistent_id(self, obj):
        if isinstance(obj, StorageRef):
            pid = ("storage", obj.type, obj.key, self.location, int(obj.array.size))
            return pid + ((None,) if self.extra_none else ())
        return None


def tensors(state: dict[str, np.ndarray]) -> tuple[OrderedDict, list[StorageRef]]:
    """Each array in its own storage (keys "1000", "1001", ...)."""
    out, storages = OrderedDict(), []
    for i, (name, arr) in enumerate(state.items()):
        arr = np.asarray(arr)
        st = StorageRef(str(1000 + i), arr)
        storages.append(st)
        out[name] = Tensor(st, 0, arr.shape, contiguous_stride(arr.shape))
    return out, storages


def dump_pickle(obj, **kw) -> bytes:
    f = io.BytesIO()
    _Pickler(f, **kw).dump(obj)
    return f.getvalue()


def legacy_bytes(state: dict[str, np.ndarray], main: bytes | None = None) -> bytes:
    """A legacy (non-zip) torch file: magic, protocol, sys_info, main pickle, keys, raw storages."""
    obj, storages = tensors(state)
    f = io.BytesIO()
    for header in (MAGIC, PROTOCOL_VERSION, {"protocol_version": PROTOCOL_VERSION, "little_endian": True,
                                             "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(header, f, protocol=2)
    f.write(dump_pickle(obj) if main is None else main)
    pickle.dump(sorted(s.key for s in storages), f, protocol=2)
    for st in sorted(storages, key=lambda s: s.key):
        f.write(struct.pack("<q", st.array.size))
        f.write(st.array.tobytes())
    return f.getvalue()


def zip_bytes(state: dict[str, np.ndarray], main: bytes | None = None, compress=zipfile.ZIP_STORED) -> bytes:
    """A torch >= 1.6 zip file: ``archive/data.pkl`` + ``archive/data/<key>``."""
    obj, storages = tensors(state)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf:
        zf.writestr("archive/data.pkl", dump_pickle(obj, extra_none=False) if main is None else main)
        for st in storages:
            zf.writestr(f"archive/data/{st.key}", st.array.tobytes())
        zf.writestr("archive/version", "3\n")
    return buf.getvalue()


def evil_pickle(sentinel, how: str = "os.system") -> bytes:
    """A protocol-2 pickle that, if its globals were resolved, would create ``sentinel``."""
    s = str(sentinel)
    if how == "os.system":  # hand-assembled so the module reads 'os', not 'posix'
        cmd = f"touch {s}".encode()
        return b"\x80\x02cos\nsystem\nX" + struct.pack("<I", len(cmd)) + cmd + b"\x85R."
    if how == "subprocess":
        import subprocess

        class E:
            def __reduce__(self):
                return subprocess.call, (["touch", s],)
        return pickle.dumps(E(), protocol=2, fix_imports=False)
    if how == "eval":
        code = f"open({s!r}, 'w').close()".encode()
        return b"\x80\x02cbuiltins\neval\nX" + struct.pack("<I", len(code)) + code + b"\x85R."
    if how == "inst":  # protocol-0 INST opcode: also goes through find_class
        return f"(S'touch {s}'\nios\nsystem\n.".encode()
    if how == "stack_global":  # protocol 4 STACK_GLOBAL
        import os

        class E:
            def __reduce__(self):
                return os.system, (f"touch {s}",)
        return pickle.dumps(E(), protocol=4)
    raise ValueError(how)
