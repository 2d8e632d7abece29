"""What a measurement ran on: the CPU's model, cores and vector extensions, and any cap on them.

Benchmarks and evaluations record :func:`cpu_info` (and print :func:`cpu_line`), so a speed
figure names the instruction sets it was taken with: a 2-core AVX2 machine and a 2-core
AVX-512 one give different ratios. Read from ``/proc/cpuinfo`` (Linux); elsewhere the model
comes from :mod:`platform` and the extensions are unknown.
"""
from __future__ import annotations

import os
import platform
import re
from pathlib import Path

# (label, /proc/cpuinfo flag) in the order the line names them
EXTENSIONS = (("AVX2", "avx2"), ("AVX-512F", "avx512f"), ("AVX-512 VNNI", "avx512_vnni"),
              ("AVX-512 BF16", "avx512_bf16"), ("AMX", "amx_tile"))
# environment variables that cap the instruction sets XLA and PyTorch use (docs/BENCHMARKS.md)
CAPS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")


def _cpuinfo(text: str | None) -> tuple[str | None, set[str]]:
    """The first processor's model name and flags in a ``/proc/cpuinfo`` text."""
    if not text:
        return None, set()
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
    return (model.group(1).strip() if model else None), set(flags.group(1).split() if flags else ())


def _xla_cap(xla_flags: str) -> str | None:
    m = re.search(r"--xla_cpu_max_isa=(\S+)", xla_flags)
    return m.group(1) if m else None


def cpu_info(cpuinfo_text: str | None = None, environ=None) -> dict[str, object]:
    """``{"model", "cores", "extensions", "caps"}``: ``extensions`` the labels of :data:`EXTENSIONS`
    the CPU has (None when unknown), ``caps`` the ISA caps set for XLA and PyTorch."""
    env = os.environ if environ is None else environ
    if cpuinfo_text is None:
        try:
            cpuinfo_text = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo_text = None
    model, flags = _cpuinfo(cpuinfo_text)
    caps = {k: env[k] for k in CAPS if env.get(k)}
    if _xla_cap(env.get("XLA_FLAGS", "")):
        caps["xla_cpu_max_isa"] = _xla_cap(env["XLA_FLAGS"])
    return {"model": model or platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "extensions": [label for label, flag in EXTENSIONS if flag in flags] if flags else None, "caps": caps}


def cpu_line(info: dict | None = None) -> str:
    """One line for a table: ``AMD EPYC, 2 cores, AVX2 AVX-512F ...; capped: xla_cpu_max_isa=AVX2``."""
    info = cpu_info() if info is None else info
    ext = "extensions unknown" if info["extensions"] is None else (" ".join(info["extensions"]) or "no AVX2")
    line = f"{info['model']}, {info['cores']} cores, {ext}"
    if info["caps"]:
        line += "; capped: " + ", ".join(f"{k}={v}" for k, v in info["caps"].items())
    return line
