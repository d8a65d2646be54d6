"""A fake ``/sys/class/powercap`` tree in a temporary directory (this machine has none, and a real
one is read-only): RAPL zones with ``name``, ``energy_uj``, ``max_energy_range_uj``, and a thread
that advances the counters as if each zone drew a constant power, wrapping as the kernel does."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class FakePowercap:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.ranges: dict[str, int] = {}

    def zone(self, zone_id: str, name: str, *, energy_uj: int = 0, range_uj: int = 262_143_328_850) -> Path:
        """``intel-rapl:<zone_id>`` (e.g. "0" for package 0, "0:2" for its third subzone)."""
        path = self.root / f"intel-rapl:{zone_id}"
        path.mkdir()
        (path / "name").write_text(name + "\n")
        (path / "max_energy_range_uj").write_text(f"{range_uj}\n")
        self.ranges[zone_id] = range_uj
        self.set(zone_id, energy_uj)
        return path

    def set(self, zone_id: str, energy_uj: int) -> None:
        """Replace the counter atomically (a reader never sees a half-written value)."""
        path = self.root / f"intel-rapl:{zone_id}" / "energy_uj"
        tmp = path.with_name(f".energy_uj.{threading.get_ident()}")
        tmp.write_text(f"{energy_uj}\n")
        os.replace(tmp, path)

    @contextmanager
    def drawing(self, watts: dict[str, float], hz: float = 200.0) -> Iterator[None]:
        """Counters follow ``watts`` (zone id -> W) from now on, from wall-clock time, wrapped at
        each zone's range, until the block ends."""
        stop = threading.Event()
        start = time.time()

        def feed() -> None:
            while True:
                elapsed = time.time() - start
                for zone_id, w in watts.items():
                    self.set(zone_id, int(w * elapsed * 1e6) % self.ranges[zone_id])
                if stop.wait(1 / hz):
                    return

        thread = threading.Thread(target=feed, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def server_tree(root: Path) -> FakePowercap:
    """One package with its DRAM subzone, as a Xeon shows them, plus the zones that must not be
    counted (core and uncore are inside the package; psys spans the platform; mmio repeats it)."""
    fake = FakePowercap(root)
    fake.zone("0", "package-0")
    fake.zone("0:0", "core")
    fake.zone("0:1", "uncore")
    fake.zone("0:2", "dram")
    fake.zone("1", "psys")
    mmio = root / "intel-rapl-mmio:0"
    mmio.mkdir()
    (mmio / "name").write_text("package-0\n")
    return fake
