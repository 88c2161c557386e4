"""Device catalog: integrity (units, sources, classes), exact datasheet figures, cross-checks
against the public datasets in ../shared/data, and user device files."""

from __future__ import annotations

import csv
import math

import polars as pl
import pytest

from workbench.catalog import device_tables
from workbench.catalog import devices as D
from workbench.catalog import embodied as E
from workbench.errors import ImportFormatError, ParameterError, UnknownNameError
from workbench.schema import DEVICE_CLASSES


@pytest.fixture(autouse=True)
def _no_user_devices():
    D.clear_user_devices()
    yield
    D.clear_user_devices()


def test_every_device_has_class_and_required_figures():
    table = D.list_devices()
    assert table.height == len(D.device_names()) >= 20
    assert set(table["device_class"]) <= set(DEVICE_CLASSES)
    for name in D.device_names():
        d = D.get_device(name)
        assert d.peak_flops_per_s, name
        assert d.max_power_w is not None and d.max_power_w > 0, name
        assert d.lifetime_years is not None and d.lifetime_years > 0, name
        assert d.embodied_kgco2e_low <= d.embodied_kgco2e <= d.embodied_kgco2e_high, name


def test_every_figure_has_unit_basis_and_source():
    figs = D.figures_table()
    assert figs.height > 200
    assert figs.filter(pl.col("unit") == "").height == 0
    assert set(figs["basis"]) <= set(D.BASES)
    assert figs.filter(pl.col("source").str.len_chars() < 20).height == 0  # full citations, not keys
    for fig, unit in zip(figs["figure"], figs["unit"], strict=True):
        assert D.FIGURES[fig] == unit
    # every source key in the package table resolves in the bibliography
    text = device_tables._data_text("devices.csv")
    keys = {r["source"].partition(":")[0].strip() for r in csv.DictReader(text.splitlines()) if r["source"]}
    assert keys <= set(D.references())


def test_catalog_covers_the_continuum():
    by_class = D.list_devices().group_by("device_class").len()
    counts = dict(zip(by_class["device_class"], by_class["len"], strict=True))
    assert counts["mcu"] >= 5 and counts["phone"] >= 2 and counts["cloud-gpu"] >= 3
    for name in ("raspberry-pi-4b", "raspberry-pi-5", "jetson-nano", "jetson-agx-orin-64gb",
                 "coral-usb-accelerator", "xeon-platinum-8592plus", "v100-sxm2-32gb", "a100-sxm4-40gb",
                 "h100-sxm5-80gb"):
        D.get_device(name)


def test_datasheet_figures_exact():
    a100 = D.get_device("a100-sxm4-40gb")
    # NVIDIA A100 datasheet: 19.5 TFLOPS FP32, 312 dense FP16, 1,555 GB/s, 400 W (exact published values)
    assert a100.peak("fp32") == 19.5e12
    assert a100.peak("fp16") == 312e12
    assert a100.memory_bandwidth_bytes_per_s == 1.555e12
    assert a100.max_power_w == 400
    h100 = D.get_device("H100")
    assert h100.peak("fp16") == pytest.approx(1979e12 / 2, rel=1e-12)  # dense = sparse / 2
    # the name torch.cuda reports on the H200 the cloud-GPU measurements were taken on
    h200 = D.get_device("NVIDIA H200")
    assert h200.name == "h200-sxm-141gb" and h200.device_class == "cloud-gpu"
    assert h200.memory_bandwidth_bytes_per_s == 4.8e12 and h200.peak("fp32") == 67e12
    # derived MCU peak: 120 MHz x 1 FLOP/cycle
    assert D.get_device("NUCLEO-L4R5ZI").peak("fp32") == 120e6


