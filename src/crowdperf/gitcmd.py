"""Real git, one way: every git command crowdperf runs (push a submission, clone a tree to
import, read its own commit) goes through ``git``, which never prompts (``GIT_TERMINAL_PROMPT=0``:
a missing credential fails instead of hanging a CLI or a server) and maps failures to the
caller's error type with git's own last words."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from crowdperf.errors import CrowdperfError


class GitFailed(CrowdperfError):
    """Raised when the caller names no error type of its own."""


def git(
    *args: str,
    cwd: Path | None = None,
    timeout_s: float = 600,
    error: type[CrowdperfError] = GitFailed,
    hint: str = "check the repository URL and your git credentials",
) -> str:
    """``git args...`` in ``cwd``; its stdout, stripped. A missing git, a timeout or a non-zero
    exit raise ``error`` naming the subcommand and git's message."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout_s, env=env
        )
    except FileNotFoundError as exc:
        raise error(
            "git is not installed", hint="install git (crowdperf get sys-utils names the package)"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise error(f"git {args[0]} did not finish in {timeout_s:.0f} s", hint=hint) from exc
    if proc.returncode != 0:
        raise error(f"git {args[0]} failed: {proc.stderr.strip()[-500:]}", hint=hint)
    return proc.stdout.strip()


def git_or_none(*args: str, cwd: Path | None = None, timeout_s: float = 5) -> str | None:
    """``git args...``'s stdout, or None when git is missing or says no (a question, not a task)."""
    try:
        return git(*args, cwd=cwd, timeout_s=timeout_s) or None
    except CrowdperfError:
        return None
