"""Run MLPerf's own submission checker from a local copy of mlcommons/inference (subprocess).

Supports both shapes of ``tools/submission/``: the modular ``submission_checker/`` package (master,
v6.x: ``python -m submission_checker.main`` from ``tools/submission``) and the single-file
``submission_checker.py`` (tags up to v5.1.x). The verdict is MLPerf's final line:
"SUMMARY: submission looks OK" or "SUMMARY: submission has errors".
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from crowdperf.errors import MissingInputError, SubmissionError
from crowdperf.mlperf.rounds import Round

OK_LINE = "SUMMARY: submission looks OK"


@dataclass(frozen=True)
class OfficialVerdict:
    passed: bool
    version: str
    command: tuple[str, ...]
    errors: tuple[str, ...]  # the checker's ERROR lines
    output: str  # everything it printed

    @property
    def output_tail(self) -> str:
        return self.output[-4000:]


def checker_command(inference_repo: Path, submission: Path, rnd: Round, csv: Path) -> tuple[list[str], Path]:
    tools = inference_repo / "tools" / "submission"
    args = ["--input", str(submission.resolve()), "--version", rnd.name, "--csv", str(csv)]
    if (tools / "submission_checker" / "main.py").is_file():
        return [sys.executable, "-m", "submission_checker.main", *args], tools
    if (tools / "submission_checker.py").is_file():
        return [sys.executable, str(tools / "submission_checker.py"), *args], tools
    raise MissingInputError(
        f"no MLPerf submission checker under {tools}",
        hint="pass the root of a mlcommons/inference checkout (git clone https://github.com/mlcommons/inference)",
    )


def run_official_checker(
    inference_repo: Path, submission: Path, rnd: Round, timeout_s: int = 900
) -> OfficialVerdict:
    with tempfile.TemporaryDirectory(prefix="crowdperf-official-") as tmp:
        cmd, cwd = checker_command(inference_repo, submission, rnd, Path(tmp) / "summary.csv")
        try:
            proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise SubmissionError(
                f"MLPerf's checker ran over {timeout_s} s", hint="check the tree size"
            ) from exc
    out = proc.stdout + proc.stderr
    if "invalid choice" in out and "--version" in out:
        raise SubmissionError(
            f"this copy of MLPerf's checker does not know round {rnd.name}",
            hint="check out the inference repository tag/branch of that round",
        )
    errors = tuple(line.strip() for line in out.splitlines() if " ERROR" in line or line.startswith("ERROR"))
    return OfficialVerdict(OK_LINE in out and proc.returncode == 0, rnd.name, tuple(cmd), errors, out)