def test_lookup_by_alias_and_unknown_names():
    assert D.get_device("Raspberry Pi 4B").name == "raspberry-pi-4b"
    assert D.get_device("nucleo_h7a3zi_q").name == "stm32h7a3zi"
    with pytest.raises(UnknownNameError, match="a100-sxm4-40gb"):
        D.get_device("a100-sxm4-40")
    with pytest.raises(UnknownNameError, match="fp32"):
        D.get_device("coral").peak("fp32")
    with pytest.raises(UnknownNameError, match="mcu"):
        D.list_devices("mcus")


def test_embodied_component_model_by_hand():
    d = D.get_device("a100-sxm4-40gb")
    # By hand, ACT defaults: CPA(7 nm) = (583*2.15 + (350+200)/2 + 500)/0.875 g/cm2 = 2318.2286 g/cm2
    cpa = (583 * 2.15 + 275 + 500) / 0.875 / 1000
    assert E.carbon_per_area_kg_per_cm2(7) == pytest.approx(cpa, rel=1e-12)
    # 8.26 cm2 die + 40 GB x 65 g/GB + 20 ICs x 0.15 kg + 105 cm2 of 12-layer PCB x 1.56 kg/m2
    by_hand = 8.26 * cpa + 40 * 0.065 + 20 * 0.15 + 0.0105 * 0.13 * 12
    assert d.embodied_kgco2e == pytest.approx(by_hand, rel=1e-12)  # same arithmetic, float noise only
    assert d.embodied_is_estimate
    assert "ESTIMATE" in d.sources["embodied_kgco2e"]
    assert d.bases["embodied_kgco2e"] == "component-model"


def test_component_model_errors_and_ordering():
    older = E.carbon_per_area_kg_per_cm2(90)
    assert older == E.carbon_per_area_kg_per_cm2(28)  # older nodes clamp to ACT's oldest row
    assert E.carbon_per_area_kg_per_cm2(3) > E.carbon_per_area_kg_per_cm2(7) > older
    with pytest.raises(ParameterError, match="die_area_mm2"):
        E.component_model(-1, 7)
    with pytest.raises(ParameterError, match="gas_abatement"):
        E.carbon_per_area_kg_per_cm2(7, gas_abatement="90")


def test_pcf_devices_are_not_estimates():
    p4 = D.get_device("pixel-4")
    assert not p4.embodied_is_estimate
    assert D.get_device("xiaomi-mi-9").embodied_is_estimate  # proxy


def test_embodied_share():
    d = D.get_device("h100-sxm5-80gb")
    one_year_s = 8760 * 3600
    assert d.embodied_share_kgco2e(one_year_s) == pytest.approx(d.embodied_kgco2e / 4, rel=1e-12)
    with pytest.raises(ParameterError):
        d.embodied_share_kgco2e(-1)


# --------------------------------------------------------------------------- cross-checks with shared data
MLPERF_TINY_SYSTEMS = {
    # catalog name: (MLPerf Tiny version, organization, system_dir)
    "stm32l4r5zi": ("1.0", "STMicroelectronics", "NUCLEO_L4R5ZI"),
    "stm32h7a3zi": ("1.0", "STMicroelectronics", "NUCLEO-H7A3ZI-Q"),
    "stm32u575zi": ("1.0", "STMicroelectronics", "NUCLEO-U575ZI-Q"),
    "efr32mg24": ("1.0", "silicon_labs", "silicon_labs_xG24_DK2601B"),
    "ra6m4": ("0.7", "renesas", "EK-RA6M4"),
}


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(MLPERF_TINY_SYSTEMS))
def test_mcu_max_power_matches_mlperf_tiny(shared_data, name):
    version, org, system = MLPERF_TINY_SYSTEMS[name]
    df = pl.read_csv(shared_data / "mlperf-tiny" / "mlperf_tiny_summary.csv", infer_schema_length=0)
    sel = df.filter((pl.col("version") == version) & (pl.col("organization") == org)
                    & (pl.col("system_dir") == system))
    mw = sel["energy_mode_median_power_mW"].cast(pl.Float64).max()
    # the catalog rounds nothing: equal up to the decimal digits the CSV prints
    assert D.get_device(name).max_power_w == pytest.approx(mw / 1000, rel=1e-6)


