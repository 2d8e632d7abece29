#!/usr/bin/env python3
"""jaxstyle speed benchmarks against a PyTorch Gatys baseline, in one invocation.

    python -m benchmarks.speed.bench            # full run (~10–15 min on a 2-core CPU)
    python -m benchmarks.speed.bench --quick    # small sizes, a few minutes
    python -m benchmarks.speed.bench --device   # print the device / versions and exit

Sections (``--only a,l,b,c,g,d,s,x``):

a  seconds per function evaluation (value + gradient of the Gatys objective) at 256/512 px:
   jaxstyle (jit; default Winograd and --conv direct) vs PyTorch fp32 and bf16 autocast, identical targets.
b  wall time of the whole ``scripts/stylize.py --method gatys --size 384 --iterations 100``
   command (start-up and compilation included) vs ``benchmarks/speed/torch_gatys.py`` (torch.optim.LBFGS,
   100 iterations, same objective); subprocesses, contenders alternated.
c  time to the same full-resolution loss: default coarse-to-fine schedule vs a single-scale loop.
g  time to the same object style gain (``gain_obj``, docs/METRICS.md): ``auto`` on a masked dog photo,
   default coarse-to-fine schedule vs a single-scale loop (the issue's criterion for c).
d  scoring throughput (images/s, forward to conv5_1 + per-filter max/argmax/mean, 224 px, batch 16)
   vs the PyTorch forward pass (jaxstyle default Winograd and direct convolutions).
s  solver: projected L-BFGS (1 evaluation/iteration) vs jaxopt LBFGSB, loss after the same wall time.
l  the L-BFGS chunk as one ``lax.fori_loop`` program (before 9823962) vs one jitted step per iteration (now).
x  compile time of value+grad: weights/targets closed over (constants; before f3271f1) vs arguments (now).

The machine may be shared: every ratio compares runs of the same invocation, contenders are
interleaved and repeated, medians are reported, and the load average is printed. PyTorch
rows are skipped (not failed) when torch is not installed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import (CONTENT, MASKED, ROOT, STYLE, WEIGHTS, block, cpu_model, fmt,  # noqa: F401
                               gain_trace, interleave, jax_objective, loadavg, log, median, versions, vgg_params)
import jax
import jax.numpy as jnp
import numpy as np

from jaxstyle import images
from jaxstyle.allocator import ENV as KEPT_MEMORY_ENV, keep_freed_memory
from jaxstyle.transfer import optimize
from jaxstyle.select.probes import scoring
from jaxstyle.model import vgg
from jaxstyle.transfer import stylize as S

try:
    import torch
    from benchmarks.speed import torch_gatys as TG
except ImportError:  # optional bench extra
    torch = None
    TG = None


def device_info() -> dict:
    d = jax.devices()[0]
    info = {"jax_backend": jax.default_backend(), "jax_devices": f"{len(jax.devices())} x {d.device_kind}",
            "cpu": cpu_model(), "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""), "load": loadavg()}
    info.update(versions())
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
    return info


_TORCH = {}  # PyTorch's VGG-19, loaded once per process


def torch_params():
    if "t" not in _TORCH:
        _TORCH["t"] = TG.load_vgg(os.environ.get("JAXSTYLE_WEIGHTS") or ROOT / "weights" / "vgg19.npz")
    return _TORCH["t"]


def torch_targets(tg, ct):
    return {"style": {l: torch.from_numpy(np.array(tg[l])) for l in TG.STYLE_LAYERS},
            "content": torch.from_numpy(np.array(ct)).permute(2, 0, 1)[None].contiguous()}


# --------------------------------------------------------------------------- (a) per evaluation
JAX_DEFAULT = "jaxstyle fp32 (default: Winograd blocks 2-5 on CPU)"
JAX_DIRECT = "jaxstyle fp32, --conv direct (XLA convolutions)"


def bench_eval(sizes, reps) -> list[dict]:
    rows = []
    for size in sizes:
        log(f"[a] {size} px: building objectives (load {loadavg()})")
        f, fargs, x0, tg, ct = jax_objective(size)
        x = jnp.clip(x0 + jax.random.normal(jax.random.PRNGKey(1), x0.shape) * 10.0, 0.0, 255.0)
        contenders, compile_s, values = {}, {}, {}
        for name, conv in ((JAX_DEFAULT, "auto"), (JAX_DIRECT, "direct")):
            args = dict(fargs, params=vgg.prepare(fargs["params"], conv))
            t = time.perf_counter()
            c = jax.jit(jax.value_and_grad(f, has_aux=True)).lower(x, args).compile(optimize.compiler_options())
            compile_s[name] = time.perf_counter() - t
            (v, _), g = block(c(x, args))
            values[name] = float(v)
            contenders[name] = (lambda c=c, args=args: block(c(x, args)))
        if TG is not None:
            tp = torch_params()
            ttg = torch_targets(tg, ct)
            xt = torch.from_numpy(np.array(x))
            for name, bf in (("PyTorch fp32", False), ("PyTorch bf16 autocast", True)):
                tf = TG.make_objective(tp, ttg, bf16=bf, weights=WEIGHTS)
                v, _ = TG.value_and_grad(tf, xt)
                values[name] = float(v)
                contenders[name] = (lambda tf=tf: TG.value_and_grad(tf, xt))
        times = interleave(contenders, reps)
        ref = median(times["PyTorch fp32"]) if "PyTorch fp32" in times else None
        base = values[JAX_DIRECT]
        for name, ts in times.items():
            m = median(ts)
            rows.append(dict(size=f"{x0.shape[1]}x{x0.shape[0]}", impl=name, s_per_eval=m, min=min(ts),
                             vs_torch=(ref / m if ref else None), compile_s=compile_s.get(name),
                             loss_rel_diff=abs(values[name] - base) / abs(base), reps=len(ts)))
        log(f"[a] {size} px done: " + ", ".join(f"{n} {median(t):.3f}s" for n, t in times.items()))
    return rows


# --------------------------------------------------------------------------- (b) whole command
def bench_command(size, iterations, reps, variants) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="jaxstyle-bench-"))
    py = sys.executable
    env = dict(os.environ)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env["JAXSTYLE_COMPILATION_CACHE"] = "0"  # the CLI turns a cache on by default (7826ed7): cold unless a row says so
    cmds = {
        "jaxstyle (default schedule)": ([py, "scripts/stylize.py", "--method", "gatys", "--size", str(size),
                                         "--iterations", str(iterations), "--quiet", "--force",
                                         "--out", str(tmp / "jax.png")], env),
    }
    if "direct" in variants:
        cmds["jaxstyle --conv direct (XLA convolutions)"] = (
            cmds["jaxstyle (default schedule)"][0][:-1] + [str(tmp / "jaxd.png"), "--conv", "direct"], env)
    if "scales1" in variants:
        cmds["jaxstyle --scales 1 (same iterations at full size)"] = (
            cmds["jaxstyle (default schedule)"][0][:-1] + [str(tmp / "jax1.png"), "--scales", "1"], env)
    if "short" in variants:  # equal quality rather than equal work: compare its final loss with PyTorch's
        short = max(1, iterations // 5)
        c = cmds["jaxstyle (default schedule)"][0]
        c = c[:c.index("--iterations") + 1] + [str(short)] + c[c.index("--iterations") + 2:]
        cmds[f"jaxstyle --iterations {short} (1/5 of the iterations)"] = (c[:-1] + [str(tmp / "jax5.png")], env)
    if TG is not None:
        cmds["PyTorch LBFGS (torch_gatys.py)"] = ([py, "-m", "benchmarks.speed.torch_gatys", "--size", str(size),
                                                  "--iterations", str(iterations), "--out", str(tmp / "torch.png"),
                                                  "--content-weight", str(WEIGHTS["content"]),
                                                  "--style-weight", str(WEIGHTS["style"]),
                                                  "--tv-weight", str(WEIGHTS["tv"])], env)
        if "malloc" in variants:  # the PyTorch loop under the allocator setting jaxstyle's CLI applies
            c = list(cmds["PyTorch LBFGS (torch_gatys.py)"][0])
            c[c.index("--out") + 1] = str(tmp / "torchm.png")
            cmds["PyTorch LBFGS, jaxstyle's allocator setting"] = (c, dict(env, **KEPT_MEMORY_ENV))
    if "cache" in variants:  # a warm twin of each jaxstyle row, its cache filled by one untimed run first
        for name in [n for n in cmds if n.startswith("jaxstyle")]:
            c, _ = cmds[name]
            warm_env = dict(env, JAXSTYLE_COMPILATION_CACHE="1",  # the package's own cache settings, as shipped
                            JAXSTYLE_COMPILATION_CACHE_DIR=str(tmp / f"cache{len(cmds)}"))
            warm = list(c)
            warm[warm.index("--out") + 1] = str(tmp / f"warm{len(cmds)}.png")
            log(f"[b] filling the compilation cache of {name}")
            subprocess.run(warm, env=warm_env, cwd=ROOT, capture_output=True, text=True, check=True)
            cmds[f"{name}, warm compilation cache"] = (warm, warm_env)
    outs = {}

    def runner(name):
        c, e = cmds[name]

        def go():
            log(f"[b] {name} (load {loadavg()})")
            r = subprocess.run(c, env=e, cwd=ROOT, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"{name} failed: {r.stderr[-2000:]}")
            outs[name] = c[c.index("--out") + 1]
        return go

    # cold rows never write a cache; rounds rotate the order
    times = interleave({n: runner(n) for n in cmds}, reps)
    # quality: the same full-size objective evaluated on every output image
    f, fargs, *_ = jax_objective(size)
    fj = jax.jit(f)
    losses = {n: float(fj(jnp.asarray(images.load_image(p)), fargs)[0]) for n, p in outs.items()}
    ref = median(times.get("PyTorch LBFGS (torch_gatys.py)", []))
    rows = []
    for n, ts in times.items():
        m = median(ts)
        rows.append(dict(command=n, wall_s=m, torch_over_this=(ref / m if TG is not None else None),
                         final_loss=losses.get(n), reps=len(ts)))
    return rows


# --------------------------------------------------------------------------- (c) coarse-to-fine
def _trace(size, iterations, scales, stop_loss=None, chunk=5):
    """[(seconds since start, iteration, scale index, loss)] of a gatys stylize_iter run."""
    params = vgg_params()
    optimize.clear_caches()  # compiled steps are shared across calls: each run pays its own compilation
    pts = []
    t0 = time.perf_counter()
    for p in S.stylize_iter(str(CONTENT), str(STYLE), method="gatys", size=size, iterations=iterations,
                            scales=scales, params=params, chunk=chunk, class_name=None):
        if p.result is not None:
            break
        pts.append((time.perf_counter() - t0, p.done, p.scale, p.num_scales, p.loss))
        if stop_loss is not None and p.scale == p.num_scales - 1 and p.loss <= stop_loss:
            break
    return pts


def _compile_free(pts):
    """Subtract the first chunk's excess (compilation) at each scale: elapsed time without compiles."""
    extra = 0.0
    per_scale = {}
    for i, (t, it, sc, ns, loss) in enumerate(pts):
        per_scale.setdefault(sc, []).append(t - (pts[i - 1][0] if i else 0.0))
    for sc, d in per_scale.items():
        if len(d) > 1:
            extra += max(0.0, d[0] - median(d[1:]))
        per_scale[sc] = extra
    return [(t - per_scale[sc], it, sc, ns, loss) for (t, it, sc, ns, loss) in pts]


