"""Component model of embodied (manufacturing) carbon, for devices without a published footprint.

The model follows ACT (Gupta et al., ISCA 2022) and adds a printed-circuit-board term::

    E = A_die · CPA(node) + GB_dram · f_dram + GB_flash · f_flash + N_ic · K_pkg + A_pcb · f_pcb(layers)

with the carbon per die area ``CPA(node) = (CI_fab · EPA + GPA + MPA) / yield``.

Every coefficient below is ACT's (github.com/facebookresearch/ACT, files named per constant); the
range (``low``/``high``) uses ACT's two gas-abatement scenarios (99 % and 95 %) and the smallest and
largest memory factors ACT lists, then widens by :data:`LOW_FACTOR`/:data:`HIGH_FACTOR` — the
workbench's own allowance for what the model leaves out (heatsinks, enclosures, passives, power
supplies, test, transport) and for die areas that vendors do not publish. Results are estimates and
the catalog marks them so (``embodied_is_estimate``).

References
----------
.. [ACT] U. Gupta, M. Elgamal, G. Hills, G.-Y. Wei, H.-H. S. Lee, D. Brooks, C.-J. Wu. "ACT:
   Designing Sustainable Computer Systems with an Architectural Carbon Modeling Tool." ISCA 2022.
   Data: github.com/facebookresearch/ACT (logic/epa.json, logic/gpa_95.json, logic/gpa_99.json,
   logic/materials.json, carbon_intensity/location.json, dram/dram_hynix.json, ssd/ssd_hynix.json,
   act/models/materials/pcb.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.checks import check_number
from workbench.errors import ParameterError

ACT_SOURCE = (
    "Gupta et al., ACT: Designing Sustainable Computer Systems with an Architectural Carbon "
    "Modeling Tool, ISCA 2022 (github.com/facebookresearch/ACT)"
)

EPA_KWH_PER_CM2 = {28: 0.90, 20: 1.200, 14: 1.200, 10: 1.475, 8: 1.520, 7: 2.150, 5: 2.750, 3: 3.250}
"""Fab electricity per die area by logic node [kWh/cm²] (ACT logic/epa.json)."""

GPA_95_G_PER_CM2 = {28: 175, 20: 190, 14: 200, 10: 240, 8: 240, 7: 350, 5: 430, 3: 470}
"""Process-gas emissions per area with 95 % abatement [gCO2e/cm²] (ACT logic/gpa_95.json)."""

GPA_99_G_PER_CM2 = {28: 100, 20: 110, 14: 125, 10: 150, 8: 150, 7: 200, 5: 225, 3: 275}
"""Process-gas emissions per area with 99 % abatement [gCO2e/cm²] (ACT logic/gpa_99.json)."""

MPA_G_PER_CM2 = 500.0
"""Raw materials per die area, every node [gCO2e/cm²] (ACT logic/materials.json)."""

FAB_CARBON_INTENSITY_G_PER_KWH = 583.0
"""Grid intensity of the fab, Taiwan [gCO2e/kWh] (ACT carbon_intensity/location.json, 'taiwan')."""

FAB_YIELD = 0.875
"""Fab yield, ACT's default (ACT logic_model.py, ``fab_yield=0.875``)."""

DRAM_G_PER_GB = {"central": 65.0, "low": 48.0, "high": 230.0}
"""DRAM manufacturing per GB [gCO2e/GB] (ACT dram/dram_hynix.json: ddr4_10nm 65, lpddr4 48,
ddr3_30nm 230). The central value is applied to HBM too (no HBM figure in ACT)."""

FLASH_G_PER_GB = {"central": 10.0, "low": 5.6, "high": 31.0}
"""NAND flash manufacturing per GB [gCO2e/GB] (ACT ssd/ssd_hynix.json: nand_10nm 10,
nand_tlc_1z 5.6, nand_30nm 31)."""

PACKAGING_KG_PER_IC = 0.15
"""Packaging footprint per integrated circuit [kgCO2e/IC] (ACT, ISCA 2022, §4: K_r = 0.15 kg)."""

PCB_KG_PER_M2 = {2: 0.41, 4: 0.43, 6: 0.71, 8: 0.91}
"""Printed circuit board per area by layer count [kgCO2e/m²] (ACT act/models/materials/pcb.yaml,
from a JST LCA study's Table 4); other layer counts use 0.13 kg/m² per layer (same file, 'cpla')."""

PCB_KG_PER_M2_PER_LAYER = 0.13

LOW_FACTOR = 0.7
HIGH_FACTOR = 2.0
"""Workbench allowance (not ACT's) applied to the model's low/high: the model omits heatsinks,
enclosures, passives, power supplies, test and transport, and die areas are often estimates."""


def _node_key(process_node_nm: float) -> int:
    """ACT table row for a node: the smallest tabulated node >= the given one (28 nm for older nodes)."""
    process_node_nm = check_number(process_node_nm, "process_node_nm [nm]", minimum=0, exclusive=True,
                                   fix="give the logic process node in nm, e.g. 7.")
    nodes = sorted(EPA_KWH_PER_CM2)
    for n in nodes:
        if n >= process_node_nm:
            return n
    return nodes[-1]  # older than 28 nm: ACT's oldest node (an upper estimate; fewer layers there)


