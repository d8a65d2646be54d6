"""CM's MLPerf app scripts -> ``crowdperf run`` / ``crowdperf submission generate|push``.

Flag names and meanings follow CM's ``run-mlperf-inference-app`` (alias of ``generate-run-cmds``),
``generate-mlperf-inference-submission`` and ``push-mlperf-inference-results-to-github`` input
mappings (../shared/reference/mlperf-bert-and-cm.md 4.3, 4.5). One deliberate difference: CM maps
``--hw_notes_extra`` of the app to the *software* notes; here it goes to ``--hw-notes-extra``.

Nothing is dropped silently: a flag or variation that changes nothing here gets a note saying why
(``IGNORED_RUN_FLAGS``, ``NOTE_VARIATIONS``, ``--implementation``). CM's app fetches the model and
data set a run needs; crowdperf fetches only when asked, so the run translation adds ``--download``
(the run still checks the device and every other cheap precondition first).
"""

from __future__ import annotations

from crowdperf import plugins
from crowdperf.automation.cm_common import (
    IGNORED,
    USED,
    Translation,
    common_notes,
    dry_run,
    unknown_flag,
    verbose,
)
from crowdperf.automation.cm_syntax import CmCommand
from crowdperf.errors import UsageError

RUN_APP_TAGS = (
    {"generate-run-cmds"},
    {"run-mlperf", "inference"},
    {"run-mlperf-inference-app"},
    {"run", "mlperf", "inference"},
)
MODES = {
    "find-performance": "find-performance",
    "performance-only": "performance",
    "accuracy-only": "accuracy",
    "populate-readme": "all",
    "submission": "all",
    "all-modes": "all",
}
# Variations accepted and what each means here ("" = used by the translation itself).
NOTE_VARIATIONS = {
    "short": "crowdperf writes the same submission tree in either style",
    "full": "crowdperf writes the same submission tree in either style",
    "dashboard": "crowdperf uploads nowhere by itself (`crowdperf hub submit` shares results)",
    "compliance": "",
    "all-scenarios": "",
    "mlcommons-python": "crowdperf is the implementation (MLPerf's reference BERT pre- and post-processing)",
    "reference": "crowdperf is the implementation (MLPerf's reference BERT pre- and post-processing)",
}
# Run-app flags accepted and ignored, with the reason each note gives.
IGNORED_RUN_FLAGS = {
    "clean": "every run writes a fresh run directory; there is nothing to clean",
    "hw_name": "the system name comes from the hardware (`crowdperf system describe`)",
    "gpu_name": "the GPUs are detected (`crowdperf system describe`)",
}
SCENARIOS = {s.lower(): s for s in ("SingleStream", "MultiStream", "Server", "Offline")}
DEVICES = {"cpu": "cpu", "cuda": "cuda", "gpu": "cuda"}
BACKEND_ALIASES = {"torch": "pytorch"}  # CM's other spellings of crowdperf backends
PRECISIONS = {
    "fp32": "fp32",
    "float32": "fp32",
    "fp16": "fp16",
    "float16": "fp16",
    "bf16": "bf16",
    "bfloat16": "bf16",
    "int8": "int8",
    "fp8": "fp8",
    "float8": "fp8",
}
IMPLEMENTATIONS = {"reference", "mlcommons-python", "python"}
SUBMISSION_KEYS = (
    "submitter",
    "division",
    "category",
    "hw_name",
    "hw_notes_extra",
    "sw_notes_extra",
    "submission_dir",
)
QPS_KEYS = ("target_qps", "offline_target_qps", "server_target_qps")
LATENCY_KEYS = ("target_latency", "singlestream_target_latency", "multistream_target_latency")


def is_run_app(tags: frozenset[str]) -> bool:
    return any(t <= tags for t in RUN_APP_TAGS) and "submission" not in tags


def is_push(tags: frozenset[str]) -> bool:
    return {"push", "submission"} <= tags


def is_generate_submission(tags: frozenset[str]) -> bool:
    return {"generate", "submission"} <= tags