def _speedups(rows: list[dict], suffixes) -> None:
    """rows = [coarse-to-fine, single scale]: ``speedup{sfx}`` = single's ``s_to_target{sfx}`` / each row's;
    a lower bound ("> x") when the single-scale run never reached the target."""
    a, b = rows
    for sfx in suffixes:
        for r in rows:
            r["speedup" + sfx] = (b["s_to_target" + sfx] / r["s_to_target" + sfx]) if (
                b["s_to_target" + sfx] and r["s_to_target" + sfx]) else None
        if b["s_to_target" + sfx] is None and a["s_to_target" + sfx]:  # single scale never got there
            a["speedup" + sfx] = f"> {b['s_run'] / a['s_to_target' + sfx]:.2f}"  # a lower bound


def bench_c2f(size, iterations, single_max) -> list[dict]:
    log(f"[c] coarse-to-fine {size} px, {iterations} iterations (load {loadavg()})")
    c2f = _trace(size, iterations, None)
    target = c2f[-1][4]
    log(f"[c] single scale {size} px up to {single_max} iterations, stop at loss {target:.4g} (load {loadavg()})")
    one = _trace(size, single_max, 1, stop_loss=target)
    plan = optimize.schedule(size, iterations)
    rows = []
    for name, pts in (("coarse-to-fine " + "+".join(f"{n}@{s}" for s, n in plan), c2f),
                      ("single scale (--scales 1)", one)):
        hit = next((p for p in pts if p[2] == p[3] - 1 and p[4] <= target), None)
        hit_cf = next((p for p in _compile_free(pts) if p[2] == p[3] - 1 and p[4] <= target), None)
        rows.append(dict(run=name, iterations_to_target=hit[1] if hit else None, s_to_target=hit[0] if hit else None,
                         s_to_target_no_compile=hit_cf[0] if hit_cf else None, final_loss=pts[-1][4],
                         iterations_run=pts[-1][1], s_run=pts[-1][0]))
    _speedups(rows, ("", "_no_compile"))
    return rows


