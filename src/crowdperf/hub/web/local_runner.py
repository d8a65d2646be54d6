"""``crowdperf ui``'s runner: benchmarks launched from the browser, one at a time, each as a child
``crowdperf run`` process (never in the server process).

    runner = LocalRunner(RunnerConfig(workdir=cache / "ui", store=store))
    view = runner.submit(choice)        # queued; the worker thread starts it when the machine is free
    runner.view(view.id)                # a snapshot (JobView) at any time, from any request
    runner.cancel(view.id)              # queued: dropped; running: SIGTERM, the partial test removed;
                                        # importing: too late (the run ended well), nothing changes

One worker thread takes the jobs in order. Before a job starts it takes the machine's benchmark
slot (a lock file, locks.py): a second ``crowdperf ui`` on the same cache waits for it, its job
shown as *waiting* with the holder's name. The child runs

    python -m crowdperf.hub.web.run_child <server pid> run <the choice's options>
        --results-dir <workdir>/runs/<job>/results --json --events-file <workdir>/runs/<job>/events.jsonl

in its job's directory (every path the server's, none the request's), stdout to ``stdout.json``,
stderr to ``stderr.log``. The worker follows both files while it runs (``LineFollower``). When
the run ends well its results go into the hub (``run_share.import_run``); a failure keeps the
CLI's own ``error:``/``fix:`` lines; a cancelled run is never imported. ``job.json`` in the job's
directory records the outcome.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from crowdperf import jsonio
from crowdperf.atomic import atomic_write_json
from crowdperf.errors import BusyError, UsageError
from crowdperf.hub.store import Store
from crowdperf.hub.web.run_form import LaunchChoice
from crowdperf.hub.web.run_jobs import (
    ACTIVE,
    CANCELLABLE,
    Job,
    JobState,
    JobView,
    LineFollower,
    ShareOutcome,
    error_lines,
)
from crowdperf.hub.web.run_share import import_run
from crowdperf.locks import exclusive
from crowdperf.mlperf.run_event_json import EventRecord

log = logging.getLogger(__name__)
MAX_QUEUE = 20
KEEP_JOBS = 50  # finished jobs a server remembers (their directories stay on disk)
SLOT = "this machine's benchmark slot (one run at a time)"


@dataclass(frozen=True)
class RunnerConfig:
    workdir: Path  # runs/<job>/ and the machine's benchmark slot live here
    store: Store  # the hub a finished run is imported into
    submitter: str = "local"  # the submitter of the hub's copy of a run
    python: str = sys.executable
    env: Mapping[str, str] | None = None  # the child's environment (default: the server's)
    stop_grace_s: float = 30.0  # after SIGTERM, the child's time to remove its partial test
    poll_s: float = 0.2
    slot_retry_s: float = 1.0

    @property
    def slot_lock(self) -> Path:
        return self.workdir / "benchmark-slot.lock"


class LocalRunner:
    def __init__(self, config: RunnerConfig) -> None:
        self.config = config
        self._cond = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._queue: deque[Job] = deque()
        self._closing = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._worker = threading.Thread(target=self._work, name="ui-runner", daemon=True)
        self._worker.start()

    # --- what requests call -------------------------------------------------------------

    def submit(self, choice: LaunchChoice) -> JobView:
        with self._cond:
            if self._closing:
                raise UsageError("the server is stopping", hint="start `crowdperf ui` again")
            if len(self._queue) >= MAX_QUEUE:
                raise UsageError(f"{MAX_QUEUE} runs are queued already", hint="wait for some to finish")
            job_id = self._new_id()
            directory = self.config.workdir / "runs" / job_id
            job = Job(job_id, choice, directory, choice.summary())
            self._jobs[job_id] = job
            self._queue.append(job)
            self._forget_old()
            self._cond.notify_all()
            return self._view(job)

    def cancel(self, job_id: str) -> JobView | None:
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.state in CANCELLABLE and not job.cancel_requested:
                job.cancel_requested = True
                if job in self._queue:  # never started: nothing to stop
                    self._queue.remove(job)
                    self._end(job, JobState.CANCELLED)
                job.changed()
                self._cond.notify_all()
            return self._view(job)

    def view(self, job_id: str) -> JobView | None:
        with self._cond:
            job = self._jobs.get(job_id)
            return None if job is None else self._view(job)

    def version(self, job_id: str) -> int | None:
        with self._cond:
            job = self._jobs.get(job_id)
            return None if job is None else job.version

    def views(self) -> list[JobView]:
        """Every remembered job, newest first."""
        with self._cond:
            return [self._view(j) for j in reversed(self._jobs.values())]

    def current(self) -> JobView | None:
        """The job a page shows by default: the running one, else the next queued, else the newest."""
        with self._cond:
            jobs = list(self._jobs.values())
            active = [j for j in jobs if j.state in ACTIVE and j not in self._queue]
            pick = active or list(self._queue) or jobs[-1:]
            return self._view(pick[0]) if pick else None

    def record_share(self, job_id: str, outcome: ShareOutcome) -> None:
        with self._cond:
            job = self._jobs.get(job_id)
            if job is not None:
                job.shares[outcome.action] = outcome
                job.changed()

    def shutdown(self, timeout_s: float = 60.0) -> None:
        """Drop the queue, stop the running child as a cancel does, and wait for the worker."""
        with self._cond:
            self._closing = True
            for job in list(self._queue):
                job.cancel_requested = True
                self._end(job, JobState.CANCELLED)
            self._queue.clear()
            for job in self._jobs.values():
                if job.state in ACTIVE:
                    job.cancel_requested = True
            self._cond.notify_all()
        self._worker.join(timeout_s)

    # --- inside ------------------------------------------------------------------------------

    def _new_id(self) -> str:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        n = 1
        while f"{stamp}-{n}" in self._jobs or (self.config.workdir / "runs" / f"{stamp}-{n}").exists():
            n += 1
        return f"{stamp}-{n}"

    def _view(self, job: Job) -> JobView:
        position = self._queue.index(job) + 1 if job in self._queue else None
        return job.view(position)

    def _forget_old(self) -> None:
        ended = [k for k, j in self._jobs.items() if j.state not in ACTIVE]
        for key in ended[: max(0, len(ended) - KEEP_JOBS)]:
            del self._jobs[key]

    def _end(self, job: Job, state: JobState) -> None:
        job.state, job.ended_at = state, time.time()
        job.changed()
        with contextlib.suppress(OSError):
            job.directory.mkdir(parents=True, exist_ok=True)
            atomic_write_json(job.directory / "job.json", jsonio.document("ui-job", 1, {
                "id": job.id, "state": state.value, "command": job.command,
                "created_at": job.created_at, "started_at": job.started_at, "ended_at": job.ended_at,
                "result_ids": list(job.result_ids), "error": list(job.error),
            }))  # fmt: skip

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return
                job = self._queue.popleft()  # "queued" without a position: starting
                job.changed()
            try:
                with self._machine_slot(job) as free:
                    if free:
                        self._run(job)
            except Exception as exc:  # a bug must not stop the worker: the job says it
                log.exception("ui runner: job %s", job.id)
                with self._cond:
                    job.error = (f"internal error: {type(exc).__name__}: {exc}"[:500],)
                    self._end(job, JobState.FAILED)

    @contextlib.contextmanager
    def _machine_slot(self, job: Job) -> Iterator[bool]:
        """Hold this machine's benchmark slot; yields False when the job was cancelled meanwhile."""
        with contextlib.ExitStack() as stack:
            while True:
                with self._cond:
                    cancelled = job.cancel_requested
                    if cancelled:
                        self._end(job, JobState.CANCELLED)
                if cancelled:
                    yield False
                    return
                try:
                    stack.enter_context(exclusive(self.config.slot_lock, SLOT))
                    break
                except BusyError as exc:
                    with self._cond:
                        if job.waiting_for != exc.message:
                            job.state, job.waiting_for = JobState.WAITING, exc.message
                            job.changed()
                    time.sleep(self.config.slot_retry_s)
            yield True

    def _argv(self, job: Job) -> list[str]:
        return [
            self.config.python, "-m", "crowdperf.hub.web.run_child", str(os.getpid()),
            *job.choice.run_args(), "--results-dir", str(job.results_dir), "--json",
            "--events-file", str(job.directory / "events.jsonl"),
        ]  # fmt: skip

    def _run(self, job: Job) -> None:
        job.directory.mkdir(parents=True, exist_ok=True)
        stderr_path = job.directory / "stderr.log"
        with (job.directory / "stdout.json").open("wb") as out, stderr_path.open("wb") as err:
            proc = subprocess.Popen(
                self._argv(job), stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=job.directory,
                env=dict(self.config.env) if self.config.env is not None else None,
                start_new_session=True,  # a Ctrl-C in the server's terminal is the server's to handle
            )  # fmt: skip
        with self._cond:
            self._proc = proc
            job.state, job.started_at, job.waiting_for = JobState.RUNNING, time.time(), ""
            job.changed()
        stderr = self._follow(
            job, proc, LineFollower(job.directory / "events.jsonl"), LineFollower(stderr_path)
        )
        with self._cond:
            self._proc = None
            if job.cancel_requested:
                self._end(job, JobState.CANCELLED)
                return
            if proc.returncode != 0:
                job.error = error_lines(stderr) or (
                    f"error: crowdperf run exited with status {proc.returncode}",
                )
                self._end(job, JobState.FAILED)
                return
            job.state = JobState.IMPORTING
            job.changed()
        self._import(job)

    def _follow(
        self, job: Job, proc: subprocess.Popen[bytes], events: LineFollower, stderr: LineFollower
    ) -> list[str]:
        """Follow the child until it exits (stopping it when cancelled); its stderr lines."""
        said: list[str] = []
        signalled_at: float | None = None
        while True:
            exited = proc.poll() is not None
            self._take(job, events.flush() if exited else events.read_new(),
                       stderr.flush() if exited else stderr.read_new(), said)  # fmt: skip
            if exited:
                return said
            with self._cond:
                cancel = job.cancel_requested
                if cancel and signalled_at is None:
                    job.state = JobState.CANCELLING
                    job.changed()
            if cancel and signalled_at is None:
                signalled_at = time.monotonic()
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)  # the run stops as on Ctrl-C
            elif signalled_at is not None and time.monotonic() - signalled_at > self.config.stop_grace_s:
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=self.config.poll_s)

    def _take(self, job: Job, event_lines: list[str], stderr_lines: list[str], said: list[str]) -> None:
        if not event_lines and not stderr_lines:
            return
        said += stderr_lines
        del said[:-200]
        with self._cond:
            for line in event_lines:
                record = EventRecord.from_json(line)
                if record is not None:
                    job.apply(record)
            for line in stderr_lines:
                if line.strip():
                    job.log.append(line)
            job.changed()

    def _import(self, job: Job) -> None:
        outcome = import_run(
            self.config.store, job.directory, job.choice, self.config.submitter, f"ui:{job.id}"
        )
        with self._cond:
            job.result_ids, job.import_note = outcome.result_ids, outcome.note
            self._end(job, JobState.FINISHED)
