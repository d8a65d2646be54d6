"""How much disk uploads being unpacked may take: per uploader and in total, counted while the
archive inflates (one upload may still hold up to ``ArchiveLimits.max_total_bytes``).

    budget = StagingBudget(StagingLimits())
    with budget.account("alice") as charge:     # StagingFull (HTTP 429) when over a limit
        extract_submission(data, dest, limits, charge=charge)
    # everything charged is given back when the upload's staging folder is gone

Without it, concurrent uploads could each stage 512 MiB: a handful of tokens could fill the disk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from crowdperf.errors import HubError

MIB = 1024 * 1024


class StagingFull(HubError):
    """Uploads being unpacked already use the staging space this upload would need (HTTP 429)."""


@dataclass(frozen=True)
class StagingLimits:
    per_user_bytes: int = 512 * MIB  # one upload of the largest allowed size at a time
    total_bytes: int = 1024 * MIB

    def __post_init__(self) -> None:
        if not 0 < self.per_user_bytes <= self.total_bytes:
            raise HubError("staging limits: need 0 < per-user bytes <= total bytes")


class StagingBudget:
    """Thread-safe byte accounts of the uploads being unpacked (the server's thread pool)."""

    def __init__(self, limits: StagingLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._by_user: dict[str, int] = {}
        self._total = 0

    @property
    def in_use(self) -> int:
        return self._total

    def _charge(self, owner: str, nbytes: int) -> None:
        with self._lock:
            mine = self._by_user.get(owner, 0) + nbytes
            if mine > self.limits.per_user_bytes:
                raise StagingFull(
                    f"your uploads being unpacked would take over {self.limits.per_user_bytes // MIB} MiB",
                    hint="wait for your other upload to finish, then send this one again",
                )
            if self._total + nbytes > self.limits.total_bytes:
                raise StagingFull(
                    "the hub is unpacking too many uploads right now", hint="send it again in a minute"
                )
            self._by_user[owner] = mine
            self._total += nbytes

    @contextmanager
    def account(self, owner: str) -> Iterator[Callable[[int], None]]:
        charged = 0

        def charge(nbytes: int) -> None:
            nonlocal charged
            self._charge(owner, nbytes)
            charged += nbytes

        try:
            yield charge
        finally:
            with self._lock:
                left = self._by_user.get(owner, 0) - charged
                if left > 0:
                    self._by_user[owner] = left
                else:
                    self._by_user.pop(owner, None)
                self._total -= charged