def carbon_per_area_kg_per_cm2(process_node_nm: float, *, gas_abatement: str = "97") -> float:
    """ACT's carbon per die area for a logic node [kgCO2e/cm²].

    Parameters
    ----------
    process_node_nm : float
        Logic process node [nm]. Nodes between ACT's rows use the next larger tabulated node
        (e.g. 12 → 14, 16 → 20, 4 → 5); nodes older than 28 nm use 28 nm.
    gas_abatement : {"95", "97", "99"}
        Process-gas abatement scenario; "97" is ACT's default (mean of 95 and 99).

    Examples
    --------
    >>> round(carbon_per_area_kg_per_cm2(7), 3)
    2.318
    """
    node = _node_key(process_node_nm)
    gpa = {
        "95": GPA_95_G_PER_CM2[node],
        "99": GPA_99_G_PER_CM2[node],
        "97": (GPA_95_G_PER_CM2[node] + GPA_99_G_PER_CM2[node]) / 2,
    }.get(str(gas_abatement))
    if gpa is None:
        raise ParameterError(f"gas_abatement must be '95', '97' or '99', got {gas_abatement!r}.")
    g = (FAB_CARBON_INTENSITY_G_PER_KWH * EPA_KWH_PER_CM2[node] + gpa + MPA_G_PER_CM2) / FAB_YIELD
    return g / 1000.0


def pcb_kg_per_m2(layers: int) -> float:
    """PCB footprint per area for a layer count [kgCO2e/m²] (ACT pcb.yaml)."""
    if int(layers) != layers or layers < 1:
        raise ParameterError(f"pcb_layers must be a positive whole number, got {layers!r}.")
    return PCB_KG_PER_M2.get(int(layers), PCB_KG_PER_M2_PER_LAYER * layers)


@dataclass(frozen=True)
class EmbodiedEstimate:
    """Result of :func:`component_model` [kgCO2e]."""

    central: float
    low: float
    high: float
    breakdown: dict = field(default_factory=dict)
    """Central estimate per term: die, dram, flash, packaging, pcb, other [kgCO2e]."""


def component_model(
    die_area_mm2: float,
    process_node_nm: float,
    *,
    dram_gb: float = 0.0,
    flash_gb: float = 0.0,
    ic_count: int = 1,
    pcb_area_cm2: float = 0.0,
    pcb_layers: int = 4,
    other_kgco2e: float = 0.0,
) -> EmbodiedEstimate:
    """Estimate embodied carbon from a bill of materials [kgCO2e].

    Parameters
    ----------
    die_area_mm2 : float
        Total logic die area [mm²] (all dies of the main processor).
    process_node_nm : float
        Logic node [nm].
    dram_gb, flash_gb : float
        DRAM (incl. HBM) and NAND flash capacity [GB].
    ic_count : int
        Packaged integrated circuits (processor, memory packages, PMICs, ...) [ICs].
    pcb_area_cm2 : float
        Board area [cm²]; ``pcb_layers`` its layer count.
    other_kgco2e : float
        Any further, separately sourced term [kgCO2e] (added unchanged to all three values).

    Returns
    -------
    EmbodiedEstimate
        ``central`` (ACT defaults), ``low`` (99 % gas abatement, smallest memory factors, ×
        :data:`LOW_FACTOR`) and ``high`` (95 % abatement, largest memory factors, ×
        :data:`HIGH_FACTOR`).

    Examples
    --------
    >>> e = component_model(826, 7, dram_gb=40, ic_count=20, pcb_area_cm2=105, pcb_layers=12)
    >>> round(e.central, 1), e.low < e.central < e.high
    (24.8, True)
    """
    for name, v in (("die_area_mm2", die_area_mm2), ("dram_gb", dram_gb), ("flash_gb", flash_gb),
                    ("ic_count", ic_count), ("pcb_area_cm2", pcb_area_cm2), ("other_kgco2e", other_kgco2e)):
        check_number(v, name, minimum=0, fix="pass the bill-of-materials figure.")
    area_cm2 = die_area_mm2 / 100.0
    pcb = pcb_area_cm2 / 1e4 * pcb_kg_per_m2(pcb_layers)
    pkg = ic_count * PACKAGING_KG_PER_IC

    def total(gas: str, mem: str) -> tuple[float, dict]:
        parts = {
            "die": area_cm2 * carbon_per_area_kg_per_cm2(process_node_nm, gas_abatement=gas),
            "dram": dram_gb * DRAM_G_PER_GB[mem] / 1000.0,
            "flash": flash_gb * FLASH_G_PER_GB[mem] / 1000.0,
            "packaging": pkg,
            "pcb": pcb,
        }
        return sum(parts.values()), parts

    central, parts = total("97", "central")
    low, _ = total("99", "low")
    high, _ = total("95", "high")
    parts["other"] = other_kgco2e
    return EmbodiedEstimate(
        central=central + other_kgco2e,
        low=low * LOW_FACTOR + other_kgco2e,
        high=high * HIGH_FACTOR + other_kgco2e,
        breakdown=parts,
    )
