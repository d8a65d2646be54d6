"""Checks run on an uploaded submission tree before it is imported.

A ``Checker`` takes the unpacked tree's root and returns a ``CheckVerdict``. The default,
``structure_check``, only looks at the MLPerf layout (``<division>/<submitter>/{systems,results}``
with at least one performance log) and labels results *unchecked*. When the project's submission
checker exists, pass it instead (``WebConfig(checker=...)``): results it passes are *checked*.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crowdperf.errors import CrowdperfError, SubmissionError

DIVISIONS = ("closed", "open", "network")
# what a checker raises on content it cannot read: never the server's 500
CHECKER_CONTENT_ERRORS = (CrowdperfError, OSError, ValueError, KeyError, TypeError, IndexError)


@dataclass(frozen=True)
class CheckVerdict:
    verdict: str  # "passed" | "failed" | "unchecked" (the values of results.checker_verdict)
    notes: str
    root: Path  # the directory holding the division folders


Checker = Callable[[Path], CheckVerdict]


def submission_root(tree: Path) -> Path:
    """The directory with the division folders: the tree itself or its single top folder."""
    if any((tree / d).is_dir() for d in DIVISIONS):
        return tree
    children = [p for p in tree.iterdir() if p.is_dir()]
    if len(children) == 1 and any((children[0] / d).is_dir() for d in DIVISIONS):
        return children[0]
    raise SubmissionError(
        "upload has no closed/, open/ or network/ folder at its top",
        hint="pack the submission tree's root (the folder holding closed/ or open/)",
    )


def structure_check(tree: Path) -> CheckVerdict:
    """Structure only: division/submitter/{systems,results} and a performance log somewhere."""
    root = submission_root(tree)
    submitters = [s for d in DIVISIONS if (root / d).is_dir() for s in (root / d).iterdir() if s.is_dir()]
    if not submitters:
        raise SubmissionError("upload has a division folder but no submitter folder in it")
    for sub in submitters:
        for part in ("systems", "results"):
            if not (sub / part).is_dir():
                raise SubmissionError(f"{sub.relative_to(root)}/ has no {part}/ folder")
    logs = [p for sub in submitters for p in (sub / "results").rglob("mlperf_log_summary.txt")]
    if not logs:
        raise SubmissionError("upload holds no results/.../mlperf_log_summary.txt")
    return CheckVerdict(
        verdict="unchecked",
        notes=f"structure only: {len(submitters)} submitter folder(s), {len(logs)} LoadGen summaries",
        root=root,
    )


def submission_checker(round_name: str | None = None) -> Checker:
    """The project's MLPerf submission checker (``crowdperf.submission.checker.check_submission``)
    behind the structure check. One verdict per upload: *passed* when every result passes, else
    *failed* with the findings."""
    from crowdperf.mlperf.rounds import default_round, get_round
    from crowdperf.submission.checker import check_submission

    rnd = get_round(round_name) if round_name else default_round()

    def check(tree: Path) -> CheckVerdict:
        structure = structure_check(tree)
        try:
            report = check_submission(structure.root, rnd)
        except CHECKER_CONTENT_ERRORS as exc:
            # content the checker could not read (a corrupt log line): the upload is labelled
            # failed and the importer still stores its good results and records the bad ones
            reason = str(exc).replace(f"{structure.root}/", "").replace(str(tree), "<upload>")
            notes = f"submission checker ({rnd.name}) stopped: {reason}"
            return CheckVerdict("failed", notes, structure.root)
        failed = [r for r in report.results if not r.passed]
        notes = "; ".join(f"{r.key}: {f.message}" for r in failed[:20] for f in r.findings[:3])
        verdict = "passed" if report.passed else "failed"
        ok = len(report.results) - len(failed)
        summary = f"submission checker ({rnd.name}): {ok} ok, {len(failed)} with findings"
        return CheckVerdict(verdict=verdict, notes=f"{summary}. {notes}".strip(), root=structure.root)

    return check
