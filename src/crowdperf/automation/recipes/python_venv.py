"""``python-venv --name N [--version X.Y]``: a virtual environment under the cache, created with an
interpreter found on this machine that matches the version; a clear error lists those found."""

from __future__ import annotations

import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from crowdperf.automation.probe import run_tool, which
from crowdperf.automation.recipe import Artifact, Recipe, RecipeContext, RecipeOption
from crowdperf.errors import RecipeError, UsageError
from crowdperf.names import child_path


@dataclass(frozen=True)
class Interpreter:
    path: Path
    version: str


def interpreter_version(python: Path) -> str | None:
    run = run_tool([str(python), "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
    return run.output.strip() if run.ok and re.fullmatch(r"\d+\.\d+\.\d+", run.output.strip()) else None


def _well_known() -> list[Path]:
    """Interpreters outside PATH: pyenv's versions (its shims only run the selected one), /opt."""
    found: list[Path] = []
    for pattern_root, pattern in (
        (Path.home() / ".pyenv" / "versions", "*/bin/python3"),
        (Path("/opt"), "python*/bin/python3"),
        (Path("/usr/local/bin"), "python3.*"),
    ):
        if pattern_root.is_dir():
            found += sorted(p for p in pattern_root.glob(pattern) if not p.name.endswith("-config"))
    return found


def find_interpreters() -> list[Interpreter]:
    """Distinct Python 3 interpreters (PATH, pyenv, /opt) plus the running one, newest first."""
    names = ["python3", *(f"python3.{minor}" for minor in range(8, 16))]
    candidates = [Path(sys.executable), *(p for p in (which(n) for n in names) if p), *_well_known()]
    unique = list(dict.fromkeys(candidates))
    with ThreadPoolExecutor(max_workers=8) as pool:  # each probe starts an interpreter (~0.2 s)
        versions = list(pool.map(interpreter_version, unique))
    seen: dict[str, Interpreter] = {}
    for path, version in zip(unique, versions, strict=True):
        if version and version.startswith("3.") and version not in seen:
            seen[version] = Interpreter(path, version)
    return sorted(seen.values(), key=lambda i: tuple(int(x) for x in i.version.split(".")), reverse=True)


def venv_dir(ctx: RecipeContext) -> Path:
    name = ctx.option("name")
    if not name:
        raise UsageError("python-venv needs --name", hint="e.g. crowdperf get python-venv --name mlperf")
    return child_path(ctx.settings.cache_dir / "venvs", name, "--name")


class PythonVenvRecipe(Recipe):
    name = "python-venv"
    tags = frozenset({"get", "install", "python-venv", "venv", "python"})
    summary = "a named virtual environment with a matching Python"
    options = (
        RecipeOption("name", "name of the venv (created under the cache's venvs/)"),
        RecipeOption("without_pip", "create it without pip (faster)", in_cache_key=False, is_flag=True),
    )

    def detect(self, ctx: RecipeContext) -> Artifact:
        folder = venv_dir(ctx)
        python = folder / "bin" / "python"
        version = interpreter_version(python) if python.exists() else None
        if version is None:
            raise RecipeError(f"no venv named {ctx.option('name')!r} yet")
        if not ctx.constraint.allows(version):
            raise RecipeError(
                f"venv {ctx.option('name')!r} has Python {version}, not {ctx.constraint.describe()}"
            )
        return self._artifact(folder, version)

    def can_install(self, ctx: RecipeContext) -> bool:
        return True

    def install(self, ctx: RecipeContext) -> Artifact:
        folder = venv_dir(ctx)
        existing = interpreter_version(folder / "bin" / "python") if folder.exists() else None
        if existing is not None:  # a working venv of another version: never replaced silently
            raise RecipeError(
                f"venv {ctx.option('name')!r} exists with Python {existing}, not {ctx.constraint.describe()}",
                hint=f"pick another --name, or delete {folder} first",
            )
        found = find_interpreters()
        matching = [i for i in found if ctx.constraint.allows(i.version)]
        if not matching:
            listed = ", ".join(f"{i.version} ({i.path})" for i in found) or "none"
            raise RecipeError(
                f"no Python interpreter matches {ctx.constraint.describe()}; found: {listed}",
                hint="install that Python (e.g. apt-get install python3.X, or pyenv), or change --version",
            )
        running = next((i for i in matching if i.path == Path(sys.executable)), None)
        chosen = running if running and ctx.constraint.is_any else matching[0]  # else: newest match
        # A venv bakes its absolute path into its scripts, so it is built in place and removed on failure.
        if folder.exists():
            shutil.rmtree(folder)  # a broken leftover (no working bin/python)
        args = [str(chosen.path), "-m", "venv", str(folder)]
        if ctx.flag("without_pip"):
            args.insert(3, "--without-pip")
        try:
            run = run_tool(args, timeout=600)
            if not run.ok:
                raise RecipeError(f"{chosen.path} -m venv failed: {run.output.strip()[-300:]}")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return self._artifact(folder, chosen.version, chosen.path)

    def _artifact(self, folder: Path, version: str, base: Path | None = None) -> Artifact:
        meta = {"base_interpreter": str(base)} if base else {}
        return Artifact(
            self.name,
            version,
            {"venv": folder, "python": folder / "bin" / "python"},
            tuple(sorted(self.tags)),
            (),
            meta,
            "cache-install",
        )
