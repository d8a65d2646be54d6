"""What every CM translation shares: the result type, the CM flags that mean nothing to crowdperf
(each with the reason it says), and the notes and switches common to every command
(``cm_translate`` for get/cache/pull, ``cm_mlperf`` for the MLPerf scripts)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from crowdperf.automation.cm_syntax import CmCommand
from crowdperf.errors import UsageError


@dataclass(frozen=True)
class Translation:
    """Native argv lists to run in order (empty for a no-op), and what was dropped or changed:
    every CM flag or variation that changes nothing in crowdperf gets a note saying so."""

    commands: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()
    verbose: bool = False
    dry_run: bool = False  # CM's --fake_run: print the native commands, run nothing


# CM flags every script accepts that mean nothing to crowdperf, each with the reason it says.
IGNORED = {
    "quiet": "crowdperf never prompts",
    "silent": "crowdperf prints the native command and its results, nothing else",  # also -s
    "print_deps": "crowdperf has no dependency tree to print; `crowdperf get` shows each recipe",
    "skip_sys_utils": "crowdperf installs no system packages",
    "docker": "crowdperf runs natively, without docker",
}
USED = {"verbose", "v", "fake_run"}  # handled by every translation (_verbose, _dry_run)
RECIPE_FLAGS = {"version": "--version", "version_min": "--version-min", "version_max": "--version-max"}
FORCE_FLAGS = ("rerun", "new", "force")


def unknown_flag(flag: str, known: Sequence[str]) -> UsageError:
    close = difflib.get_close_matches(flag, list(known), n=3, cutoff=0.6)
    hint = (
        f"did you mean {', '.join('--' + c for c in close)}?"
        if close
        else "known: " + ", ".join("--" + k for k in sorted(known))
    )
    return UsageError(f"CM option --{flag} is not supported by crowdperf", hint=hint)


def common_notes(cm: CmCommand) -> list[str]:
    notes = [f"--{k}: ignored ({IGNORED[k]})" for k in cm.flags if k in IGNORED]
    notes += [f"--env.{k}: ignored (crowdperf passes no environment variables between steps)" for k in cm.env]
    if dry_run(cm):
        notes.append("--fake_run: the native commands are printed, not run")
    return notes


def dry_run(cm: CmCommand) -> bool:
    return "fake_run" in cm.flags


def verbose(cm: CmCommand) -> bool:
    return "verbose" in cm.flags or "v" in cm.flags
