import os
import shutil
import subprocess
from pathlib import Path

import pytest

from modelverify.env.cpu import isa_class, parse_cpuinfo, parse_meminfo, probe_cpu

DATA = Path(__file__).parents[2] / "data" / "cpu"


def _lscpu_flags() -> set[str] | None:
    exe = shutil.which("lscpu")
    if exe is None:
        return None
    out = subprocess.run([exe], capture_output=True, text=True, check=False, timeout=30).stdout
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Flags":
            return set(value.split())
    return None


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="needs Linux /proc")
def test_probe_cpu_agrees_with_independent_readings_of_this_host() -> None:
    """Each figure against a reading that does not go through modelverify's parsers."""
    info = probe_cpu()
    assert info.logical_cores == os.cpu_count()
    if hasattr(os, "sched_getaffinity"):
        assert info.usable_cores == len(os.sched_getaffinity(0))
    # MemTotal straight from the file, in kB
    kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    assert info.memory_total_bytes == kb * 1024
    assert info.memory_available_bytes is not None
    assert 0 < info.memory_available_bytes <= info.memory_total_bytes
    flags = _lscpu_flags()
    if flags is None:
        pytest.skip("lscpu has no Flags line here (not x86, or util-linux missing)")
    for flag in ("avx2", "avx512f", "amx_bf16", "amx_tile"):
        assert (flag in info.isa) == (flag in flags), flag
    want = (
        "AMX"
        if {"amx_bf16", "amx_tile"} <= flags
        else "AVX-512"
        if "avx512f" in flags
        else "AVX2 only"
        if "avx2" in flags
        else "no AVX2"
    )
    assert info.isa_class == want


def test_parse_cpuinfo_on_a_recorded_real_file() -> None:
    """This development machine's own /proc/cpuinfo (tests/data/cpu/SOURCES.md): 2 vCPUs on
    one socket, cores 0 and 1, AVX-512 and AMX."""
    text = (DATA / "cpuinfo_xeon_amx_2vcpu.txt").read_text()
    info = parse_cpuinfo(text)
    assert info.model_name == "Intel(R) Xeon(R) Processor"
    assert (info.sockets, info.physical_cores) == (1, 2)
    assert {"avx2", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16"} <= info.flags
    assert {"amx_bf16", "amx_int8", "amx_tile"} <= info.flags
    assert isa_class(info.flags) == "AMX"


def test_probe_cpu_reads_the_given_proc_folder(tmp_path: Path) -> None:
    (tmp_path / "cpuinfo").write_text((DATA / "cpuinfo_xeon_amx_2vcpu.txt").read_text())
    (tmp_path / "meminfo").write_text("MemTotal:       24731184 kB\nMemAvailable:   1024 kB\n")
    info = probe_cpu(proc=tmp_path, sys_node=tmp_path / "no-numa")
    assert (info.physical_cores, info.isa_class) == (2, "AMX")
    assert (info.memory_total_bytes, info.memory_available_bytes) == (24731184 * 1024, 1048576)
    assert info.numa_nodes is None


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
