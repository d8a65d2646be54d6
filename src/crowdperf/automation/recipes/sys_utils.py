"""``sys-utils`` (CM: ``get sys-utils-cm``): git, a C/C++ compiler and the other tools the flow uses,
each found or reported missing with the install command for the detected OS."""

from __future__ import annotations

import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from crowdperf.automation.probe import run_tool, which
from crowdperf.automation.recipe import Artifact, Recipe, RecipeContext
from crowdperf.errors import RecipeError


@dataclass(frozen=True)
class Tool:
    name: str  # what the report calls it
    commands: tuple[str, ...]  # executables that provide it, first found wins
    required: bool
    packages: dict[str, str]  # OS family -> package name


TOOLS = (
    Tool("git", ("git",), True, {"debian": "git", "rhel": "git", "macos": "git", "alpine": "git"}),
    Tool(
        "cc",
        ("cc", "gcc", "clang"),
        True,
        {"debian": "gcc", "rhel": "gcc", "macos": "xcode-select --install", "alpine": "gcc"},
    ),
    Tool("c++", ("c++", "g++", "clang++"), False, {"debian": "g++", "rhel": "gcc-c++", "alpine": "g++"}),
    Tool("make", ("make",), False, {"debian": "make", "rhel": "make", "macos": "make", "alpine": "make"}),
    Tool("tar", ("tar",), True, {"debian": "tar", "rhel": "tar", "macos": "gnu-tar", "alpine": "tar"}),
    Tool(
        "unzip", ("unzip",), False, {"debian": "unzip", "rhel": "unzip", "macos": "unzip", "alpine": "unzip"}
    ),
    Tool(
        "curl", ("curl", "wget"), False, {"debian": "curl", "rhel": "curl", "macos": "curl", "alpine": "curl"}
    ),
    Tool(
        "cmake", ("cmake",), False, {"debian": "cmake", "rhel": "cmake", "macos": "cmake", "alpine": "cmake"}
    ),
)
INSTALLERS = {
    "debian": "sudo apt-get install -y",
    "rhel": "sudo dnf install -y",
    "macos": "brew install",
    "alpine": "apk add",
}


def os_family(release: Mapping[str, str] | None = None) -> str:
    """The package family of this OS from its os-release fields (``ID``, ``ID_LIKE``; read with
    ``platform.freedesktop_os_release()`` when not given)."""
    if platform.system() == "Darwin":
        return "macos"
    if release is None:
        try:
            release = platform.freedesktop_os_release()
        except OSError:
            return "unknown"
    ids = f"{release.get('ID', '')} {release.get('ID_LIKE', '')}".lower()
    for family, words in (
        ("debian", ("debian", "ubuntu")),
        ("rhel", ("rhel", "fedora", "centos", "rocky")),
        ("alpine", ("alpine",)),
    ):
        if any(w in ids for w in words):
            return family
    return "unknown"


def install_hint(tools: list[Tool], family: str) -> str:
    packages = sorted({t.packages.get(family, t.name) for t in tools})
    if family == "macos" and "xcode-select --install" in packages:
        packages.remove("xcode-select --install")
        return "xcode-select --install" + (f"; brew install {' '.join(packages)}" if packages else "")
    return f"{INSTALLERS.get(family, 'install with your package manager:')} {' '.join(packages)}"


def tool_version(path: Path) -> str | None:
    run = run_tool([str(path), "--version"], timeout=10)
    match = re.search(r"(\d+\.\d+(?:\.\d+)?)", run.output) if run.output else None
    return match.group(1) if match else None


class SysUtilsRecipe(Recipe):
    name = "sys-utils"
    tags = frozenset({"get", "sys-utils", "sys-utils-cm", "detect-os"})
    summary = "git, a C compiler and the other command-line tools the flow uses"

    def detect(self, ctx: RecipeContext) -> Artifact:
        family = os_family()
        found: dict[str, dict[str, str | None]] = {}
        missing: list[Tool] = []
        for tool in TOOLS:
            path = next((p for p in (which(c) for c in tool.commands) if p), None)
            if path is None:
                missing.append(tool)
                continue
            found[tool.name] = {"path": str(path), "version": tool_version(path)}
        required = [t for t in missing if t.required]
        if required:
            raise RecipeError(
                f"missing required tools: {', '.join(t.name for t in required)}",
                hint=install_hint(missing, family),
            )
        meta = {
            "os_family": family,
            "tools": found,
            "missing_optional": [t.name for t in missing],
            "install_missing": install_hint(missing, family) if missing else None,
        }
        paths = {name: Path(str(info["path"])) for name, info in found.items()}
        return Artifact(self.name, None, paths, tuple(sorted(self.tags)), (), meta, "system")
