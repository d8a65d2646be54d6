"""Paths of one result inside a submission tree, per round layout.

mlcommons/inference ``tools/submission/submission_checker/constants.py`` (master): ``MEASUREMENTS_PATH``,
``COMPLIANCE_PATH``, ``SRC_PATH`` and ``SYSTEM_PATH`` per version. v5.x: ``measurements/`` and
``compliance/`` trees and ``code/``; v6.x: measurements.json, user.conf, README.md and TEST01/ inside
``results/<system>/<model>/<scenario>/`` and ``src/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crowdperf.mlperf.rounds import Layout

IMPLEMENTATION = "crowdperf"


@dataclass(frozen=True)
class ResultPaths:
    org_dir: Path  # <root>/<division>/<submitter>
    system: str
    model: str
    scenario: str
    layout: Layout

    @property
    def results(self) -> Path:
        return self.org_dir / "results" / self.system / self.model / self.scenario

    @property
    def measurements_dir(self) -> Path:
        if self.layout is Layout.V6:
            return self.results
        return self.org_dir / "measurements" / self.system / self.model / self.scenario

    @property
    def measurements_json(self) -> Path:
        if self.layout is Layout.V6:
            return self.results / "measurements.json"
        return self.measurements_dir / f"{self.system}_{IMPLEMENTATION}_{self.scenario}.json"

    @property
    def compliance_dir(self) -> Path:
        if self.layout is Layout.V6:
            return self.results
        return self.org_dir / "compliance" / self.system / self.model / self.scenario

    @property
    def code_dir(self) -> Path:
        top = "src" if self.layout is Layout.V6 else "code"
        return self.org_dir / top / self.model / IMPLEMENTATION

    @property
    def system_json(self) -> Path:
        return self.org_dir / "systems" / f"{self.system}.json"
