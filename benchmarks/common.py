"""What the benchmarks and experiments share: paths, the timing helpers, the Gatys objective, the weights.

Imported as ``from benchmarks import common`` by scripts run with ``python -m benchmarks.speed.<name>``
(or ``benchmarks.experiments.<name>``) from the repository root.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jaxstyle  # noqa: F401  (sets the CPU XLA flags before JAX starts)
import jax
import jax.numpy as jnp
import numpy as np

from jaxstyle import images
from jaxstyle.model import vgg
from jaxstyle.transfer import objective as O, optimize, stylize as S

ROOT = Path(__file__).resolve().parent.parent

EXAMPLES = ROOT / "jaxstyle" / "data" / "examples"
CONTENT = EXAMPLES / "dog.jpg"
STYLE = EXAMPLES / "starry_night.jpg"
PRESET = O.PRESETS["default"]
WEIGHTS = {"content": PRESET["content_weight"], "style": PRESET["style_weight"], "tv": PRESET["tv_weight"]}
MASKED = ROOT.parent / "shared" / "data" / "masked"


# --------------------------------------------------------------------------- helpers
def log(*a):
    print(*a, file=sys.stderr, flush=True)


def loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def cpu_model() -> str:
    from jaxstyle import machine

    return machine.cpu_line()


def versions() -> dict:
    from importlib import metadata

    v = {}
    for p in ("jax", "jaxlib", "jaxopt", "numpy", "torch"):
        try:
            v[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            v[p] = "absent"
    v["python"] = platform.python_version()
    return v


def parser(doc: str, **kw) -> argparse.ArgumentParser:
    """The script's parser, described by the first paragraph of its docstring ``doc``; first the CPU
    line goes to stderr, so that every table names the machine it was measured on."""
    print(f"cpu: {cpu_model()}", file=sys.stderr, flush=True)
    return argparse.ArgumentParser(description=doc.split("\n\n")[0], **kw)


def child(code: str, *args, env: dict, unset: tuple[str, ...] = ()) -> str:
    """The stdout of ``python -c code ROOT *args`` in a fresh process, with ``env`` added to the environment
    and ``unset`` taken out, run in the repository root (``-c`` puts the working directory on the import path)."""
    env = {k: v for k, v in dict(os.environ, **env).items() if k not in unset}
    r = subprocess.run([sys.executable, "-c", code, str(ROOT), *map(str, args)], env=env,
                       cwd=ROOT, capture_output=True, text=True, check=True)
    return r.stdout


def block(x):
    return jax.block_until_ready(x)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(x, nd=3):
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{x:.{nd}g}" if abs(x) < 1000 else f"{x:.0f}"


def interleave(contenders: dict, reps: int) -> dict[str, list[float]]:
    """Time each callable ``reps`` times, rotating the order every round; returns seconds lists."""
    names = list(contenders)
    out = {n: [] for n in names}
    for r in range(reps):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            t = time.perf_counter()
            contenders[n]()
            out[n].append(time.perf_counter() - t)
    return out


def jax_objective(size: int, conv: str = "auto", dtype=None):
    """(f, args, x0, style targets, content target): the Gatys objective ``f(x, args)`` as ``stylize`` builds it.

    ``dtype``: the same objective with the VGG pass in ``dtype`` (the bf16 experiment; gpu.py's rows).
    """
    params = vgg.prepare(vgg_params(), conv)
    content = jnp.asarray(images.load_image(CONTENT, size))
    style = images.load_image(STYLE, max(2 * size, 64))
    tg = O.style_targets(params, [style], [1.0], O.GATYS_STYLE_LAYERS, size, 1.0, "max")
    ct = vgg.features(params, content, (O.CONTENT_LAYER,))[O.CONTENT_LAYER]
    spec = dict(style_layers=O.GATYS_STYLE_LAYERS, content_target=ct, style_targets=tg, channels={},
                layer_weights={l: 1.0 / len(O.GATYS_STYLE_LAYERS) for l in O.GATYS_STYLE_LAYERS}, region=None,
                base=content, normalize=PRESET["normalize"], weights=WEIGHTS, pooling="max")
    f, fargs = O.make(params, spec)
    if dtype is not None:
        f0 = f

        def f(x, a):
            orig = vgg.apply
            vgg.apply = lambda *p_, **k: orig(*p_, **dict(k, dtype=dtype))
            try:
                return f0(x, a)
            finally:
                vgg.apply = orig
    return f, fargs, content, tg, ct


_PARAMS = {}  # the VGG-19 weights, loaded once per process


def vgg_params():
    """The VGG-19 weights (``weights.load``; ``$JAXSTYLE_WEIGHTS``), loaded once per process."""
    if "p" not in _PARAMS:
        from jaxstyle.model import weights

        _PARAMS["p"] = weights.load()[0]
    return _PARAMS["p"]


def gain_trace(photo: Path, size: int, iterations: int, scales, chunk: int = 5, stop=None, *,
               style: Path = STYLE, method: str = "auto", region=None, params=None, grams=None,
               plateau: int | None = None, cold: bool = True, **stylize_kw):
    """[(seconds, iteration, gain, loss)] at the full-size level of a ``method`` run on ``photo``.

    The gain (``metrics.style_gains``) is on ``region``, by default the object region of the
    photo's ``NAME_mask.png``; the loss is the full-size objective's, comparable across
    schedules. The metric runs inline on every chunk of the full-size level with the clock
    paused, so a run can stop as soon as it reaches ``stop = (gain, loss)``: a gain at least
    and a loss at most these, and (with ``plateau``) once its best gain has not risen by
    0.005 for ``plateau`` iterations, so that the best gain of the run is about known.
    ``stylize_kw`` go to ``stylize_iter`` (e.g. ``detail``). ``cold=False`` keeps the programs
    an earlier run of the same shapes compiled (a warm persistent cache, without its loading).
    """
    from jaxstyle.evaluate import metrics

    params = vgg_params() if params is None else params
    if cold:
        optimize.clear_caches()  # each run pays its own compilation
    grams = metrics.style_grams(params, images.load_image(style, size)) if grams is None else grams
    con = images.load_image(photo, size)
    if region is None:
        mask = images.load_mask(photo.with_name(photo.stem + "_mask.png"), con.shape[:2])
        region, _ = metrics.regions(mask, metrics.band_radius(mask.shape))
    pts, paused, best_at, best_seen = [], 0.0, 0, -np.inf
    t0 = time.perf_counter()
    for p in S.stylize_iter(str(photo), str(style), method=method, class_name="dog", size=size,
                            iterations=iterations, scales=scales, params=params, chunk=chunk, **stylize_kw):
        if p.result is not None:
            break
        if p.scale == p.num_scales - 1:
            img = np.asarray(p.image)  # blocks until the chunk is done
            t = time.perf_counter()
            gain = float(metrics.style_gains(params, images.to_uint8(img).astype(np.float32), con, grams,
                                             [region])["gain"][0])
            pts.append((t - t0 - paused, p.done, gain, p.loss))
            paused += time.perf_counter() - t
            if gain > best_seen + 0.005:  # the best gain moved (by more than a rounding's worth)
                best_seen, best_at = gain, p.done
            if (stop is not None and gain >= stop[0] - 1e-9 and p.loss <= stop[1]
                    and (plateau is None or p.done - best_at >= plateau)):
                break
    return pts


def timed(fn, x, reps: int) -> float:
    """Median wall ms of ``fn(x)`` (compiled first)."""
    jax.block_until_ready(fn(x))
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        jax.block_until_ready(fn(x))
        out.append(time.perf_counter() - t)
    return 1e3 * float(np.median(out))
