"""Detect what MLPerf's ``systems/<system_desc_id>.json`` needs, honestly.

Required keys: ``SYSTEM_DESC_REQUIRED_FIELDS`` in mlcommons/inference
``tools/submission/submission_checker/constants.py`` (master; same list in the v5.1 single-file
checker). The checker also requires a non-empty value for the keys in
``SYSTEM_DESC_MEANINGFUL_RESPONSE_REQUIRED_FIELDS``; what we cannot detect gets ``"unknown"`` (a
non-empty, honest value) unless the YAML overrides file supplies it.

Built from a ``HostInventory`` (``system/inventory.py``: this host by default, or the one a run's
provenance recorded) and the devices a run used: ``accelerators_per_node`` and every
``accelerator_*`` field describe those devices, never every GPU of the host (a CPU run on a GPU
host has 0 accelerators, a run on 1 of 2 GPUs has 1). Storage, network and the software stack are
read from the host generating the description (a run does not record them).
"""

from __future__ import annotations

import json
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from crowdperf.errors import DeviceError, UsageError
from crowdperf.mlperf.layout import devices_slug, host_slug
from crowdperf.names import checked_label, checked_name
from crowdperf.numbers import checked_value
from crowdperf.system.accelerators import resolve
from crowdperf.system.devices import DeviceKind, DeviceSelection, UsedDevice, accelerators
from crowdperf.system.inventory import HostInventory, host_inventory
from crowdperf.user_files import load_yaml

UNKNOWN = "unknown"

# constants.py SYSTEM_DESC_REQUIRED_FIELDS (master and v5.1), in the checker's order.
REQUIRED_FIELDS: tuple[str, ...] = (
    "division",
    "submitter",
    "status",
    "system_name",
    "number_of_nodes",
    "host_processor_model_name",
    "host_processors_per_node",
    "host_processor_core_count",
    "host_memory_capacity",
    "host_storage_capacity",
    "host_storage_type",
    "accelerators_per_node",
    "accelerator_model_name",
    "accelerator_memory_capacity",
    "framework",
    "operating_system",
    "system_type",
    "other_software_stack",
    "host_processor_frequency",
    "host_processor_caches",
    "host_memory_configuration",
    "host_processor_interconnect",
    "host_networking",
    "host_networking_topology",
    "accelerator_frequency",
    "accelerator_host_interconnect",
    "accelerator_interconnect",
    "accelerator_interconnect_topology",
    "accelerator_memory_configuration",
    "accelerator_on-chip_memories",
    "cooling",
    "hw_notes",
    "sw_notes",
    "host_network_card_count",
    "system_type_detail",
)
# constants.py SYSTEM_DESC_MEANINGFUL_RESPONSE_REQUIRED_FIELDS: must not be empty.
MEANINGFUL_FIELDS: tuple[str, ...] = (
    "division",
    "submitter",
    "system_type",
    "status",
    "system_name",
    "number_of_nodes",
    "host_processor_model_name",
    "host_processors_per_node",
    "host_processor_core_count",
    "host_memory_capacity",
    "host_memory_configuration",
    "host_storage_capacity",
    "host_storage_type",
    "host_networking",
    "host_network_card_count",
    "host_networking_topology",
    "accelerators_per_node",
    "accelerator_model_name",
    "accelerator_memory_capacity",
    "accelerator_host_interconnect",
    "accelerator_memory_configuration",
    "accelerator_interconnect",
    "cooling",
    "framework",
    "operating_system",
    "other_software_stack",
)
VALID_STATUS = ("available", "preview", "rdi")  # constants.py VALID_AVAILABILITIES
VALID_SYSTEM_TYPES = ("datacenter", "edge", "datacenter,edge", "edge,datacenter")


