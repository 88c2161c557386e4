"""Zeus's RAPL and NVML readers against the workbench's on the same replayed counters.

Zeus is not a dependency (``docs/runtimes.md``, "Zeus"): these tests run where it is installed
(``pip install zeus==0.16.0``) and record why it was not adopted; a Zeus release that changes the
answer makes one of them fail.
"""

import os
import types

import pytest

from workbench.measure.energy.nvml import NvmlMeter
from workbench.measure.energy.rapl import RaplMeter

zr = pytest.importorskip("zeus.device.cpu.rapl")
zn = pytest.importorskip("zeus.device.gpu.nvidia")


class FakeClock:
    def __init__(self, *times):
        self.times = list(times)

    def __call__(self):
        return self.times.pop(0)


def _tree(root, zones):
    """Fake powercap: zones under devices/, linked as root/intel-rapl:N (workbench) and
    root/intel-rapl/intel-rapl:N (Zeus), sub-zones inside their package, as /sys/class/powercap has."""
    (root / "intel-rapl").mkdir()
    for name, zid, energy_uj in zones:
        parent = root / "devices" / zid.rsplit(":", 1)[0] if zid.count(":") == 2 else root / "devices"
        d = parent / zid
        d.mkdir(parents=True)
        (d / "name").write_text(f"{name}\n")
        (d / "energy_uj").write_text(f"{energy_uj}\n")
        (d / "max_energy_range_uj").write_text("1000000000000\n")
        os.symlink(d, root / zid)
        if zid.count(":") == 1:
            os.symlink(d, root / "intel-rapl" / zid)


def _both(root, zones, after):
    """Energy [J] between two reads: (workbench, Zeus)."""
    _tree(root, zones)
    wb = RaplMeter(root=root, clock=FakeClock(0.0, 1.0))
    cpus = [zr.RAPLCPU(int(z.split(":")[1]), str(root / "intel-rapl")) for _, z, _ in zones if z.count(":") == 1]
    wb.start()
    before = [c.get_total_energy_consumption() for c in cpus]
    for zid, e in after.items():
        (root / zid / "energy_uj").write_text(f"{e}\n")
    after_ = [c.get_total_energy_consumption() for c in cpus]
    try:
        zeus_mj = sum(a.cpu_mj - b.cpu_mj + ((a.dram_mj - b.dram_mj) if a.dram_mj is not None else 0.0)
                      for a, b in zip(after_, before, strict=True))
        return wb.stop().energy_j, zeus_mj / 1e3
    finally:
        for c in cpus:  # Zeus spawns one wrap-around polling process per counter file
            for f in (c.rapl_file, c.dram):
                if f is not None and f._wraparound_tracker is not None:
                    f._wraparound_tracker._stop()


def test_plain_counters_agree(tmp_path):
    wb, zeus = _both(tmp_path, [("package-0", "intel-rapl:0", 0), ("package-1", "intel-rapl:1", 0)],
                     {"intel-rapl:0": 2_500_000, "intel-rapl:1": 1_000_000})
    assert wb == pytest.approx(3.5, rel=1e-12)  # µJ -> J, exact up to float rounding
    assert zeus == pytest.approx(3.5, rel=1e-12)


def test_zeus_counts_psys_as_a_cpu(tmp_path):
    wb, zeus = _both(tmp_path, [("package-0", "intel-rapl:0", 0), ("psys", "intel-rapl:1", 0)],
                     {"intel-rapl:0": 2_500_000, "intel-rapl:1": 7_000_000})
    assert wb == pytest.approx(2.5, rel=1e-12)
    assert zeus == pytest.approx(9.5, rel=1e-12)  # the platform counter added to the package it contains


def test_zeus_adds_dram_the_workbench_leaves_it_out(tmp_path):
    wb, zeus = _both(tmp_path, [("package-0", "intel-rapl:0", 0), ("dram", "intel-rapl:0:0", 0)],
                     {"intel-rapl:0": 2_500_000, "intel-rapl:0:0": 500_000})
    assert wb == pytest.approx(2.5, rel=1e-12)
    assert zeus == pytest.approx(3.0, rel=1e-12)


def test_zeus_misses_a_wrap_its_poller_did_not_see(tmp_path):
    zones = [("package-0", "intel-rapl:0", 999_999_900_000)]
    wb, zeus = _both(tmp_path, zones, {"intel-rapl:0": 100_000})  # wrapped at 1e12 µJ: 0.2 J
    assert wb == pytest.approx(0.2, rel=1e-9)
    assert zeus == pytest.approx(-999_999.8, rel=1e-9)


def _fake_pynvml(counters_mj):
    import pynvml

    m = types.ModuleType("pynvml_replay")
    m.__dict__.update({k: v for k, v in vars(pynvml).items() if k.startswith("NVML")})
    seq = {i: list(s) for i, s in enumerate(counters_mj)}

    def c2c(h):
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    m.nvmlInit = m.nvmlShutdown = lambda: None
    m.nvmlDeviceGetCount = lambda: len(seq)
    m.nvmlDeviceGetHandleByIndex = lambda i: i
    m.nvmlDeviceGetName = lambda h: f"Replay GPU {h}"
    m.nvmlDeviceGetC2cModeInfoV = c2c
    m.nvmlDeviceGetTotalEnergyConsumption = lambda h: seq[h].pop(0)
    return m


@pytest.mark.parametrize("counters, joules", [([[10_000, 11_234]], 1.234),
                                              ([[1_000, 2_000], [5_000, 7_000]], 3.0),
                                              ([[2**64 - 2_000, 2**64 - 1_000]], 1.0)])
def test_nvml_agrees(monkeypatch, counters, joules):
    wb = NvmlMeter(nvml=_fake_pynvml(counters), clock=FakeClock(0.0, 1.0))
    wb.start()
    monkeypatch.setattr(zn, "pynvml", _fake_pynvml(counters))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    gpus = zn.NVIDIAGPUs().gpus
    before = [g.get_total_energy_consumption() for g in gpus]
    after = [g.get_total_energy_consumption() for g in gpus]
    assert wb.stop().energy_j == pytest.approx(joules, rel=1e-12)  # mJ -> J
    assert sum(b - a for a, b in zip(before, after, strict=True)) / 1e3 == pytest.approx(joules, rel=1e-12)