def _models() -> set[str]:
    """Models and backends: whatever the installed plugins register (crowdperf.plugins)."""
    return set(plugins.names(plugins.WORKLOADS))


def _backends() -> dict[str, str]:
    installed = plugins.names(plugins.BACKENDS)
    aliases = {alias: name for alias, name in BACKEND_ALIASES.items() if name in installed}
    return {**{name: name for name in installed}, **aliases}


def _choice(value: str, table: dict[str, str] | set[str], what: str) -> str:
    key = value.lower() if isinstance(table, dict) else value
    if key not in table:
        options = sorted(table) if isinstance(table, set) else sorted(set(table))
        raise UsageError(
            f"{what} {value!r} is not supported by crowdperf", hint=f"use one of: {', '.join(options)}"
        )
    return table[key] if isinstance(table, dict) else value


def _round_of(cm: CmCommand) -> str | None:
    rounds = [v for v in cm.variations if v.startswith("r") and v[1:2].isdigit()]
    return "v" + rounds[-1][1:].removesuffix("-dev").removesuffix("_default") if rounds else None


def _run_mode(cm: CmCommand) -> str:
    picked = [v for v in cm.variations if v in MODES]
    if len(picked) > 1:
        raise UsageError(f"variations {', '.join('_' + p for p in picked)} exclude each other")
    if picked:
        return MODES[picked[0]]
    mode = cm.flag("mode")
    if mode:
        return _choice(
            mode, {"performance": "performance", "accuracy": "accuracy", "compliance": "compliance"}, "--mode"
        )
    return "find-performance"  # CM's default in the submission-generation group


def _run_flags(cm: CmCommand, argv: list[str], notes: list[str]) -> None:
    backends = _backends()
    simple: dict[str, tuple[str, dict[str, str] | set[str]]] = {
        "model": ("--model", _models()),
        "device": ("--device", DEVICES),
        "backend": ("--backend", backends),
        "framework": ("--backend", backends),
        "precision": ("--precision", PRECISIONS),
        "category": ("--category", {"edge": "edge", "datacenter": "datacenter"}),
        "execution_mode": ("--execution-mode", {"test": "test", "valid": "valid", "fast": "test"}),
    }
    numeric = {
        "test_query_count": "--count",
        "threads": "--threads",
        "num_threads": "--threads",
        "batch_size": "--batch-size",
        "results_dir": "--results-dir",
        "output_dir": "--results-dir",
    }
    qps = {cm.flags[k] for k in QPS_KEYS if k in cm.flags}
    latency = {cm.flags[k] for k in LATENCY_KEYS if k in cm.flags}
    for values, option in ((qps, "--target-qps"), (latency, "--target-latency-ms")):
        if len(values) > 1:
            raise UsageError(
                f"different per-scenario targets ({', '.join(sorted(values))}) for one {option}",
                hint="run one scenario at a time with --scenario=... and its target",
            )
        if values:
            argv += [option, values.pop()]
    for key, value in cm.flags.items():
        if key in simple:
            option, table = simple[key]
            argv += [option, _choice(value, table, "--" + key)]
            if key == "execution_mode" and value == "fast":
                notes.append("--execution-mode=fast: crowdperf has test and valid; using test")
        elif key in numeric:
            argv += [numeric[key], value]
        elif key == "implementation":
            _choice(value, IMPLEMENTATIONS, "--implementation")
            notes.append(
                f"--implementation={value}: ignored (crowdperf is the implementation: MLPerf's "
                "reference BERT pre- and post-processing, its LoadGen)"
            )
        elif key in ("out", "json"):
            argv += [] if "--json" in argv else ["--json"]
        elif key in IGNORED_RUN_FLAGS:
            notes.append(f"--{key}: ignored ({IGNORED_RUN_FLAGS[key]})")
        elif key in SUBMISSION_KEYS or key in {"scenario", "mode", "rerun", *QPS_KEYS, *LATENCY_KEYS}:
            continue  # used by translate_run_app or the submission steps (or noted there)
        elif key not in IGNORED and key not in USED:
            raise unknown_flag(
                key,
                [
                    *simple,
                    *numeric,
                    "implementation",
                    "scenario",
                    "mode",
                    *IGNORED_RUN_FLAGS,
                    *SUBMISSION_KEYS,
                    *QPS_KEYS,
                    *LATENCY_KEYS,
                ],
            )