@dataclass(frozen=True)
class SystemDescription:
    """One host as MLPerf describes it. Attribute names are the JSON keys ('-' spelled '_')."""

    system_name: str
    host_slug: str  # the results' <system> prefix: the machine and the accelerators used (not in the JSON)
    number_of_nodes: int
    host_processor_model_name: str
    host_processors_per_node: int
    host_processor_core_count: int
    host_processor_frequency: str
    host_processor_caches: str
    host_processor_interconnect: str
    host_memory_capacity: str
    host_memory_configuration: str
    host_storage_capacity: str
    host_storage_type: str
    host_networking: str
    host_networking_topology: str
    host_network_card_count: str
    accelerators_per_node: int
    accelerator_model_name: str
    accelerator_memory_capacity: str
    accelerator_memory_configuration: str
    accelerator_frequency: str
    accelerator_host_interconnect: str
    accelerator_interconnect: str
    accelerator_interconnect_topology: str
    accelerator_on_chip_memories: str
    framework: str
    operating_system: str
    other_software_stack: str
    cooling: str
    hw_notes: str
    sw_notes: str
    system_type_detail: str = UNKNOWN
    status: str = "available"

    def to_mlperf_json(self, *, division: str, submitter: str, system_type: str) -> dict[str, Any]:
        """The systems/<id>.json object: every required key, host_slug left out."""
        data = {k.replace("on_chip", "on-chip"): v for k, v in asdict(self).items() if k != "host_slug"}
        data.update(division=division, submitter=submitter, system_type=system_type)
        # The checker treats a falsy value as empty (system_check.py required_fields_check): a
        # CPU-only host's 0 accelerators must be written "0".
        data = {k: ("0" if v == 0 and isinstance(v, int) else v) for k, v in data.items()}
        return {k: data[k] for k in REQUIRED_FIELDS} | {
            k: v for k, v in data.items() if k not in REQUIRED_FIELDS
        }

    def unknown_fields(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) == UNKNOWN]


