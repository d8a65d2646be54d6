"""One exception tree for everything crowdperf expects to go wrong.

    CrowdperfError                 exit 1   base; message is one or two lines with the fix
    ├── UsageError                 exit 2   bad option value or combination
    ├── MissingInputError          exit 3   a file or directory the user named is not there
    ├── ChecksumError              exit 4   a file's MD5/SHA does not match the expected one
    ├── DownloadError              exit 5   a download failed (HTTP, connection, truncated)
    ├── DeviceError                exit 6   the requested device cannot really be used (no GPU,
    │                                       CUDA EP would fall back to CPU, torch without CUDA)
    ├── BackendError               exit 7   the inference framework failed or is missing
    ├── RecipeError                exit 8   an automation recipe could not detect/install its artifact
    ├── ResultsError               exit 9   a results directory or LoadGen log is unusable
    ├── SubmissionError            exit 10  a submission tree could not be generated or pushed
    ├── HubError                   exit 11  the results hub (database, import, server) failed
    ├── BusyError                  exit 12  another crowdperf process is writing the same place
    └── InterruptedRun             exit 130 Ctrl-C; partial output was removed

Foreign exceptions (onnxruntime, torch, subprocess, HTTP) are mapped to one of these at the
boundary with ``raise ... from exc``; the CLI prints ``error: <message>`` and ``  fix: <hint>`` and
exits with ``exc.exit_code`` (cli/boundary.py). Outside the tree, the command line's own usage
errors (an unknown option, a missing value) exit 2, an ``OSError`` exits 1 with the file and the
reason, and anything else is a bug: "internal error", exit 70. Tracebacks only with ``--verbose``.
"""

from __future__ import annotations


class CrowdperfError(Exception):
    """Base of every expected failure. ``hint`` says what to do about it."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"


class UsageError(CrowdperfError):
    exit_code = 2


class MissingInputError(CrowdperfError):
    exit_code = 3


class ChecksumError(CrowdperfError):
    exit_code = 4


class DownloadError(CrowdperfError):
    exit_code = 5


class DeviceError(CrowdperfError):
    exit_code = 6


class BackendError(CrowdperfError):
    exit_code = 7


class RecipeError(CrowdperfError):
    exit_code = 8


class ResultsError(CrowdperfError):
    exit_code = 9


class SubmissionError(CrowdperfError):
    exit_code = 10


class HubError(CrowdperfError):
    exit_code = 11


class BusyError(CrowdperfError):
    exit_code = 12


class InterruptedRun(CrowdperfError):
    exit_code = 130
