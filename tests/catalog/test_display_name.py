"""One display name per device (catalog.devices.display_name): the names datasets, the catalog and our own
runs give one device become one, and distinct catalog devices stay distinct."""

from __future__ import annotations

import pytest

from workbench.catalog.devices import device_names, display_name, get_device


@pytest.mark.parametrize("names,label", [
    (["NVIDIA A100-SXM4-40GB", "a100-sxm4-40gb", "A100", "A100-SXM4-40GB", "NVIDIA A100-SXM4-80GB"], "A100"),
    (["NVIDIA H100 80GB HBM3", "h100-sxm5-80gb", "H100", "NVIDIA H100-PCIe-80GB"], "H100"),
    (["NVIDIA H200", "h200-sxm-141gb", "H200-SXM-141GB"], "H200"),
    (["Tesla V100-SXM2-32GB", "v100-sxm2-32gb", "V100"], "V100"),
    (["NVIDIA GeForce RTX 4090", "rtx4090"], "RTX 4090"),
    (["jetson-agx-orin-64gb", "NVIDIA Jetson AGX Orin 64G", "Jetson AGX Orin"], "Jetson AGX Orin"),
    (["jetson-orin-nano-8gb", "Jetson Orin Nano"], "Jetson Orin Nano"),
    (["pixel-4", "Pixel4", "Google Pixel 4"], "Pixel4"),
    (["intel-ncs2", "Movidius NCS2"], "NCS2"),
    (["stm32l4r5zi", "NUCLEO-L4R5ZI"], "NUCLEO-L4R5ZI"),
])
def test_names_of_one_device_become_one(names, label):
    assert {display_name(n) for n in names} == {label}


@pytest.mark.parametrize("published, label", [
    ("Intel(R) Xeon(R) Gold 6240R CPU @ 2.40GHz", "Intel Xeon Gold 6240R"),
    ("13th Gen Intel(R) Core(TM) i9-13900K", "Intel Core i9-13900K"),
    ("AMD Ryzen 9 7950X 16-Core Processor", "AMD Ryzen 9 7950X"),
    ("NVIDIA RTX A5000 GPU", "RTX A5000"),
    ("Intel(R) Arc(TM) 140T GPU", "Intel Arc 140T"),
    ("NVIDIA RTX-2000E-Ada-16GB", "RTX-2000E-Ada-16GB"),
    ("Apple M1 Pro", "Apple M1 Pro"),
])
def test_published_names_lose_their_marketing_noise(published, label):
    assert display_name(published) == label


def test_other_names_are_kept_and_none_stays_none():
    assert display_name("AMD Instinct MI300X 192GB HBM3") == "AMD Instinct MI300X 192GB HBM3"
    assert display_name("  my laptop ") == "my laptop" and display_name(None) is None
    assert display_name("A1000") == "A1000"  # not an A100


def test_catalog_devices_keep_distinct_display_names():
    labels = {n: display_name(n) for n in device_names()}
    assert len(set(labels.values())) == len(labels), labels
    for n, label in labels.items():  # a display name leads back to its device
        assert get_device(label).name == n or display_name(get_device(label).name) == label, (n, label)
