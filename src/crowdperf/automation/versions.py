"""Version constraints for recipes: ``--version`` (exact or prefix), ``--version-min``, ``--version-max``.

``--version 12`` accepts 12.4.1 (prefix match on release components), as CM's users expect when they
ask for "CUDA 12"; ``--version-min``/``--version-max`` are inclusive bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from crowdperf.errors import UsageError


def parse_version(text: str) -> Version | None:
    """A comparable version, or None when ``text`` is not a version (e.g. 'unknown')."""
    try:
        return Version(text.strip())
    except (InvalidVersion, AttributeError):
        return None


def _checked(text: str | None, option: str) -> Version | None:
    if text is None:
        return None
    version = parse_version(text)
    if version is None:
        raise UsageError(f"{option} {text!r} is not a version", hint="use dotted numbers, e.g. 12.4")
    return version


@dataclass(frozen=True)
class VersionConstraint:
    exact: str | None = None
    minimum: str | None = None
    maximum: str | None = None

    def __post_init__(self) -> None:
        _checked(self.exact, "--version")
        low, high = _checked(self.minimum, "--version-min"), _checked(self.maximum, "--version-max")
        if low is not None and high is not None and _above_max(low, high):
            raise UsageError(f"--version-min {self.minimum} is above --version-max {self.maximum}")

    @property
    def is_any(self) -> bool:
        return self.exact is None and self.minimum is None and self.maximum is None

    def allows(self, version: str | None) -> bool:
        """True when ``version`` satisfies every bound; an unknown version only satisfies no bounds."""
        if self.is_any:
            return True
        parsed = parse_version(version) if version else None
        if parsed is None:
            return False
        if self.exact is not None:
            wanted = Version(self.exact).release
            if parsed.release[: len(wanted)] != wanted:
                return False
        if self.minimum is not None and parsed < Version(self.minimum):
            return False
        return not (self.maximum is not None and _above_max(parsed, Version(self.maximum)))

    def describe(self) -> str:
        parts = []
        if self.exact:
            parts.append(f"=={self.exact}")
        if self.minimum:
            parts.append(f">={self.minimum}")
        if self.maximum:
            parts.append(f"<={self.maximum}")
        return ",".join(parts) or "any"


def _above_max(version: Version, maximum: Version) -> bool:
    # "--version-max 12" means "any 12.x": compare only as many components as the bound names.
    return version.release[: len(maximum.release)] > maximum.release