@pytest.mark.shared_data
def test_phone_pcf_matches_boavizta(shared_data):
    df = pl.read_csv(shared_data / "boavizta-environmental-footprint-data" / "boavizta-data-us.csv",
                     infer_schema_length=0)
    for name, row_name in (("pixel-4", "Pixel 4"), ("pixel-3-xl", "Pixel 3 XL")):
        r = df.filter((pl.col("manufacturer") == "Google") & (pl.col("name") == row_name)).row(0, named=True)
        manufacturing = float(r["gwp_total"]) * float(r["gwp_manufacturing_ratio"])
        assert D.get_device(name).embodied_kgco2e == pytest.approx(manufacturing, rel=1e-9)
        assert D.get_device(name).lifetime_years == float(r["lifetime"])


@pytest.mark.shared_data
def test_gpu_tdp_and_memory_match_mlco2(shared_data):
    df = pl.read_csv(shared_data / "mlco2-impact" / "gpus.csv", infer_schema_length=0)
    for name, row_name in (("v100-sxm2-32gb", "Tesla V100-SXM2-32GB"), ("h100-sxm5-80gb", "H100 SXM")):
        r = df.filter(pl.col("name") == row_name).row(0, named=True)
        d = D.get_device(name)
        assert d.max_power_w == float(r["tdp_watts"])
        assert d.ram_bytes == int(float(r["memory"])) * 2**30


@pytest.mark.shared_data
def test_embodied_estimates_within_boavizta_order_of_magnitude(shared_data):
    # Boavizta's CPU rule (0.0197 kgCO2e/mm2 die + 9.14 kg base, component_manufacture_factors.csv)
    # must fall inside our range for the Xeon: a cross-check of two independent models.
    f = pl.read_csv(shared_data / "boaviztapi-data" / "derived_from_factors_yml" / "component_manufacture_factors.csv")
    cpu = f.filter((pl.col("component") == "cpu") & (pl.col("criterion") == "gwp")).row(0, named=True)
    d = D.get_device("xeon-platinum-8592plus")
    boavizta = cpu["die_impact"] * d.bom["die_area_mm2"] + cpu["impact"]
    assert d.embodied_kgco2e_low <= boavizta <= d.embodied_kgco2e_high


# --------------------------------------------------------------------------- user devices
TOML = """
[[device]]
name = "my-board"
device_class = "mcu"
vendor = "Lab"
aliases = ["My Board"]
source = "our lab measurements, 2026"
basis = "measurement"
peak_flops_per_s = { fp32 = 1.0e8, int8 = 4.0e8 }
ram_bytes = 262144
max_power_w = 0.05
lifetime_years = 5
embodied_kgco2e = 1.2
embodied_kgco2e_low = 0.8
embodied_kgco2e_high = 2.0
[device.sources]
embodied_kgco2e = "supplier PCF sheet, 2025"
"""


def test_load_user_devices_toml(tmp_path):
    p = tmp_path / "devs.toml"
    p.write_text(TOML)
    (dev,) = D.load_user_devices(p)
    assert dev.peak("int8") == 4.0e8 and dev.embodied_kgco2e_high == 2.0
    assert dev.sources["embodied_kgco2e"] == "supplier PCF sheet, 2025"
    assert dev.sources["max_power_w"] == "our lab measurements, 2026"
    assert not dev.embodied_is_estimate
    assert D.get_device("My Board") is dev
    assert "my-board" in D.list_devices("mcu")["name"].to_list()


