from pathlib import Path

import pytest

from modelverify.env.cpu import isa_class, parse_cpuinfo, parse_meminfo, probe_cpu


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="needs Linux /proc")
def test_probe_cpu_on_this_host_agrees_with_proc() -> None:
    info = probe_cpu()
    text = Path("/proc/cpuinfo").read_text()
    assert info.logical_cores >= 1
    flags = next(line for line in text.splitlines() if line.startswith(("flags", "Features")))
    if " avx512f" in flags:
        assert info.isa_class in ("AVX-512", "AMX")
    assert info.memory_total_bytes and info.memory_available_bytes
    assert 0 < info.memory_available_bytes <= info.memory_total_bytes


def test_isa_class_order() -> None:
    assert isa_class({"avx2", "avx512f", "amx_bf16", "amx_tile"}) == "AMX"
    assert isa_class({"avx2", "avx512f"}) == "AVX-512"
    assert isa_class({"avx2"}) == "AVX2 only"
    assert isa_class(set()) == "no AVX2"


def test_parse_cpuinfo_counts_sockets_and_cores() -> None:
    text = "\n".join(
        f"processor : {i}\nmodel name : X\nphysical id : {i // 4}\ncore id : {i % 2}\nflags : avx2\n"
        for i in range(8)
    )
    info = parse_cpuinfo(text)
    assert info.sockets == 2 and info.physical_cores == 4 and info.model_name == "X"
    assert parse_meminfo("MemTotal: 1024 kB\nMemAvailable: 512 kB\n") == (1048576, 524288)
