"""Which devices a run asks for (``--device``/``--devices``) and which it really used.

    DeviceKind       cpu | cuda
    DeviceSelection  what the user asked: a kind and, for an accelerator, its indices
                     (``None`` = every visible one: ``--device cuda`` uses all GPUs of the host)
    UsedDevice       one device a run used, as recorded in results (index, name, uuid)

Accelerator indices are CUDA ordinals as the run sees them, i.e. after ``CUDA_VISIBLE_DEVICES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crowdperf.errors import UsageError


class DeviceKind(StrEnum):
    CPU = "cpu"
    CUDA = "cuda"


DEVICE_HELP = "cpu, cuda (every visible GPU), or cuda:N / cuda:0,2 for some of them"


@dataclass(frozen=True)
class DeviceSelection:
    kind: DeviceKind = DeviceKind.CPU
    indices: tuple[int, ...] | None = None  # None: every visible accelerator (CPU: always None)

    def __post_init__(self) -> None:
        if self.kind is DeviceKind.CPU and self.indices is not None:
            raise UsageError("--devices picks accelerators; a cpu run has none", hint="drop --devices")
        if self.indices is not None:
            if not self.indices:
                raise UsageError("--devices names no device", hint="e.g. --devices 0,1")
            if any(i < 0 for i in self.indices) or len(set(self.indices)) != len(self.indices):
                raise UsageError(
                    f"--devices must be distinct indices >= 0, got {','.join(map(str, self.indices))}",
                    hint="e.g. --devices 0,2",
                )

    @classmethod
    def parse(cls, device: str, devices: str | None = None) -> DeviceSelection:
        """``--device cpu|cuda|cuda:N[,M...]`` and ``--devices N[,M...]`` (indices of that kind)."""
        text = device.strip().lower()
        kind_text, _, index_text = text.partition(":")
        try:
            kind = DeviceKind(kind_text)
        except ValueError:
            raise UsageError(f"--device {device!r} is not one of: {DEVICE_HELP}") from None
        if index_text and devices:
            raise UsageError(f"--device {device} already names devices; drop --devices {devices}")
        listed = index_text or (devices or "")
        if not listed:
            return cls(kind)
        return cls(kind, _indices(listed, "--device" if index_text else "--devices"))

    def __str__(self) -> str:
        if self.indices is None:
            return self.kind.value
        return f"{self.kind.value}:{','.join(map(str, self.indices))}"


def _indices(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"{option} wants device indices like 0 or 0,2, got {text!r}") from None


@dataclass(frozen=True)
class UsedDevice:
    """One device a run used. The CPU is one device whatever its cores (index None)."""

    kind: DeviceKind
    index: int | None
    name: str
    uuid: str | None = None
    memory_mib: int | None = None

    @property
    def is_accelerator(self) -> bool:
        return self.kind is not DeviceKind.CPU

    @classmethod
    def from_dict(cls, data: object) -> UsedDevice:
        """The inverse of ``dataclasses.asdict`` (e.g. from provenance.json); ValueError otherwise."""
        if not isinstance(data, dict):
            raise ValueError(f"not a device record: {data!r}")
        try:
            index, uuid, memory = data.get("index"), data.get("uuid"), data.get("memory_mib")
            return cls(
                kind=DeviceKind(data["kind"]),
                index=None if index is None else int(index),
                name=str(data["name"]),
                uuid=None if uuid is None else str(uuid),
                memory_mib=None if memory is None else int(memory),
            )
        except (KeyError, TypeError) as exc:  # DeviceKind's and int's ValueError pass through
            raise ValueError(f"not a device record: {exc}") from None


def accelerators(used: tuple[UsedDevice, ...]) -> tuple[UsedDevice, ...]:
    return tuple(d for d in used if d.is_accelerator)


def describe_used(used: tuple[UsedDevice, ...]) -> str:
    """One line for people: "2 x NVIDIA H200 (cuda:0, cuda:1)", or "CPU (AMD EPYC 9654)"."""
    gpus = accelerators(used)
    if not gpus:
        return "CPU" + "".join(f" ({d.name})" for d in used[:1])
    names = " + ".join(dict.fromkeys(d.name for d in gpus))
    return f"{len(gpus)} x {names} ({', '.join(f'{d.kind}:{d.index}' for d in gpus)})"
