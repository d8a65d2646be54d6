"""Every command, fed bad input, fails cleanly: a non-zero exit, ``error:`` and the fix, no traceback.

Two corpora. The generated one walks the command tree (a new command or option is covered the day
it is added): an unknown option, an option missing its value, and every numeric option given NaN,
infinities, absurd magnitudes and negative numbers. The written one (``CASES``) holds what needs a
fixture: missing files, directories where files belong, files where directories belong, malformed
YAML and JSON, names that are paths, unknown choices. ``test_every_command_has_written_cases``
fails for a command that has none, so each new command brings its own.
"""

from __future__ import annotations

import os
import socket
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from crowdperf.cli.main import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "hub"))
from hub_lgrun import run_loadgen
from hub_trees import Entry, write_tree

runner = CliRunner()
ROOT = typer.main.get_command(app)
NOT_NUMBERS = ("nan", "inf", "-inf", "1e999", "-1", "99999999999999999999999")
UNREACHABLE = "http://127.0.0.1:9"  # discard port: nothing listens, the connection is refused


def _leaves(cmd: Any = ROOT, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    subs = getattr(cmd, "commands", None)
    if subs is None:
        yield path, cmd
        return
    for name, sub in sorted(subs.items()):
        if not getattr(sub, "hidden", False):
            yield from _leaves(sub, (*path, name))


LEAVES = dict(_leaves())


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Bad (and a few good) inputs on disk, by name, for ``{name}`` placeholders in ``CASES``."""
    base = tmp_path_factory.mktemp("bad-inputs")
    f: dict[str, Path] = {
        "missing": base / "no" / "such" / "file",
        "dir": base / "a-directory",
        "file": base / "a-file.txt",
        "bad_yaml": base / "bad.yaml",
        "nan_yaml": base / "nan.yaml",
        "inf_count_yaml": base / "inf-count.yaml",
        "list_yaml": base / "list.yaml",
        "unknown_field_yaml": base / "unknown-field.yaml",
        "slash_name_yaml": base / "slash-name.yaml",
        "text_count_yaml": base / "text-count.yaml",
        "bad_json": base / "bad.json",
        "nan_json": base / "nan.json",
        "binary": base / "binary.bin",
        "empty_dir": base / "empty-dir",
        "new": base / "new-output",
    }
    f["dir"].mkdir()
    f["empty_dir"].mkdir()
    f["file"].write_text("hello\n")
    f["bad_yaml"].write_text("cooling: [air, water\n")
    f["nan_yaml"].write_text("cooling: .nan\n")
    f["inf_count_yaml"].write_text("number_of_nodes: .inf\n")
    f["list_yaml"].write_text("- a\n- b\n")
    f["unknown_field_yaml"].write_text("colour: blue\n")
    f["slash_name_yaml"].write_text("system_name: ../../etc/passwd\nhost_slug: ../../x\n")
    f["text_count_yaml"].write_text("accelerators_per_node: many\n")
    f["bad_json"].write_text('{"data": [1, 2,\n')
    f["nan_json"].write_text('{"data": NaN, "x": 1e999}\n')
    f["binary"].write_bytes(b"\xff\xfe\x00garbage\x80")
    off = run_loadgen(base / "off", "Offline")
    tree = write_tree(base / "sub", [Entry("l4box", "Offline", off, f1=90.3)])
    db = base / "hub.sqlite"
    assert runner.invoke(app, ["hub", "import", str(tree), "--db", str(db)]).exit_code == 0
    out = {k: str(v) for k, v in f.items()}
    out.update(tree=str(tree), db=str(db), unreachable=UNREACHABLE, busy_port=str(_busy_port()))
    return out


_LISTENERS: list[socket.socket] = []


def _busy_port() -> int:
    """A loopback port something listens on for the whole module (``hub serve`` must refuse it)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    _LISTENERS.append(sock)
    return int(sock.getsockname()[1])


GEN = ["--submission-dir", "{new}", "--submitter", "O"]
# (command, args): every case must fail cleanly. ``{name}`` is a path from ``files``.
CASES: list[tuple[str, list[str]]] = [
    # run
    ("run", ["--model", "nosuch"]),
    ("run", ["--scenario", "Sideways"]),
    ("run", ["--device", "tpu"]),
    ("run", ["--device", "cuda:x"]),
    ("run", ["--devices", "a,b"]),
    ("run", ["--precision", "fp7"]),
    ("run", ["--round", "v0.1"]),
    ("run", ["--results-dir", "{file}", "--scenario", "Offline", "--mode", "accuracy", "--count", "8"]),
    ("run", ["--model-path", "{missing}", "--scenario", "Offline", "--mode", "accuracy", "--count", "8"]),
    # dataset
    ("dataset squad", ["--dataset-path", "{missing}", "--vocab-path", "{missing}"]),
    ("dataset squad", ["--dataset-path", "{dir}", "--vocab-path", "{dir}"]),
    ("dataset squad", ["--dataset-path", "{bad_json}", "--vocab-path", "{file}"]),
    ("dataset squad", ["--dataset-path", "{nan_json}", "--vocab-path", "{file}"]),
    ("dataset squad", ["--dataset-path", "{binary}", "--vocab-path", "{file}"]),
    ("dataset squad", ["--dataset-path", "{file}"]),
    ("dataset squad-accuracy", ["{missing}"]),
    ("dataset squad-accuracy", ["{dir}"]),
    ("dataset squad-accuracy", ["{bad_json}"]),
    ("dataset squad-accuracy", ["{binary}"]),
    ("dataset squad-accuracy", ["{file}", "--dtype", "float7"]),
    ("dataset squad-accuracy", ["{file}", "--model", "nosuch"]),
    # get, cache, cm
    ("get", ["nosuch"]),
    ("get", ["--tags", "nosuch,tags"]),
    ("get", ["python-venv", "--name", "../escape"]),
    ("get", ["python-venv", "--name", ".hidden"]),
    ("get", ["python-venv", "--name", "a/b"]),
    ("get", ["python-venv", "--name", "x" * 300]),
    ("get", ["python-venv", "--name", "CON"]),
    ("get", ["cuda", "--version-min", "not-a-version"]),
    ("get", ["cuda", "-o", "novalue"]),
    ("get", ["cudnn", "--tar-file", "{missing}"]),
    ("cache show", ["--tags", "nosuch"]),
    ("cache find", ["--tags", "nosuch"]),
    ("cache rm", ["--tags", "nosuch"]),
    ("cache rm", []),
    ("cm", ["frobnicate", "everything"]),
    ("cm", ["run", "script", "--tags=no,such,script"]),
    ("cm", ["run", "script", "--tags=run-mlperf,inference", "--target_qps=nan"]),
    # system, submission
    ("system describe", ["--overrides", "{missing}"]),
    ("system describe", ["--overrides", "{dir}"]),
    ("system describe", ["--overrides", "{bad_yaml}"]),
    ("system describe", ["--overrides", "{nan_yaml}"]),
    ("system describe", ["--overrides", "{inf_count_yaml}"]),
    ("system describe", ["--overrides", "{list_yaml}"]),
    ("system describe", ["--overrides", "{unknown_field_yaml}"]),
    ("system describe", ["--overrides", "{slash_name_yaml}"]),
    ("system describe", ["--overrides", "{text_count_yaml}"]),
    ("system describe", ["--overrides", "{binary}"]),
    ("system describe", ["--device", "tpu"]),
    ("submission generate", ["--results-dir", "{missing}", *GEN]),
    ("submission generate", ["--results-dir", "{file}", *GEN]),
    ("submission generate", ["--results-dir", "{empty_dir}", *GEN]),
    ("submission generate", ["--results-dir", "{dir}", "--submission-dir", "{file}", "--submitter", "O"]),
    ("submission generate", ["--results-dir", "{dir}", "--submission-dir", "{new}", "--submitter", "../x"]),
    ("submission generate", ["--results-dir", "{dir}", *GEN, "--division", "secret"]),
    ("submission generate", ["--results-dir", "{dir}", *GEN, "--category", "mobile"]),
    ("submission generate", ["--results-dir", "{dir}", *GEN, "--round", "v0.1"]),
    ("submission generate", ["--results-dir", "{dir}", *GEN, "--overrides", "{bad_yaml}"]),
    ("submission check", ["{missing}"]),
    ("submission check", ["{file}"]),
    ("submission check", ["{empty_dir}"]),
    ("submission check", ["{tree}", "--round", "v0.1"]),
    ("submission check", ["{tree}", "--official-checker", "{missing}"]),
    ("submission push", ["{missing}", "--repo-url", "{missing}"]),
    ("submission push", ["{tree}", "--repo-url", "--upload-pack=touch /tmp/pwned", "--force"]),
    ("submission push", ["{tree}", "--repo-url", "{missing}", "--branch", "-x", "--force"]),
    ("submission push", ["{tree}", "--repo-url", "{missing}", "--branch", "a..b", "--force"]),
    # hub
    ("hub import", ["{missing}", "--db", "{db}"]),
    ("hub import", ["{file}", "--db", "{db}"]),
    ("hub import", ["{empty_dir}", "--db", "{db}"]),
    ("hub import", ["{tree}", "--db", "{dir}"]),
    ("hub import", ["{tree}", "--db", "{db}", "--round", "latest"]),
    ("hub list", ["--db", "{missing}"]),
    ("hub list", ["--db", "{dir}"]),
    ("hub list", ["--db", "{file}"]),
    ("hub list", ["--db", "{db}", "--scenario", "Sideways"]),
    ("hub list", ["--db", "{db}", "--sort", "nosuch"]),
    ("hub list", ["--db", "{db}", "--price-table", "{bad_json}"]),
    ("hub list", ["--db", "{db}", "--price-table", "{nan_json}"]),
    ("hub list", ["--db", "{db}", "--price-table", "{missing}"]),
    ("hub compare", ["1", "--db", "{db}"]),
    ("hub compare", ["1", "999999", "--db", "{db}"]),
    ("hub compare", ["1", "2", "--db", "{missing}"]),
    ("hub pareto", ["--db", "{db}", "--axes", "nosuch,throughput"]),
    ("hub pareto", ["--db", "{db}", "--axes", "throughput"]),
    ("hub pareto", ["--db", "{missing}"]),
    ("hub best", ["--db", "{db}", "--objective", "nosuch"]),
    ("hub best", ["--db", "{db}", "--scenario", "Sideways"]),
    ("hub best", ["--db", "{missing}"]),
    ("hub serve", ["--db", "{db}", "--price-table", "{bad_json}"]),
    ("hub serve", ["--db", "{dir}"]),
    ("hub serve", ["--db", "{db}", "--port", "{busy_port}"]),
    ("hub serve", ["--db", "{db}", "--log-level", "loud"]),
    ("hub submit", ["{missing}", "--server", "{unreachable}", "--token", "t"]),
    ("hub submit", ["{tree}", "--server", "{unreachable}", "--token", "t"]),
    ("hub submit", ["{tree}", "--server", "not a url", "--token", "t"]),
    ("hub hide", ["1", "--server", "{unreachable}", "--token", "t"]),
    ("hub hide", ["-1", "--server", "{unreachable}", "--token", "t"]),
    ("hub hide", ["99999999999999999999999", "--server", "{unreachable}", "--token", "t"]),
    ("hub compare", ["-1", "99999999999999999999999", "--db", "{db}"]),
    ("hub delete", ["1", "--server", "{unreachable}", "--token", "t"]),
    ("hub export-site", ["{file}", "--db", "{db}"]),
    ("hub export-site", ["{new}", "--db", "{missing}"]),
    ("hub token create", ["../escape", "--db", "{db}"]),
    ("hub token create", ["", "--db", "{db}"]),
    ("hub token revoke", ["nobody", "--db", "{db}"]),
    # ui (each refused before the server starts; --no-open-browser in case one were not)
    ("ui", ["--db", "{db}", "--no-open-browser", "--host", "0.0.0.0"]),
    ("ui", ["--db", "{db}", "--no-open-browser", "--log-level", "loud"]),
    ("ui", ["--db", "{db}", "--no-open-browser", "--submitter", "../x"]),
    ("ui", ["--db", "{dir}", "--no-open-browser"]),
    ("ui", ["--db", "{db}", "--no-open-browser", "--price-table", "{bad_json}"]),
    ("ui", ["--db", "{db}", "--no-open-browser", "--price-table", "{nan_json}"]),
    ("ui", ["--db", "{db}", "--no-open-browser", "--port", "{busy_port}"]),
    # explore (the group's own options are not leaves: the generated corpus misses them)
    ("explore", ["--space", "{missing}"]),
    ("explore", ["--space", "{bad_yaml}"]),
    ("explore", ["--space", "{list_yaml}"]),
    ("explore", ["--space", "{unknown_field_yaml}"]),
    ("explore", ["--budget", "soon", "--dir", "{new}"]),
    ("explore", ["--budget", "0s", "--dir", "{new}"]),
    ("explore", ["--noise", "nan", "--dir", "{new}"]),
    ("explore", ["--accuracy-tolerance", "inf", "--dir", "{new}"]),
    ("explore", ["--screen-count", "0", "--dir", "{new}"]),
    ("explore", ["--backends", "tensorflow", "--dir", "{new}"]),
    ("explore", ["--precisions", "fp7", "--dir", "{new}"]),
    ("explore", ["--devices", "tpu", "--dir", "{new}"]),
    ("explore", ["--batch-sizes", "0", "--dir", "{new}"]),
    ("explore", ["--axis", "results_dir=x", "--dir", "{new}"]),
    ("explore", ["--axis", "nonsense", "--dir", "{new}"]),
    ("explore", ["--model", "nosuch", "--dir", "{new}"]),
    ("explore", ["--dir", "{file}", "--precisions", "fp32", "--backends", "onnxruntime"]),
    ("explore", ["--meter", "Not A Meter", "--dir", "{new}"]),  # refused before anything runs
    ("explore", ["--objective", "speed", "--dir", "{new}"]),
    ("explore", ["--max-joules-per-sample", "nan", "--dir", "{new}"]),
    ("explore status", ["{missing}"]),
    ("explore status", ["{file}"]),
    ("explore status", ["{empty_dir}"]),
    ("explore report", ["{missing}", "--db", "{db}"]),
    ("explore report", ["{empty_dir}", "--db", "{db}"]),
]


def _fill(args: list[str], files: dict[str, str]) -> list[str]:
    return [a.format(**files) if "{" in a else a for a in args]


def assert_clean_failure(argv: list[str]) -> None:
    result = runner.invoke(app, argv, env={"COLUMNS": "100"})
    shown = f"crowdperf {' '.join(argv)}\n{result.output}"
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not escaped, shown + repr(result.exception)
    assert result.exit_code != 0, shown
    assert "Traceback" not in result.output, shown
    assert "error:" in result.output, shown
    assert "internal error" not in result.output, shown


@pytest.mark.parametrize(("command", "args"), CASES, ids=[f"{c}:{' '.join(a)[:60]}" for c, a in CASES])
def test_written_case_fails_cleanly(command: str, args: list[str], files: dict[str, str]) -> None:
    assert_clean_failure([*command.split(), *_fill(args, files)])


def test_every_command_has_written_cases() -> None:
    covered = {tuple(c.split()) for c, _ in CASES}
    assert set(LEAVES) - covered == set(), "add bad-input cases for these commands to CASES"


def _numeric(param: Any) -> bool:
    """An int or float option (``float | None`` and ``list[int]`` too)."""
    annotation = param.type_descriptor.annotation
    kinds = {annotation, *typing.get_args(annotation)}
    kinds |= {arg for kind in list(kinds) for arg in typing.get_args(kind)}
    return bool(kinds & {int, float})


def _generated() -> Iterator[tuple[str, list[str]]]:
    for path, cmd in LEAVES.items():
        command = " ".join(path)
        yield command, ["--no-such-option"]
        for param in cmd.params:
            if param.param_type_name != "option" or param.is_flag or param.name in ("help",):
                continue
            flag = max(param.opts, key=len)
            yield command, [flag]  # the value is missing
            if _numeric(param):
                for bad in NOT_NUMBERS:
                    yield command, [flag, bad]


GENERATED = list(_generated())
# What a generated case needs besides its bad option, so the option is what fails (and nothing
# long-running starts if it were accepted).
BASE: dict[str, list[str]] = {
    "run": ["--scenario", "Offline", "--mode", "accuracy", "--count", "8", "--results-dir", "{new}"],
    "hub list": ["--db", "{db}"],
    "hub compare": ["1", "1", "--db", "{db}"],
    "hub pareto": ["--db", "{db}"],
    "hub best": ["--db", "{db}"],
    "hub serve": ["--db", "{missing}"],
    "ui": ["--db", "{db}", "--no-open-browser", "--host", "0.0.0.0"],  # refused, were the option taken
    "hub hide": ["1", "--server", "{unreachable}", "--token", "t"],
    "hub delete": ["1", "--server", "{unreachable}", "--token", "t"],
}


@pytest.mark.parametrize(("command", "args"), GENERATED, ids=[f"{c}:{' '.join(a)}" for c, a in GENERATED])
def test_generated_case_fails_cleanly(command: str, args: list[str], files: dict[str, str]) -> None:
    base = _fill(BASE.get(command, []), files)
    assert_clean_failure([*command.split(), *base, *args])


@pytest.mark.parametrize(
    "name", ["../../etc", "/abs/path", "a/b", "..", ".hidden", "", "x" * 65, "CON", "a\x00b"]
)
def test_a_name_that_is_a_path_is_refused_before_anything_is_made(name: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    sub = out / "sub"
    generate = ["submission", "generate", "--results-dir", str(tmp_path), "--submission-dir", str(sub)]
    assert_clean_failure([*generate, "--submitter", name])
    venv = ["get", "python-venv", "--name", name]
    assert_clean_failure(venv)
    assert not out.exists()  # not even the parent of --submission-dir
    assert not list(Path(os.environ["CROWDPERF_CACHE"]).rglob("venvs"))


def test_run_takes_a_choice_in_any_case(tmp_path: Path) -> None:
    from crowdperf.mlperf.workload import register_workload, unregister_workload

    register_workload("tiny", "synthetic_workloads:default_workload")
    try:
        args = ["run", "--scenario", "offline", "--mode", "Accuracy", "--count", "8", "--json"]
        result = runner.invoke(app, [*args, "--results-dir", str(tmp_path)])
    finally:
        unregister_workload("tiny")
    assert result.exit_code == 0, result.output
    assert '"scenario": "Offline"' in result.stdout


def test_reading_the_cache_never_creates_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "no" / "cache"
    monkeypatch.setenv("CROWDPERF_CACHE", str(cache))
    assert runner.invoke(app, ["cache", "show"]).exit_code == 0
    assert runner.invoke(app, ["cache", "find", "--tags", "cuda"]).exit_code == 3  # nothing found
    assert not (tmp_path / "no").exists()