def translate_run_app(cm: CmCommand) -> Translation:
    unknown = [
        v
        for v in cm.variations
        if v not in MODES and v not in NOTE_VARIATIONS and _round_of(CmCommand("", "", (), (v,))) is None
    ]
    if unknown:
        raise UsageError(
            f"variation {', '.join('_' + u for u in unknown)} of generate-run-cmds is not supported",
            hint="supported: " + ", ".join("_" + v for v in sorted({*MODES, "all-scenarios"})),
        )
    notes = common_notes(cm)
    mode = _run_mode(cm)
    scenario = (
        "all"
        if "all-scenarios" in cm.variations
        else SCENARIOS.get((cm.flag("scenario") or "offline").lower())
    )
    if scenario is None:
        raise UsageError(
            f"--scenario={cm.flag('scenario')} is not an MLPerf scenario",
            hint="SingleStream, MultiStream, Server or Offline",
        )
    run = ["run", "--scenario", scenario, "--mode", mode]
    _run_flags(cm, run, notes)
    run.append("--download")
    notes.append(
        "CM fetches the model and data set a run needs: --download added (crowdperf fetches only when asked)"
    )
    notes += [f"_{v}: ignored ({NOTE_VARIATIONS[v]})" for v in cm.variations if NOTE_VARIATIONS.get(v)]
    if "compliance" in cm.variations and "submission" not in cm.variations:
        notes.append(
            "_compliance: only used with _submission; run `crowdperf run --mode compliance` for TEST01"
        )
    if _round_of(cm):  # _r5.1-dev: that round's rules and seeds
        run += ["--round", str(_round_of(cm))]
    if "python" in cm.adr:
        name = cm.adr["python"].get("name")
        notes.append(
            f"--adr.python.name={name}: crowdperf runs in its own interpreter; "
            f"`crowdperf get python-venv --name {name}` creates or shows that venv"
        )
    notes += [f"--adr.{dep}.*: ignored" for dep in cm.adr if dep != "python"]
    if "rerun" in cm.flags:
        notes.append("--rerun: crowdperf always runs again; it never reuses earlier results")
    if "populate-readme" in cm.variations:
        notes.append("_populate-readme: every run dir records the command, versions and system anyway")
    commands = [tuple(run)]
    if "submission" in cm.variations:
        commands += _submission_after_run(cm, run, notes)
    else:
        notes += [
            f"--{k}: only used with _submission or `generate,inference,submission`"
            for k in SUBMISSION_KEYS
            if k in cm.flags and k != "category"
        ]
    return Translation(tuple(commands), tuple(notes), verbose(cm), dry_run(cm))


def _submission_after_run(cm: CmCommand, run: list[str], notes: list[str]) -> list[tuple[str, ...]]:
    """CM's _submission: all modes, compliance (closed division only), then generate + check."""
    commands: list[tuple[str, ...]] = []
    division = cm.flag("division") or "open"
    if division == "closed" or "compliance" in cm.variations:
        compliance = list(run)
        compliance[compliance.index("--mode") + 1] = "compliance"
        commands.append(tuple(compliance))
    results = cm.flag("results_dir", "output_dir")
    if not results:
        raise UsageError("_submission needs --results_dir (where the runs go)")
    flags = dict(cm.flags)
    flags.setdefault("submission_dir", results.rstrip("/") + "-submission")
    generate = translate_generate(
        CmCommand(
            "run",
            "script",
            ("generate", "inference", "submission"),
            cm.variations,
            {**flags, "run_checker": "yes"},
        ),
        after_run=True,
    )
    notes += list(generate.notes)
    return [*commands, *generate.commands]


