"""What happens to a finished run of ``crowdperf ui``: into the local hub at once, and, when the
user asks on its page, out to the world (generate the submission tree, check it, upload it to a
shared hub with a token, or push it to a results repository).

Each step calls the library function the CLI command calls (``submission generate|check|push``,
``hub import``, ``hub submit``'s client) and answers a ``ShareOutcome``: what it did, or the
failure in the CLI's own words (``error: ...`` and ``  fix: ...``, as cli/boundary.py prints them).
The values a user types (submitter, hub URL, token, repository URL) are checked here first; none
is ever put on a command line or into a shell.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from crowdperf.errors import CrowdperfError, UsageError
from crowdperf.formatting import plural
from crowdperf.hub import queries
from crowdperf.hub.importer import import_tree
from crowdperf.hub.query_types import ResultFilter
from crowdperf.hub.store import Store
from crowdperf.hub.web.client import submit_tree
from crowdperf.hub.web.run_form import LaunchChoice
from crowdperf.hub.web.run_jobs import ShareOutcome
from crowdperf.mlperf.rounds import Category, default_round
from crowdperf.names import checked_name
from crowdperf.submission.checker import check_submission
from crowdperf.submission.generate import GenerateOptions, generate_submission
from crowdperf.submission.push import push_submission

MAX_FIELD = 2000
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:[\w./~-]+$")  # git@github.com:org/results.git


def cli_error_lines(exc: CrowdperfError) -> tuple[str, ...]:
    """``error: <message>`` and ``  fix: <hint>``, as the CLI prints a failure."""
    return (f"error: {exc.message}", *((f"  fix: {exc.hint}",) if exc.hint else ()))


def outcome_of(action: str, step: Callable[[], tuple[str, ...]]) -> ShareOutcome:
    """Run one step; its lines, or its failure as the CLI would print it."""
    try:
        return ShareOutcome(action, True, step())
    except CrowdperfError as exc:
        return ShareOutcome(action, False, cli_error_lines(exc))


@dataclass(frozen=True)
class HubImport:
    result_ids: tuple[int, ...]
    note: tuple[str, ...]  # why nothing was imported, or the failure


def import_run(store: Store, job_dir: Path, choice: LaunchChoice, submitter: str, source: str) -> HubImport:
    """The finished run's results into the local hub: a submission tree of the run (``<job>/hub-tree``,
    as ``submission generate`` writes it), imported under ``source`` (one per job, so its rows are
    found again)."""
    if not choice.importable:
        why = ("Not added to the hub: the hub takes a scenario's accuracy and performance runs "
               "together; launch with mode 'all' to be ranked.")  # fmt: skip
        return HubImport((), (why,))
    try:
        tree = _generate(
            job_dir / "results", job_dir / "hub-tree", submitter, choice.division, choice.category
        )
        import_tree(store, tree, source=source)
    except CrowdperfError as exc:
        return HubImport((), cli_error_lines(exc))
    page = queries.list_results(
        store, ResultFilter(source=source, include_hidden=True), sort="id", limit=None
    )
    ids = tuple(r.id for r in page.rows)
    if not ids:
        return HubImport((), ("The hub already held these results (an identical earlier import).",))
    return HubImport(ids, ())


def _generate(results: Path, tree: Path, submitter: str, division: str, category: str) -> Path:
    opts = GenerateOptions(
        results, tree, submitter, division, Category(category), default_round(), force=True
    )
    generate_submission(opts)
    return tree


def generate_tree(job_dir: Path, choice: LaunchChoice, submitter: str, division: str) -> tuple[str, ...]:
    """``submission generate`` into ``<job>/submission`` (replaced), as the user named it."""
    checked_name(submitter, "submitter")
    if division not in ("closed", "open"):
        raise UsageError(f"division {division[:20]!r} is not closed or open")
    opts = GenerateOptions(
        job_dir / "results", job_dir / "submission", submitter, division, Category(choice.category),
        default_round(), force=True,
    )  # fmt: skip
    report = generate_submission(opts)
    lines = [
        f"{plural(len(report.results), 'result')} placed in {report.submission_dir} (round {report.round})"
    ]
    lines += [f"  {r.system} / {r.model} / {r.scenario}: {r.division} ({r.reason})" for r in report.results]
    return (*lines, *(f"note: {n}" for n in report.notes))


def check_tree(tree: Path) -> tuple[str, ...]:
    """``submission check``: each result OK or FAIL with its findings and fixes, then the verdict."""
    _require(tree)
    report = check_submission(tree, default_round())
    lines = []
    for r in report.results:
        lines.append(f"{'OK' if r.passed else 'FAIL'} {r.key}")
        lines += [f"    [{f.rule}] {f.message}\n      fix: {f.fix}" for f in r.findings]
    verdict = "submission looks OK" if report.passed else "submission has errors"
    return (*lines, f"crowdperf ({report.round}): {verdict}")


def upload_tree(tree: Path, server: str, token: str) -> tuple[str, ...]:
    """``hub submit``: the tree to a shared hub, with the user's upload token."""
    _require(tree)
    result = submit_tree(tree, server=checked_server(server), token=checked_token(token))
    r = result.report
    lines = [
        f"uploaded {result.bytes_sent:,} bytes to {result.server} as {r['owner']}: {r['imported']} imported, "
        f"{r['unchanged']} unchanged, {len(r['failed'])} failed; results labelled {r['verdict']}"
    ]
    return (*lines, *(f"  failed {line}" for line in r["failed"]))


def push_tree(tree: Path, repo_url: str, force: bool) -> tuple[str, ...]:
    """``submission push``: commit the tree on a new branch of a results repository and push it."""
    _require(tree)
    pushed, _report = push_submission(tree, checked_repo_url(repo_url), default_round(), force=force)
    checked = "passed" if pushed.check_passed else "failed (pushed anyway: forced)"
    return (
        f"pushed branch {pushed.branch} (commit {pushed.commit[:12]}) to {pushed.repo_url}",
        f"the check {checked}; open a pull request from {pushed.branch}",
    )


def _require(tree: Path) -> None:
    if not tree.is_dir():
        raise UsageError("there is no submission tree yet", hint="generate it first (step 1)")


def _plain(value: str, what: str) -> str:
    if not value or len(value) > MAX_FIELD or _CONTROL_OR_SPACE.search(value):
        raise UsageError(f"{what} must be 1 to {MAX_FIELD} characters without spaces or control characters")
    return value


def checked_server(url: str) -> str:
    _plain(url, "hub URL")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UsageError(
            f"hub URL {url[:80]!r} is not a URL ({exc})", hint="e.g. https://hub.example.org"
        ) from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"hub URL {url[:80]!r} is not http(s)://host", hint="e.g. https://hub.example.org")
    return url


def checked_token(token: str) -> str:
    return _plain(token, "upload token")


def checked_repo_url(url: str) -> str:
    """A repository git may clone and push: https://, ssh://, file:// or user@host:path; never an
    option (``-...``) or a transport that runs commands (``ext::``)."""
    _plain(url, "repository URL")
    if url.startswith(("https://", "ssh://", "file://")) or _SCP_LIKE.match(url):
        return url
    raise UsageError(
        f"repository URL {url[:80]!r} is not https://, ssh://, file:// or user@host:path",
        hint="e.g. https://github.com/ORG/results.git or git@github.com:ORG/results.git",
    )
