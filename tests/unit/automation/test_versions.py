from __future__ import annotations

import pytest

from crowdperf.automation.versions import VersionConstraint
from crowdperf.errors import UsageError


def test_exact_version_is_a_prefix_match() -> None:
    c = VersionConstraint(exact="12")
    assert c.allows("12.4.1") and c.allows("12") and not c.allows("13.0") and not c.allows("1.2")


def test_min_and_max_are_inclusive_and_max_covers_the_named_series() -> None:
    c = VersionConstraint(minimum="12.2", maximum="12")
    assert c.allows("12.2") and c.allows("12.9.79") and not c.allows("12.1") and not c.allows("13.0")


def test_unknown_version_only_satisfies_no_constraint() -> None:
    assert VersionConstraint().allows(None)
    assert not VersionConstraint(minimum="1").allows(None)
    assert not VersionConstraint(minimum="1").allows("unknown")


def test_bad_bounds_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="not a version"):
        VersionConstraint(exact="twelve")
    with pytest.raises(UsageError, match="above"):
        VersionConstraint(minimum="13", maximum="12")