# generate,inference,submission flags accepted and ignored, with the reason each note gives.
IGNORED_GENERATE_FLAGS = {
    "tar": "crowdperf does not pack the tree; `tar czf` it, or `crowdperf submission push` it",
    "preprocess_submission": "the tree is written in its final form (logs truncated, nothing to preprocess)",
    "status": "systems/*.json say status `available`; change it with --overrides",
    "out": "`submission generate` prints a table",
    "rerun": "generate always writes the tree anew",
    "hw_name": "the system name comes from the hardware (`crowdperf system describe`)",
    "skip_truncation": "accuracy logs are always truncated as MLPerf requires",
}
# The run's own flags: used by the run step of _submission, meaningless to generate alone.
RUN_ONLY_FLAGS = {
    "model", "device", "backend", "framework", "implementation", "precision", "scenario", "mode",
    "execution_mode", "test_query_count", "threads", "num_threads", "batch_size", "gpu_name",
    *QPS_KEYS, *LATENCY_KEYS,
}  # fmt: skip


def translate_generate(cm: CmCommand, *, after_run: bool = False) -> Translation:
    """``after_run``: part of ``_submission``, whose run step used the run's flags."""
    results, submission = cm.flag("results_dir", "output_dir"), cm.flag("submission_dir")
    if not results or not submission:
        raise UsageError("generate,inference,submission needs --results_dir and --submission_dir")
    argv = ["submission", "generate", "--results-dir", results, "--submission-dir", submission]
    mapping = {
        "submitter": "--submitter",
        "division": "--division",
        "category": "--category",
        "hw_notes_extra": "--hw-notes-extra",
        "sw_notes_extra": "--sw-notes-extra",
    }
    used = {"run_checker", "run-checker", "results_dir", "output_dir", "submission_dir", "version", "clean"}
    notes = common_notes(cm)
    for key, value in cm.flags.items():
        if key in mapping:
            argv += [mapping[key], value]
        elif key in IGNORED_GENERATE_FLAGS:
            notes.append(f"--{key}: ignored ({IGNORED_GENERATE_FLAGS[key]})")
        elif key in RUN_ONLY_FLAGS:
            if not after_run:
                notes.append(f"--{key}: ignored (generate takes every result under --results_dir)")
        elif key not in used and key not in IGNORED and key not in USED and key not in IGNORED_RUN_FLAGS:
            raise unknown_flag(key, [*mapping, *used, *IGNORED_GENERATE_FLAGS])
    if "clean" in cm.flags:
        argv.append("--force")
        notes.append("--clean: --force added (an existing submission tree is replaced)")
    round_ = _round_of(cm) or (("v" + cm.flags["version"].lstrip("v")) if "version" in cm.flags else None)
    if round_:
        argv += ["--round", round_]
    commands = [tuple(argv)]
    if (cm.flag("run_checker", "run-checker") or "no").lower() in {"yes", "true", "1", "on"}:
        commands.append(("submission", "check", submission, *(("--round", round_) if round_ else ())))
    return Translation(tuple(commands), tuple(notes), verbose(cm), dry_run(cm))


def translate_push(cm: CmCommand) -> Translation:
    submission, repo = cm.flag("submission_dir"), cm.flag("repo_url")
    if not submission:
        raise UsageError("push,github,mlperf,inference,submission needs --submission_dir")
    if not repo:
        raise UsageError(
            "push needs --repo_url (your fork of the results repository)",
            hint="e.g. --repo_url=https://github.com/ORG/mlperf_inference_submissions_v5.1",
        )
    argv = ["submission", "push", submission, "--repo-url", repo]
    branch, message = cm.flag("repo_branch", "branch"), cm.flag("commit_message")
    if branch:
        argv += ["--branch", branch]
    if message:
        argv += ["--message", message]
    known = {"submission_dir", "repo_url", "repo_branch", "branch", "commit_message"}
    for key in cm.flags:
        if key not in known and key not in IGNORED and key not in USED:
            raise unknown_flag(key, sorted(known))
    return Translation((tuple(argv),), tuple(common_notes(cm)), verbose(cm), dry_run(cm))
