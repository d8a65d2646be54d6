"""Small, side-effect-free probes of the machine shared by recipes: run a tool, find a library,
read a pip distribution's version, read ``#define`` versions from C headers."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

LIB_DIRS = (
    Path("/usr/local/cuda/lib64"),
    Path("/usr/local/cuda/lib"),
    Path("/usr/lib/x86_64-linux-gnu"),
    Path("/usr/lib/aarch64-linux-gnu"),
    Path("/usr/lib64"),
    Path("/usr/lib"),
)
INCLUDE_DIRS = (
    Path("/usr/local/cuda/include"),
    Path("/usr/include"),
    Path("/usr/include/x86_64-linux-gnu"),
    Path("/usr/include/aarch64-linux-gnu"),
)


@dataclass(frozen=True)
class ToolRun:
    ok: bool
    output: str


def run_tool(argv: list[str], *, timeout: float = 30.0) -> ToolRun:
    """Run a program and return (ok, stdout+stderr); a missing program or timeout is not ok."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ToolRun(False, str(exc))
    return ToolRun(proc.returncode == 0, (proc.stdout or "") + (proc.stderr or ""))


def which(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


def ldconfig_libs(prefix: str) -> list[Path]:
    """Libraries known to the dynamic linker whose file name starts with ``prefix``."""
    ldconfig = which("ldconfig") or Path("/sbin/ldconfig")
    run = run_tool([str(ldconfig), "-p"])
    found: list[Path] = []
    if run.ok:
        for line in run.output.splitlines():
            name, _, target = line.strip().partition(" => ")
            if name.split(" ")[0].startswith(prefix) and target:
                found.append(Path(target.strip()))
    return _unique(found)


def find_libs(prefix: str, extra_dirs: Iterable[Path] = ()) -> list[Path]:
    found = ldconfig_libs(prefix)
    for folder in (*extra_dirs, *LIB_DIRS, *sorted(Path("/usr/local").glob("cuda-*/lib64"))):
        if folder.is_dir():
            found.extend(sorted(folder.glob(prefix + "*.so*")))
    return _unique(found)


def find_headers(name: str, extra_dirs: Iterable[Path] = ()) -> list[Path]:
    dirs = (*extra_dirs, *INCLUDE_DIRS, *sorted(Path("/usr/local").glob("cuda-*/include")))
    return _unique([d / name for d in dirs if (d / name).is_file()])


def dist_version(*names: str) -> tuple[str, str] | None:
    """(distribution name, version) of the first installed pip distribution among ``names``."""
    for name in names:
        try:
            return name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def dist_files_matching(dist: str, pattern: str) -> list[Path]:
    """Installed files of a pip distribution whose path matches the regex ``pattern``."""
    try:
        files = metadata.files(dist) or []
    except metadata.PackageNotFoundError:
        return []
    rx = re.compile(pattern)
    out = [Path(str(f.locate())) for f in files if rx.search(str(f))]
    return [p for p in out if p.exists()]


def header_defines(text: str) -> dict[str, str]:
    """``#define NAME VALUE`` pairs of a C header, with one level of macro indirection resolved
    (TensorRT 10 writes ``#define NV_TENSORRT_MAJOR TRT_MAJOR_ENTERPRISE``, which is what made
    CM report "Version information missing!", mlcommons/inference#1841)."""
    defines: dict[str, str] = {}
    for match in re.finditer(r"^\s*#\s*define\s+(\w+)\s+([^\s/]+)", text, flags=re.MULTILINE):
        defines[match.group(1)] = match.group(2)
    for _ in range(3):
        defines = {k: defines.get(v, v) for k, v in defines.items()}
    return defines


def version_from_defines(defines: dict[str, str], *names: str) -> str | None:
    parts = [defines.get(n) for n in names]
    if parts[0] is None or not parts[0].isdigit():
        return None
    return ".".join(p for p in parts if p is not None and p.isdigit())


def python_tag() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _unique(paths: list[Path]) -> list[Path]:
    seen: set[Path] = set()
    out = []
    for p in paths:
        real = p.resolve()
        if real not in seen:
            seen.add(real)
            out.append(p)
    return out
