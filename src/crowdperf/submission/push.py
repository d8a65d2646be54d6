"""``crowdperf submission push``: commit a checked submission tree to a results repository.

Real git (``gitcmd.git``; authentication is the user's git setup): clone ``repo_url`` into a
temporary directory, check out a new branch, copy the tree in, commit, push the branch, and report
the branch and commit to open a pull request from. A tree that fails ``check`` is refused unless
``force``. The tree is locked from the check to the push (the lock ``submission generate`` takes):
a ``generate`` into it meanwhile, or a second push of it, fails at once naming this one, so what is
pushed is what was checked.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from crowdperf.errors import MissingInputError, SubmissionError, UsageError
from crowdperf.gitcmd import git, git_or_none
from crowdperf.locks import exclusive, tree_lock
from crowdperf.mlperf.rounds import Round
from crowdperf.submission.checker import CheckReport, check_submission


@dataclass(frozen=True)
class PushResult:
    repo_url: str
    branch: str
    commit: str
    check_passed: bool


def _git(*args: str, cwd: Path | None = None) -> str:
    return git(*args, cwd=cwd, error=SubmissionError)


def push_submission(
    tree: Path,
    repo_url: str,
    rnd: Round,
    *,
    branch: str | None = None,
    message: str | None = None,
    force: bool = False,
) -> tuple[PushResult, CheckReport]:
    if not tree.is_dir():
        raise MissingInputError(f"no submission tree at {tree}", hint="run `crowdperf submission generate`")
    with exclusive(tree_lock(tree), f"submission directory {tree}"):
        return _push_locked(tree, repo_url, rnd, branch=branch, message=message, force=force)


def _push_locked(
    tree: Path, repo_url: str, rnd: Round, *, branch: str | None, message: str | None, force: bool
) -> tuple[PushResult, CheckReport]:
    report = check_submission(tree, rnd)
    if not report.passed and not force:
        failing = sum(not r.passed for r in report.results)
        raise SubmissionError(
            f"{tree} fails `crowdperf submission check` ({failing} results)",
            hint="fix what check reports, or push anyway with --force",
        )
    branch = branch or f"crowdperf-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    _check_branch(branch)
    with tempfile.TemporaryDirectory(prefix="crowdperf-push-") as tmp:
        clone = Path(tmp) / "repo"
        _git("clone", "--quiet", "--", repo_url, str(clone))  # "--": a URL is never an option
        _git("checkout", "--quiet", "-B", branch, cwd=clone)
        for top in tree.iterdir():
            dest = clone / top.name
            if top.is_dir():
                shutil.copytree(top, dest, dirs_exist_ok=True)
            else:
                shutil.copy2(top, dest)
        _git("add", "--all", cwd=clone)
        if not _git("status", "--porcelain", cwd=clone):
            raise SubmissionError(
                "nothing to commit: the repository already has this tree", hint="nothing to do"
            )
        msg = message or f"crowdperf submission ({rnd.name}, {report.n_ok} results)"
        # The user's git identity signs the commit; a machine without one gets a neutral identity.
        identity = (
            []
            if _has_identity(clone)
            else ["-c", "user.name=crowdperf", "-c", "user.email=crowdperf@localhost"]
        )
        _git(*identity, "commit", "--quiet", "-m", msg, cwd=clone)
        commit = _git("rev-parse", "HEAD", cwd=clone)
        _git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=clone)
    return PushResult(repo_url, branch, commit, report.passed), report


def _check_branch(branch: str) -> None:
    """git's own rule for branch names (``git check-ref-format --branch``), before any clone."""
    bad = UsageError(
        f"--branch {branch[:80]!r} is not a valid git branch name",
        hint="use letters, digits, '-', '_', '/' and '.', e.g. crowdperf-h200-offline",
    )
    if not branch or branch.startswith("-") or "\x00" in branch:  # an option, or not an argv word
        raise bad
    if git_or_none("check-ref-format", "--branch", branch) is None:
        raise bad


def _has_identity(repo: Path) -> bool:
    return git_or_none("config", "user.email", cwd=repo) is not None