def bench_gain(photo: Path, size: int, iterations: int, single_max: int) -> list[dict]:
    if not photo.exists():
        log(f"[g] skipped: {photo} not found (needs ../shared/data/masked)")
        return []
    plan = optimize.schedule(size, iterations)
    log(f"[g] coarse-to-fine auto {size} px, {'+'.join(f'{n}@{s}' for s, n in plan)} on {photo.name} "
        f"(load {loadavg()})")
    c2f = gain_trace(photo, size, iterations, None)
    target, target_loss = c2f[-1][2], c2f[-1][3]
    log(f"[g] single scale {size} px, up to {single_max} iterations, stop at gain_obj {target:.3f} and "
        f"loss {target_loss:.4g} (load {loadavg()})")
    one = gain_trace(photo, size, single_max, 1, stop=(target, target_loss), plateau=15)
    bar = BAR * max(p[2] for p in one)  # a fixed quality: 95 % of the single scale's best gain
    rows = []
    for name, pts in (("coarse-to-fine " + "+".join(f"{n}@{s}" for s, n in plan), c2f),
                      ("single scale (--scales 1)", one)):
        hit = next((p for p in pts if p[2] >= target - 1e-9), None)
        hit_l = next((p for p in pts if p[3] <= target_loss), None)
        rows.append(dict(run=name, target_gain=target, iterations_to_target=hit[1] if hit else None,
                         s_to_target=hit[0] if hit else None, final_gain=pts[-1][2],
                         iterations_to_target_loss=hit_l[1] if hit_l else None,
                         s_to_target_loss=hit_l[0] if hit_l else None, final_loss=pts[-1][3],
                         iterations_run=pts[-1][1], s_run=pts[-1][0], bar=bar, s_to_bar=to_bar(pts, bar),
                         speedup_bar=bar_speedup(pts, one, bar),
                         gain_trace=" ".join(f"{it}:{g:.3f}/{l:.3g}" for _, it, g, l in pts[::2])))
    _speedups(rows, ("", "_loss"))
    return rows


