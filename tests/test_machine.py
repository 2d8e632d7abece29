"""jaxstyle.machine: the CPU line every benchmark records."""
from __future__ import annotations

from jaxstyle import machine

AVX512 = """processor\t: 0
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw avx512_vnni avx512_bf16
processor\t: 1
model name\t: AMD EPYC 9R14
"""
AVX2 = "model name\t: AMD EPYC 7B13\nflags\t\t: fpu sse2 avx avx2 fma\n"


def test_extensions_are_read_from_the_flags():
    assert machine.cpu_info(AVX512, {})["extensions"] == ["AVX2", "AVX-512F", "AVX-512 VNNI", "AVX-512 BF16"]
    info = machine.cpu_info(AVX2, {})
    assert info["model"] == "AMD EPYC 7B13" and info["extensions"] == ["AVX2"] and info["caps"] == {}
    assert "AVX-512" not in machine.cpu_line(info)


def test_caps_from_the_environment_are_named():
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=1 --xla_cpu_max_isa=AVX2",
           "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    info = machine.cpu_info(AVX512, env)
    assert info["caps"] == {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "xla_cpu_max_isa": "AVX2"}
    assert machine.cpu_line(info).endswith("capped: ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2, "
                                           "xla_cpu_max_isa=AVX2")


def test_unknown_cpuinfo_says_so():
    info = machine.cpu_info("", {})
    assert info["extensions"] is None and "extensions unknown" in machine.cpu_line(info)


def test_this_machine_has_a_line():
    assert machine.cpu_line().split(",")[0]