def _pkg(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _cpu(inv: HostInventory) -> dict[str, Any]:
    return {
        "host_processor_model_name": inv.cpu_model,
        "host_processors_per_node": inv.cpu_sockets,
        # cores of one processor, as MLPerf's systems JSONs count them (e.g. 64 for each of the
        # two EPYC 9575F of tools/submission/directory_structure_samples/.../8xMI300X_2xEPYC_9575F.json)
        "host_processor_core_count": inv.cpu_physical_cores_per_socket,
        "host_processor_frequency": f"{mhz} MHz" if (mhz := inv.cpu_max_frequency_mhz) else UNKNOWN,
        "host_processor_caches": inv.cpu_caches or UNKNOWN,
    }


def _storage() -> tuple[str, str]:
    import psutil

    root = psutil.disk_usage("/").total
    kind = UNKNOWN
    try:
        out = subprocess.run(
            ["lsblk", "-d", "-n", "-o", "NAME,ROTA,TRAN,TYPE"], capture_output=True, text=True, timeout=5
        ).stdout
        kinds = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[-1] == "disk":
                name, rota = parts[0], parts[1]
                kinds.add("NVMe SSD" if name.startswith("nvme") else ("HDD" if rota == "1" else "SSD"))
        kind = ", ".join(sorted(kinds)) or UNKNOWN
    except (OSError, subprocess.SubprocessError):
        pass
    return f"{root / 1e9:.0f} GB", kind


def _network() -> tuple[str, str]:
    import psutil

    nics = [n for n, s in psutil.net_if_stats().items() if n != "lo" and s.isup]
    speeds = [f"{psutil.net_if_stats()[n].speed} Mb/s" for n in nics if psutil.net_if_stats()[n].speed]
    return (", ".join(speeds) or "Ethernet (speed unknown)") if nics else "none", str(len(nics))


NO_ACCELERATOR: dict[str, Any] = {
    "accelerators_per_node": 0,
    "accelerator_model_name": "N/A",
    "accelerator_memory_capacity": "N/A",
    "accelerator_memory_configuration": "N/A",
    "accelerator_frequency": "N/A",
    "accelerator_host_interconnect": "N/A",
    "accelerator_interconnect": "N/A",
    "accelerator_interconnect_topology": "N/A",
    "accelerator_on_chip_memories": "N/A",
}


def _accelerators(used: Sequence[UsedDevice], inv: HostInventory) -> dict[str, Any]:
    """The accelerator fields for the accelerators a run used; their details (clock, PCIe link,
    NVLink) from the inventory's record of the same GPU (by UUID), "unknown" without one."""
    gpus = accelerators(tuple(used))
    if not gpus:
        return dict(NO_ACCELERATOR)
    first, facts = gpus[0], inv.gpu(gpus[0].uuid)
    memory_mib = first.memory_mib or (facts.memory_total_mib if facts else None)
    clock = facts.max_sm_clock_mhz if facts else None
    link = (facts.pcie_generation, facts.pcie_width) if facts else (None, None)
    # NVLink joins GPUs: it is this system's interconnect only when the run used more than one
    nvlinks = facts.nvlinks_active if facts and len(gpus) > 1 else 0
    interconnect = f"NVLink ({nvlinks} links)" if nvlinks else ("N/A" if len(gpus) == 1 else UNKNOWN)
    return {
        "accelerators_per_node": len(gpus),
        "accelerator_model_name": " + ".join(dict.fromkeys(d.name for d in gpus)),
        "accelerator_memory_capacity": f"{memory_mib / 1024:.0f} GB" if memory_mib else UNKNOWN,
        "accelerator_memory_configuration": _memory_kind(first.name),
        "accelerator_frequency": f"{clock} MHz" if clock else UNKNOWN,
        "accelerator_host_interconnect": f"PCIe Gen{link[0]} x{link[1]}" if all(link) else UNKNOWN,
        "accelerator_interconnect": interconnect,
        "accelerator_interconnect_topology": UNKNOWN if len(gpus) > 1 else "N/A",
        "accelerator_on_chip_memories": UNKNOWN,
    }


def default_devices(inventory: HostInventory | None = None) -> tuple[UsedDevice, ...]:
    """What ``--device cuda`` would use on this host (every visible GPU), or the CPU without one:
    the devices ``system describe`` describes when it is not given ``--device``."""
    try:
        return resolve(DeviceSelection(DeviceKind.CUDA), inventory)
    except DeviceError:
        return resolve(DeviceSelection(DeviceKind.CPU), inventory)


def _memory_kind(gpu_name: str) -> str:
    """HBM for the datacenter parts that have it; anything else is left for the overrides file."""
    hbm = ("H100", "H200", "H800", "A100", "A800", "B100", "B200", "GH200", "GB200", "V100")
    return "HBM" if any(tag in gpu_name for tag in hbm) else UNKNOWN


def _software() -> tuple[str, str]:
    """framework (inference runtimes found) and other_software_stack (Python, LoadGen, CUDA...)."""
    runtimes = [
        f"{label} {v}"
        for label, pkg in (
            ("ONNX Runtime", "onnxruntime"),
            ("ONNX Runtime GPU", "onnxruntime-gpu"),
            ("PyTorch", "torch"),
        )
        if (v := _pkg(pkg))
    ]
    others = [f"Python {platform.python_version()}"]
    for label, pkg in (
        ("mlcommons-loadgen", "mlcommons-loadgen"),
        ("crowdperf", "crowdperf"),
        ("numpy", "numpy"),
        ("tokenizers", "tokenizers"),
    ):
        if v := _pkg(pkg):
            others.append(f"{label} {v}")
    return ", ".join(runtimes) or UNKNOWN, ", ".join(others)


def detect(
    inventory: HostInventory | None = None, devices: Sequence[UsedDevice] | None = None
) -> dict[str, Any]:
    """Everything detectable, as a dict of SystemDescription fields, for a run on ``devices``
    (default: ``default_devices``) of the host ``inventory`` describes (default: this one)."""
    inv = inventory or host_inventory()
    used = tuple(devices) if devices is not None else default_devices(inv)
    storage_cap, storage_type = _storage()
    networking, nic_count = _network()
    framework, others = _software()
    slug = "-".join(part for part in (host_slug(inv), devices_slug(used)) if part)
    return {
        "system_name": slug,
        "host_slug": slug,
        "number_of_nodes": 1,
        **_cpu(inv),
        "host_processor_interconnect": UNKNOWN,
        "host_memory_capacity": f"{inv.memory_mib / 1024:.0f} GB",
        "host_memory_configuration": UNKNOWN,  # DIMM layout needs root (dmidecode): override it
        "host_storage_capacity": storage_cap,
        "host_storage_type": storage_type,
        "host_networking": networking,
        "host_networking_topology": "N/A" if nic_count in ("0", "1") else UNKNOWN,
        "host_network_card_count": nic_count,
        **_accelerators(used, inv),
        "framework": framework,
        "operating_system": inv.operating_system,
        "other_software_stack": others,
        "cooling": UNKNOWN,  # not detectable: set it in the overrides file
        "hw_notes": "",
        "sw_notes": "Measured with crowdperf (MLPerf LoadGen harness).",
    }


# The integer fields and the range an overrides file may set them to (the checker wants counts).
INT_FIELD_RANGES: dict[str, tuple[int, int]] = {
    "number_of_nodes": (1, 100_000),
    "host_processors_per_node": (1, 1_024),
    "host_processor_core_count": (1, 1_000_000),
    "accelerators_per_node": (0, 100_000),
}
MAX_FIELD_TEXT = 2_000


def load_overrides(path: Path) -> dict[str, Any]:
    """YAML mapping of SystemDescription keys (either '-' or '_' spelling) to values. Every value is
    checked: counts are whole numbers in range, text is text (a number is taken as its text), the
    system name is a label, the host slug a name; anything else is a one-line UsageError."""
    raw = load_yaml(path, "overrides file") or {}
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: expected a mapping of field: value", hint="see docs/submission.md")
    known = {f.name for f in fields(SystemDescription)}
    out = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name not in known:
            raise UsageError(
                f"{path}: unknown system field {str(key)[:80]!r}",
                hint=f"use one of {', '.join(sorted(known))}",
            )
        out[name] = _override_value(name, value, f"{path}: {name}")
    return out


def _override_value(name: str, value: object, what: str) -> int | str:
    if name in INT_FIELD_RANGES:
        low, high = INT_FIELD_RANGES[name]
        return int(checked_value(value, what, low=low, high=high, whole=True))
    if name == "system_name":
        return checked_label(value, what)
    if name == "host_slug":
        return checked_name(value, what)  # type: ignore[arg-type]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # e.g. ``host_processor_frequency: 3800`` (finite: load_yaml checked it)
    if not isinstance(value, str):
        raise UsageError(f"{what} must be text, got {value!r}", hint="quote the value or remove the line")
    if "\x00" in value or len(value) > MAX_FIELD_TEXT:
        raise UsageError(f"{what} holds a NUL character or is over {MAX_FIELD_TEXT:,} characters")
    return value


def describe_system(
    overrides: Path | None = None,
    *,
    inventory: HostInventory | None = None,
    devices: Sequence[UsedDevice] | None = None,
) -> SystemDescription:
    """Describe a run on ``devices`` of the host ``inventory`` (defaults as ``detect``); values
    from ``overrides`` (YAML) win. Required fields are never empty."""
    data = detect(inventory, devices)
    if overrides is not None:
        data.update(load_overrides(overrides))
    desc = SystemDescription(**data)
    if desc.status not in VALID_STATUS:
        raise UsageError(f"status {desc.status!r} is not one of {VALID_STATUS}", hint="fix the overrides")
    return desc


def with_notes(desc: SystemDescription, *, hw_extra: str = "", sw_extra: str = "") -> SystemDescription:
    """Append extra notes: hardware notes to ``hw_notes`` (not to sw_notes as CM does)."""
    join = lambda a, b: " ".join(x for x in (a, b) if x)  # noqa: E731
    return replace(desc, hw_notes=join(desc.hw_notes, hw_extra), sw_notes=join(desc.sw_notes, sw_extra))


def description_from_dict(data: dict[str, Any], base: dict[str, Any] | None = None) -> SystemDescription:
    """Rebuild from a recorded ``system`` block of provenance.json that is not a host inventory:
    SystemDescription fields, or schema 1's summary (cpu, cores, memory_gib, os, gpus). Fields the
    record lacks come from ``base`` (``detect()`` with the devices the run used) or are "unknown".
    The summary's ``cores`` counted logical CPUs and its ``gpus`` were the host's, not the run's,
    so neither is taken: the core count and the accelerators stay ``base``'s."""
    known = {f.name for f in fields(SystemDescription)}
    out = dict(base) if base is not None else detect_placeholder()
    out.update({k: v for k, v in data.items() if k in known})
    for key, name in (("cpu", "host_processor_model_name"), ("os", "operating_system")):
        if data.get(key):
            out[name] = data[key]
    if data.get("memory_gib"):
        out["host_memory_capacity"] = f"{float(data['memory_gib']):.0f} GB"
    return SystemDescription(**out)


def detect_placeholder() -> dict[str, Any]:
    """All fields set to UNKNOWN (numbers to 1/0): a base to fill from partial provenance."""
    out: dict[str, Any] = {}
    for f in fields(SystemDescription):
        out[f.name] = UNKNOWN
    out.update(
        number_of_nodes=1,
        host_processors_per_node=1,
        host_processor_core_count=1,
        accelerators_per_node=0,
        hw_notes="",
        sw_notes="",
        status="available",
    )
    return out


def to_json(desc: SystemDescription) -> str:
    return json.dumps(asdict(desc), indent=2)
