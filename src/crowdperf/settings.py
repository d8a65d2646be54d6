"""The one place that reads environment variables. All are prefixed ``CROWDPERF_``.

- ``CROWDPERF_CACHE``: artifact cache, generated models, feature caches
  (default ``$XDG_CACHE_HOME/crowdperf``).
- ``CROWDPERF_HUB_DB``: results hub database URL or SQLite path (default ``<cache>/hub.sqlite``).
- ``CROWDPERF_POWERCAP_DIR``: where the RAPL meter finds the kernel's powercap zones (default
  ``/sys/class/powercap``; a container may see the host's sysfs mounted elsewhere).

Documented in docs/settings.md; a test checks that every variable read here is listed there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_CACHE = "CROWDPERF_CACHE"
ENV_HUB_DB = "CROWDPERF_HUB_DB"
ENV_POWERCAP_DIR = "CROWDPERF_POWERCAP_DIR"
ALL_ENV_VARS = (ENV_CACHE, ENV_HUB_DB, ENV_POWERCAP_DIR)
DEFAULT_POWERCAP_DIR = Path("/sys/class/powercap")


@dataclass(frozen=True)
class Settings:
    cache_dir: Path
    hub_db: str
    powercap_dir: Path = DEFAULT_POWERCAP_DIR

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"

    @property
    def datasets_dir(self) -> Path:
        return self.cache_dir / "datasets"

    @property
    def features_dir(self) -> Path:
        return self.cache_dir / "features"


def load_settings() -> Settings:
    """Read the environment once; callers pass the resulting Settings down."""
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    cache_dir = Path(os.environ.get(ENV_CACHE) or Path(xdg) / "crowdperf").expanduser()
    hub_db = os.environ.get(ENV_HUB_DB) or str(cache_dir / "hub.sqlite")
    powercap = Path(os.environ.get(ENV_POWERCAP_DIR) or DEFAULT_POWERCAP_DIR)
    return Settings(cache_dir=cache_dir, hub_db=hub_db, powercap_dir=powercap)