BAR = 0.95


def to_bar(run, bar: float) -> float | None:
    """Seconds at which a ``gain_trace`` run first has a gain >= ``bar`` (None if never)."""
    return next((t for t, _, g, _ in run if g >= bar - 1e-9), None)


def bar_speedup(run, single, bar: float) -> float | str | None:
    """Single-scale seconds to the gain ``bar`` / ``run``'s seconds to it; ``"< x"`` / ``"> x"``
    bounds when only one of them gets there (by its whole run's seconds); None when neither does."""
    t, ts = to_bar(run, bar), to_bar(single, bar)
    if t is None:  # would need more than its whole run
        return None if ts is None else f"< {ts / run[-1][0]:.2f}"
    return ts / t if ts is not None else f"> {single[-1][0] / t:.2f}"


# --------------------------------------------------------------------------- (d) scoring
def bench_scoring(size, batch, n_batches, reps) -> list[dict]:
    params = vgg_params()
    layers = scoring.DEFAULT_LAYERS
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8) for _ in range(n_batches)]
    log(f"[d] scoring {size} px batch {batch} (load {loadavg()})")
    contenders, comp = {}, {}
    for name, conv in (("jaxstyle BatchScorer fp32 (default: Winograd on CPU)", "auto"),
                       ("jaxstyle BatchScorer fp32, direct convolutions", "direct")):
        scorer = scoring.BatchScorer(params, layers, per_device=batch // len(jax.devices()), conv=conv)
        t = time.perf_counter()
        scorer.fetch(scorer.dispatch(imgs[0]))
        comp[name] = time.perf_counter() - t

        def jax_run(scorer=scorer):  # pipelined as score_stream does: next batch dispatched before the last is fetched
            pending = None
            for b in imgs:
                h = scorer.dispatch(b)
                if pending is not None:
                    scorer.fetch(pending)
                pending = h
            scorer.fetch(pending)

        contenders[name] = jax_run
    if TG is not None:
        tp = torch_params()

        def torch_run(bf16):
            def go():
                with torch.inference_mode():
                    for b in imgs:
                        x = torch.from_numpy(b.astype(np.float32))
                        mean = torch.tensor(TG.CAFFE_MEAN_BGR)
                        x = (x.flip(-1) - mean).permute(0, 3, 1, 2)
                        if bf16:
                            with torch.autocast("cpu", dtype=torch.bfloat16):
                                feats = TG.features(tp, x, layers)
                        else:
                            feats = TG.features(tp, x, layers)
                        for a in feats.values():
                            flat = a.flatten(2)
                            mx, arg = flat.max(dim=2)
                            w = a.shape[3]
                            (mx.numpy(), (arg // w).numpy(), (arg % w).numpy(), flat.mean(dim=2).numpy())
            return go

        contenders["PyTorch fp32 (inference_mode)"] = torch_run(False)
        contenders["PyTorch bf16 autocast"] = torch_run(True)
        contenders["PyTorch fp32 (inference_mode)"]()  # warm-up
    times = interleave(contenders, reps)
    n = batch * n_batches
    ref = n / median(times["PyTorch fp32 (inference_mode)"]) if TG is not None else None
    rows = []
    for name, ts in times.items():
        ips = n / median(ts)
        rows.append(dict(impl=name, images_per_s=ips, vs_torch=(ips / ref if ref else None),
                         compile_s=comp.get(name), reps=len(ts)))
    return rows


# --------------------------------------------------------------------------- (s) solvers
def bench_solvers(size, iterations) -> list[dict]:
    f, fargs, x0, *_ = jax_objective(size)
    optimize.clear_caches()
    traces = {}
    for solver, chunk in (("lbfgs", 5), ("jaxopt", 2)):
        log(f"[s] {solver} {size} px (load {loadavg()})")
        pts = []
        t0 = time.perf_counter()
        limit = None if solver == "lbfgs" else traces["lbfgs"][-1][0]
        limit_cf = None if solver == "lbfgs" else _compile_free(traces["lbfgs"])[-1][0]
        for st in optimize.lbfgs(f, x0, 10 * iterations if limit else iterations, args=fargs, chunk=chunk,
                                 solver=solver):
            pts.append((time.perf_counter() - t0, st.iteration, 0, 1, st.loss))
            # run until both budgets are spent: wall time with and without compilation
            if limit is not None and pts[-1][0] >= limit and len(pts) > 2 and _compile_free(pts)[-1][0] >= limit_cf:
                break
        traces[solver] = pts
    t_end = traces["lbfgs"][-1][0]
    t_end_cf = _compile_free(traces["lbfgs"])[-1][0]
    rows = []
    for solver, pts in traces.items():
        cf = _compile_free(pts)

        def at(ps, t):
            best = [p for p in ps if p[0] <= t * 1.02]
            return best[-1] if best else None

        a, b = at(pts, t_end), at(cf, t_end_cf)
        rows.append(dict(solver={"lbfgs": "projected L-BFGS (default)", "jaxopt": "jaxopt LBFGSB"}[solver],
                         budget_s=t_end, iterations=a[1] if a else 0, loss=a[4] if a else None,
                         budget_no_compile_s=t_end_cf, iterations_no_compile=b[1] if b else 0,
                         loss_no_compile=b[4] if b else None,
                         s_per_iteration=median([cf[i][0] - cf[i - 1][0] for i in range(1, len(cf))]) /
                         max(1, (cf[1][1] - cf[0][1]) if len(cf) > 1 else 1)))
    return rows


# --------------------------------------------------------------------------- (x) compile time
def bench_compile(size, reps) -> list[dict]:
    """Compile time of value+grad with the weights/targets closed over (before commit f3271f1 they became
    constants inside the program) vs passed as arguments (now); the evaluation time of each too."""
    f, fargs, x0, *_ = jax_objective(size)
    vg = jax.value_and_grad(f, has_aux=True)

    def closed():
        return jax.jit(lambda x: vg(x, fargs)).lower(x0).compile(), ()

    def as_args():
        return jax.jit(lambda x, a: vg(x, a)).lower(x0, fargs).compile(), (fargs,)

    names = ("closed over (before f3271f1)", "as arguments (now)")
    comp = {n: [] for n in names}
    ev = {n: [] for n in names}
    for r in range(reps):
        for name in (names if r % 2 == 0 else names[::-1]):
            log(f"[x] compile {name} (load {loadavg()})")
            t = time.perf_counter()
            c, args = (closed if name.startswith("closed") else as_args)()
            comp[name].append(time.perf_counter() - t)
            block(c(x0, *args))
            t = time.perf_counter()
            block(c(x0, *args))
            ev[name].append(time.perf_counter() - t)
    ref = median(comp[names[0]])
    return [dict(variant=n, compile_s=median(ts), speedup=ref / median(ts), s_per_eval=median(ev[n]), reps=len(ts))
            for n, ts in comp.items()]


# --------------------------------------------------------------------------- (l) chunk loop
def lbfgs_state(vg, x0, history=10):
    """The initial state ``optimize.lbfgs`` builds (for timing the step outside of it)."""
    (f0, aux0), g0 = jax.jit(vg)(x0)
    n = x0.size
    return optimize._LState(x0, f0, g0, aux0, jnp.zeros((history, n)), jnp.zeros((history, n)),
                            jnp.zeros((history,)), jnp.array(0), jnp.array(1.0), jnp.array(1))


def bench_loop(size, its, reps) -> list[dict]:
    """A chunk as one ``lax.fori_loop`` program (before commit 9823962) vs ``its`` calls of one jitted step (now)."""
    f, fargs, x0, *_ = jax_objective(size)
    one = lambda s, a: optimize.lbfgs_step(jax.value_and_grad(lambda x: f(x, a), has_aux=True),  # noqa: E731
                                           s, 0.0, 255.0, 4.0)
    fori = jax.jit(lambda s, a: jax.lax.fori_loop(0, its, lambda _, s_: one(s_, a), s))
    step = jax.jit(one)

    def pyloop(s):
        for _ in range(its):
            s = step(s, fargs)  # asynchronous dispatch; the host waits only at the end
        return s

    st = lbfgs_state(jax.value_and_grad(lambda x: f(x, fargs), has_aux=True), x0)
    names = ("fori_loop chunk (before 9823962)", "one jitted step per iteration (now)")
    comp = {}
    for name, fn in zip(names, (fori, step)):
        log(f"[l] compile {name} {size} px (load {loadavg()})")
        t = time.perf_counter()
        block(fn(st, fargs))
        comp[name] = time.perf_counter() - t
    out = {}
    times = interleave({names[0]: lambda: out.__setitem__(0, block(fori(st, fargs))),
                        names[1]: lambda: out.__setitem__(1, block(pyloop(st)))}, reps)
    loss = {names[0]: float(out[0].f), names[1]: float(out[1].f)}
    ref = median(times[names[0]])
    return [dict(loop=n, s_per_iteration=median(ts) / its, speedup=ref / median(ts), compile_s=comp[n],
                 loss_after=loss[n], iterations=its, reps=len(ts)) for n, ts in times.items()]


# --------------------------------------------------------------------------- report
def table(rows, cols) -> str:
    head = "| " + " | ".join(h for h, _ in cols) + " |\n|" + "---|" * len(cols) + "\n"
    body = ""
    for r in rows:
        cells = []
        for _, k in cols:
            v = r.get(k)
            cells.append(v if isinstance(v, str) else ("–" if v is None else (str(v) if isinstance(v, int) else fmt(v))))
        body += "| " + " | ".join(cells) + " |\n"
    return head + body


# each section's table, in the report's order: (column header, row key)
COLUMNS = {
    "a": [("size", "size"), ("implementation", "impl"), ("s / eval", "s_per_eval"), ("min", "min"),
          ("vs PyTorch fp32", "vs_torch"), ("compile s", "compile_s"),
          ("loss rel. diff vs --conv direct", "loss_rel_diff"), ("reps", "reps")],
    "b": [("command", "command"), ("wall s", "wall_s"), ("PyTorch / this", "torch_over_this"),
          ("final loss", "final_loss"), ("reps", "reps")],
    "c": [("run", "run"), ("iterations to target", "iterations_to_target"), ("s to target", "s_to_target"),
          ("s w/o compile", "s_to_target_no_compile"), ("speed-up", "speedup"),
          ("speed-up w/o compile", "speedup_no_compile"), ("final loss", "final_loss"),
          ("iterations run", "iterations_run")],
    "g": [("run", "run"), ("iterations to target", "iterations_to_target"), ("s to target", "s_to_target"),
          ("speed-up", "speedup"), ("final gain_obj", "final_gain"),
          ("iterations to target loss", "iterations_to_target_loss"), ("s to target loss", "s_to_target_loss"),
          ("speed-up (loss)", "speedup_loss"), ("final loss", "final_loss"), ("iterations run", "iterations_run"),
          ("s run", "s_run"), ("s to bar", "s_to_bar"), ("speed-up (bar)", "speedup_bar")],
    "d": [("implementation", "impl"), ("images/s", "images_per_s"), ("vs PyTorch fp32", "vs_torch"),
          ("compile s", "compile_s"), ("reps", "reps")],
    "s": [("solver", "solver"), ("budget s", "budget_s"), ("iterations", "iterations"), ("loss", "loss"),
          ("budget w/o compile", "budget_no_compile_s"), ("iterations", "iterations_no_compile"),
          ("loss w/o compile", "loss_no_compile"), ("s / iteration", "s_per_iteration")],
    "l": [("loop", "loop"), ("s / iteration", "s_per_iteration"), ("speed-up", "speedup"),
          ("compile s", "compile_s"), ("loss after", "loss_after"), ("reps", "reps")],
    "x": [("variant", "variant"), ("compile s", "compile_s"), ("speed-up", "speedup"), ("s / eval", "s_per_eval"),
          ("reps", "reps")],
}


def _headings(args) -> dict[str, str]:
    """Each section's title and what it measured, above its table."""
    return {
        "a": "**(a) seconds per function evaluation** (value + gradient, Gatys: style conv1_1…conv5_1, content "
             "conv4_2, TV; median of interleaved repeats; `vs torch` = PyTorch fp32 time / this time)\n",
        "b": f"\n**(b) whole command wall time** (`stylize.py --method gatys --size {args.b_size} --iterations "
             f"{args.b_iterations}` incl. start-up + compilation, subprocesses; `PyTorch/this` = PyTorch wall / "
             "this wall, target ≥ 1.5; final loss = the full-size objective on each saved PNG)\n",
        "c": f"\n**(c) time to the same full-resolution loss** ({args.c_size} px; target = the coarse-to-fine "
             "run's final loss; times from the start of `stylize_iter`, compilation included / excluded; "
             "target ≥ 3×)\n",
        "g": f"\n**(g) time to the same object style gain** (`auto`, {args.g_size} px, {args.g_photo}; target = "
             "the coarse-to-fine run's final `gain_obj` on the ground-truth object; times from the start of "
             "`stylize_iter`, compilation included, metric time excluded; target ≥ 3×)\n",
        "d": f"\n**(d) scoring throughput** ({args.d_size} px, batch {args.d_batch}, forward to conv5_1 + "
             "per-filter max/argmax/mean of conv4_1 and conv5_1, random images; target ≥ 1.0×)\n",
        "s": f"\n**(s) solvers: loss after the same wall time** ({args.s_size} px; budget = the projected "
             "L-BFGS run's time)\n",
        "l": f"\n**(l) L-BFGS chunk: one `lax.fori_loop` program (before 9823962) vs one jitted step per iteration "
             f"(now)** ({args.l_size} px, same {args.l_its} iterations from the same state; asynchronous dispatch, "
             "one host sync per chunk)\n",
        "x": f"\n**(x) compile time of value+grad** ({args.x_size} px): weights and targets closed over (before "
             "f3271f1: embedded as constants in the program) vs passed as arguments (now)\n",
    }


def report(res, info, args) -> str:
    md = [f"### jaxstyle benchmarks ({'quick' if args.quick else 'full'})\n",
          f"- machine: {info['cpu']}; JAX {info['jax']} / jaxlib {info['jaxlib']} on {info['jax_devices']}"
          f" (XLA_FLAGS `{info['XLA_FLAGS']}`); torch {info['torch']}"
          f"{' (' + str(info.get('torch_threads')) + ' threads)' if torch is not None else ''}; python {info['python']}",
          f"- load average at start {res['load_start']}, at end {res['load_end']}; total {res['total_s']:.0f} s",
          f"- command: `{' '.join(['python'] + sys.argv)}`\n"]
    headings = _headings(args)
    for key, cols in COLUMNS.items():
        if key in res:
            md.append(headings[key])
            md.append(table(res[key], cols))
            if key == "g":
                md.append(f"\nBar = {BAR:g} × the single-scale loop's best `gain_obj` = {res['g'][0]['bar']:.3f} (it runs "
                          "until it has the targets and its best gain has not risen by 0.005 for 15 iterations).\n")
                md.append("\n`gain_obj`/loss by iteration at the full-size level: " + "; ".join(
                    f"{r['run']}: {r['gain_trace']}" for r in res["g"]) + "\n")
    return "\n".join(md) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (a few minutes)")
    p.add_argument("--device", action="store_true", help="print device and versions, then exit")
    p.add_argument("--only", default="a,l,b,c,g,d,s,x", help="sections to run (default all: a,l,b,c,g,d,s,x)")
    p.add_argument("--d-batch", type=int, default=16, help="(d) images per step, both implementations (default 16; "
                   "the scoring CLI uses 4 on CPU)")
    p.add_argument("--g-photo", default=str(MASKED / "davis_dog_00000.jpg"),
                   help="(g) photo with a NAME_mask.png beside it (default ../shared/data/masked/davis_dog_00000.jpg)")
    p.add_argument("--g-size", type=int, default=None, help="(g) size (default 512, quick 256)")
    p.add_argument("--g-iterations", dest="g_iterations_", type=int, default=None,
                   help="(g) coarse-to-fine iterations (default 100, quick 60); the single-scale loop gets up to 2x")
    p.add_argument("--reps", type=int, default=None, help="repeats per timing (default 5, quick 3)")
    p.add_argument("--out", default=None, help="also write the Markdown table here")
    p.add_argument("--json", default=None, help="write the raw numbers here")
    p.add_argument("--b-variants", default="cache,direct", help="extra (b) rows: cache (a warm twin of each jaxstyle row, its "
                   "persistent compilation cache filled by an untimed run first), direct (jaxstyle --conv direct), "
                   "scales1 (jaxstyle --scales 1), malloc (PyTorch again with jaxstyle's allocator setting, "
                   "allocator.ENV), short (jaxstyle with 1/5 of the iterations: equal quality "
                   "rather than equal work, read its final loss); comma-separated, default cache,direct")
    p.add_argument("--b-size", dest="b_size_", type=int, default=None, help="(b) size (default 384, quick 128)")
    p.add_argument("--b-iterations", dest="b_iterations_", type=int, default=None,
                   help="(b) iterations (default 100, quick 20)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows even if torch is installed")
    a = p.parse_args(argv)
    keep_freed_memory()  # as the CLI does, before the first computation: (a) and (d) run both sides with it
    global torch, TG
    if a.no_torch:
        torch = TG = None
    info = device_info()
    if a.device:
        print(json.dumps(info, indent=1))
        return 0
    q = a.quick
    reps = a.reps or (3 if q else 5)
    a.a_sizes = [128, 256] if q else [256, 512]
    a.b_size, a.b_iterations = (128, 20) if q else (384, 100)
    a.b_size, a.b_iterations = a.b_size_ or a.b_size, a.b_iterations_ or a.b_iterations
    a.c_size, a.c_iterations, a.c_single_max = (256, 30, 90) if q else (256, 100, 200)
    a.g_size = a.g_size or (256 if q else 512)
    a.g_iterations = a.g_iterations_ or (60 if q else 100)
    a.g_single_max = 2 * a.g_iterations
    a.d_size = 224
    a.d_batches = max(1, (16 if q else 32) // a.d_batch)  # 16 / 32 images per timing whatever the batch
    a.s_size, a.s_iterations = (128, 20) if q else (128, 40)
    a.x_size = 128 if q else 256
    a.l_size, a.l_its = (128, 5) if q else (256, 10)
    only = set(a.only.split(","))
    if TG is None:
        log("PyTorch rows skipped (--no-torch, or torch not installed: pip install torch, the 'bench' extra)")
    res = {"load_start": loadavg()}
    t0 = time.time()
    steps = {
        "a": lambda: bench_eval(a.a_sizes, reps),
        "d": lambda: bench_scoring(a.d_size, a.d_batch, a.d_batches, min(reps, 3)),
        "l": lambda: bench_loop(a.l_size, a.l_its, 3),
        "x": lambda: bench_compile(a.x_size, 2),
        "s": lambda: bench_solvers(a.s_size, a.s_iterations),
        "c": lambda: bench_c2f(a.c_size, a.c_iterations, a.c_single_max),
        "g": lambda: bench_gain(Path(a.g_photo), a.g_size, a.g_iterations, a.g_single_max),
        "b": lambda: bench_command(a.b_size, a.b_iterations, reps,
                                   variants=() if q else tuple(v for v in a.b_variants.split(",") if v)),
    }
    for key, fn in steps.items():
        if key not in only:
            continue
        res[key] = fn()
        res["load_end"], res["total_s"] = loadavg(), time.time() - t0
        if a.out:  # partial results survive an interrupted run
            Path(a.out).write_text(report(res, info, a) + "\n(partial: sections still running)\n")
    res["load_end"] = loadavg()
    res["total_s"] = time.time() - t0
    md = report(res, info, a)
    print(md)
    if a.out:
        Path(a.out).write_text(md)
    if a.json:
        Path(a.json).write_text(json.dumps(dict(res, info=info), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
