"""What one hub web app serves: its store, prices, upload checker and limits, response cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crowdperf.hub.prices import PriceTable
from crowdperf.hub.store import Store
from crowdperf.hub.web.response_cache import CacheLimits
from crowdperf.hub.web.staging import StagingLimits
from crowdperf.hub.web.submission_checks import Checker, structure_check
from crowdperf.hub.web.upload_safety import ArchiveLimits


@dataclass(frozen=True)
class WebConfig:
    store: Store
    prices: PriceTable | None = None  # None: the query layer's default table
    checker: Checker = structure_check
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    staging_dir: Path | None = None  # where uploads are unpacked; None: a temp dir per upload
    staging: StagingLimits = field(default_factory=StagingLimits)  # bytes unpacked at once
    cache: CacheLimits | None = field(default_factory=CacheLimits)  # None: no response cache