def test_load_user_devices_csv_with_bom(tmp_path):
    p = tmp_path / "devs.csv"
    rows = [
        ("edge1", "device_class", "edge-cpu", "", "", "-", "-", ""),
        ("edge1", "peak_flops_per_s_fp32", "1e10", "", "", "FLOP/s", "datasheet", "vendor sheet"),
        ("edge1", "max_power_w", "5", "", "", "W", "datasheet", "vendor sheet"),
        ("edge1", "lifetime_years", "5", "", "", "year", "assumption", "ours"),
        ("edge1", "die_area_mm2", "50", "", "", "mm2", "estimate", "ours"),
        ("edge1", "process_node_nm", "28", "", "", "nm", "estimate", "ours"),
    ]
    with p.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["device", "figure", "value", "low", "high", "unit", "basis", "source"])
        w.writerows(rows)
    (dev,) = D.load_user_devices(p, register=False)
    # 0.5 cm2 x CPA(28 nm) + 1 IC x 0.15 kg, ACT defaults
    assert dev.embodied_kgco2e == pytest.approx(0.5 * E.carbon_per_area_kg_per_cm2(28) + 0.15, rel=1e-12)
    assert dev.embodied_is_estimate
    with pytest.raises(UnknownNameError):
        D.get_device("edge1")  # not registered


def _write_csv(path, header, rows):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


HEADER = ["device", "figure", "value", "low", "high", "unit", "basis", "source"]


def test_user_device_errors(tmp_path):
    p = tmp_path / "bad.csv"
    _write_csv(p, ["device", "figure", "value"], [("x", "max_power_w", "1")])
    with pytest.raises(ImportFormatError, match=r"missing column\(s\) \['low', 'high', 'unit', 'basis', 'source'\]"):
        D.load_user_devices(p)
    _write_csv(p, HEADER, [
        ("x", "device_class", "mcu", "", "", "-", "-", ""),
        ("x", "max_power_w", "-1", "", "", "W", "datasheet", "s"),
        ("x", "ram_bytes", "12", "", "", "kB", "datasheet", "s"),
        ("x", "lifetime_years", "5", "", "", "year", "datasheet", ""),
        ("x", "peak_flops_fp32", "5", "", "", "FLOP/s", "datasheet", "s"),
    ])
    with pytest.raises(ImportFormatError) as err:
        D.load_user_devices(p)
    msg = str(err.value)
    assert "line 3" in msg and "'-1'" in msg  # negative value, with its line
    assert "line 4" in msg and "'B'" in msg  # wrong unit
    assert "line 5" in msg and "no source" in msg
    assert "line 6" in msg and "unknown figure 'peak_flops_fp32'" in msg
    _write_csv(p, HEADER, [
        ("x", "device_class", "microcontroller", "", "", "-", "-", ""),
        ("x", "peak_flops_per_s_fp32", "1", "", "", "FLOP/s", "datasheet", "s"),
        ("x", "max_power_w", "1", "", "", "W", "datasheet", "s"),
        ("x", "lifetime_years", "1", "", "", "year", "datasheet", "s"),
        ("x", "embodied_kgco2e", "1", "", "", "kgCO2e", "datasheet", "s"),
    ])
    with pytest.raises(UnknownNameError, match="device class"):
        D.load_user_devices(p)
    clash = tmp_path / "clash.toml"
    clash.write_text(TOML.replace('"my-board"', '"a100-sxm4-40gb"'))
    with pytest.raises(ImportFormatError, match="already exist"):
        D.load_user_devices(clash)
    assert D.get_device("a100-sxm4-40gb").origin == "catalog"  # nothing was replaced
    with pytest.raises(ImportFormatError, match=".toml or .csv"):
        D.load_user_devices(tmp_path / "x.json") if (tmp_path / "x.json").write_text("{}") else None
    broken = tmp_path / "broken.toml"
    broken.write_text("[[device]\nname=")
    with pytest.raises(ImportFormatError, match="not valid TOML"):
        D.load_user_devices(broken)


def test_list_devices_is_a_typed_frame():
    t = D.list_devices("cloud-gpu")
    assert t.schema["peak_flops_per_s_fp32"] == pl.Float64
    assert t.schema["embodied_is_estimate"] == pl.Boolean
    assert not math.isnan(t["embodied_kgco2e"].sum())
