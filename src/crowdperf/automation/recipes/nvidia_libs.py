"""``cudnn`` and ``tensorrt``: detect system and pip installs with their versions; ``--tar-file F``
installs NVIDIA's tarball into the cache after validating it (version header + libraries present)."""

from __future__ import annotations

import re
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from crowdperf.automation.probe import (
    dist_files_matching,
    dist_version,
    find_headers,
    find_libs,
    header_defines,
    version_from_defines,
)
from crowdperf.automation.recipe import Artifact, Recipe, RecipeContext, RecipeOption, VariationGroup
from crowdperf.automation.resolve import promote
from crowdperf.errors import MissingInputError, RecipeError


@dataclass(frozen=True)
class LibSpec:
    """What distinguishes cuDNN from TensorRT for detection and tarball validation."""

    name: str
    header: str
    version_macros: tuple[str, ...]
    lib_prefix: str
    pip_dists: tuple[str, ...]
    pip_lib_pattern: str


CUDNN = LibSpec(
    "cudnn",
    "cudnn_version.h",
    ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL"),
    "libcudnn.so",
    ("nvidia-cudnn-cu13", "nvidia-cudnn-cu12", "nvidia-cudnn-cu11"),
    r"libcudnn\.so\.\d+$",
)
TENSORRT = LibSpec(
    "tensorrt",
    "NvInferVersion.h",
    ("NV_TENSORRT_MAJOR", "NV_TENSORRT_MINOR", "NV_TENSORRT_PATCH", "NV_TENSORRT_BUILD"),
    "libnvinfer.so",
    (
        "tensorrt-cu13-libs",
        "tensorrt-cu12-libs",
        "tensorrt-libs",
        "tensorrt-cu13",
        "tensorrt-cu12",
        "tensorrt",
    ),
    r"libnvinfer\.so\.\d+$",
)


@dataclass(frozen=True)
class Install:
    version: str
    origin: str  # "system" | "pip <dist>"
    paths: dict[str, Path]


def system_installs(spec: LibSpec) -> list[Install]:
    out = []
    libs = [p for p in find_libs(spec.lib_prefix) if re.search(r"\.so\.\d+", p.name)]
    for header in find_headers(spec.header):
        version = version_from_defines(
            header_defines(header.read_text(errors="replace")), *spec.version_macros
        )
        if version:
            paths = {"include": header.parent}
            if libs:
                paths["lib"] = libs[0]
            out.append(Install(version, "system", paths))
    return out


def pip_installs(spec: LibSpec) -> list[Install]:
    out = []
    for dist in spec.pip_dists:
        found = dist_version(dist)
        if not found:
            continue
        libs = dist_files_matching(dist, spec.pip_lib_pattern)
        paths = {"lib": libs[0]} if libs else {}
        out.append(Install(found[1], f"pip {dist}", paths))
    return out


def validate_tarball(spec: LibSpec, tar_path: Path) -> tuple[str, PurePosixPath]:
    """(version, top-level folder) of an NVIDIA tarball, or a RecipeError saying what is wrong."""
    if not tar_path.is_file():
        raise MissingInputError(f"--tar-file {tar_path} does not exist")
    try:
        with tarfile.open(tar_path) as tar:
            members = tar.getmembers()
            headers = [m for m in members if PurePosixPath(m.name).name == spec.header and m.isfile()]
            if not headers:
                raise RecipeError(
                    f"{tar_path.name} is not a {spec.name} archive: it has no include/{spec.header}"
                    " (version header)",
                    hint=f"download the {spec.name} tar file for Linux from NVIDIA's site (not the deb/rpm)",
                )
            text = tar.extractfile(headers[0]).read().decode(errors="replace")  # type: ignore[union-attr]
            has_lib = any(PurePosixPath(m.name).name.startswith(spec.lib_prefix) for m in members)
    except tarfile.TarError as exc:
        raise RecipeError(f"{tar_path.name} is not a readable tar archive: {exc}") from exc
    version = version_from_defines(header_defines(text), *spec.version_macros)
    if not version:
        raise RecipeError(
            f"{tar_path.name}: {spec.header} holds no version numbers ({spec.version_macros[0]})"
        )
    if not has_lib:
        raise RecipeError(f"{tar_path.name} has {spec.header} but no {spec.lib_prefix}* library")
    top = PurePosixPath(headers[0].name).parent.parent  # <top>/include/<header>
    return version, top


class NvidiaLibRecipe(Recipe):
    spec: LibSpec

    options = (
        RecipeOption("tar_file", "install from NVIDIA's tar archive into the cache", is_path=True),
        RecipeOption("path", "a folder holding include/ and lib/ of an unpacked install", is_path=True),
    )

    def prefers_install(self, ctx: RecipeContext) -> bool:
        return ctx.option("tar_file") is not None

    def can_install(self, ctx: RecipeContext) -> bool:
        return ctx.option("tar_file") is not None

    def detect(self, ctx: RecipeContext) -> Artifact:
        given = ctx.option("path")
        if given:
            found = self._from_folder(Path(given))
        else:
            found = pip_installs(self.spec) + system_installs(self.spec)
        if not found:
            raise RecipeError(
                f"{self.spec.name} not found (no pip wheel, no {self.spec.header} in system include dirs)",
                hint=f"`crowdperf get {self.name} --tar-file F` with NVIDIA's tarball, or "
                f"`crowdperf get cuda-stack --venv NAME` to install NVIDIA's wheels",
            )
        usable = [i for i in found if ctx.constraint.allows(i.version)]
        best = (usable or found)[0]
        meta = {
            "origin": best.origin,
            "installs": [
                {"version": i.version, "origin": i.origin, "paths": {k: str(v) for k, v in i.paths.items()}}
                for i in found
            ],
        }
        source = "pip" if best.origin.startswith("pip") else "system"
        return Artifact(self.name, best.version, best.paths, tuple(sorted(self.tags)), (), meta, source)

    def _from_folder(self, folder: Path) -> list[Install]:
        header = folder / "include" / self.spec.header
        if not header.is_file():
            raise MissingInputError(
                f"{header} does not exist", hint="--path takes the folder with include/ and lib/"
            )
        version = version_from_defines(header_defines(header.read_text()), *self.spec.version_macros)
        return [
            Install(version or "unknown", "given", {"include": folder / "include", "lib": folder / "lib"})
        ]

    def install(self, ctx: RecipeContext) -> Artifact:
        tar_path = Path(ctx.option("tar_file") or "").expanduser().resolve()
        version, top = validate_tarball(self.spec, tar_path)
        if not ctx.constraint.allows(version):  # checked before anything is unpacked
            raise RecipeError(f"{tar_path.name} holds {self.name} {version}, not {ctx.constraint.describe()}")
        with tarfile.open(tar_path) as tar:
            tar.extractall(ctx.work_dir, filter="data")
        staged = ctx.work_dir / top
        final = (
            ctx.settings.cache_dir / "installs" / f"{self.name}-{version}-{tar_path.stem.split('.')[0][:40]}"
        )
        promote(staged, final)
        paths = {"include": final / "include", "lib": final / "lib"}
        meta = {"origin": "tar-file", "tar_file": str(tar_path)}
        return Artifact(self.name, version, paths, tuple(sorted(self.tags)), (), meta, "cache-install")


class CudnnRecipe(NvidiaLibRecipe):
    name = "cudnn"
    tags = frozenset({"get", "cudnn", "nvidia"})
    summary = "cuDNN (system, pip wheel, or NVIDIA tarball)"
    spec = CUDNN


class TensorrtRecipe(NvidiaLibRecipe):
    name = "tensorrt"
    tags = frozenset({"get", "tensorrt", "nvidia", "trt"})
    summary = "TensorRT (system, pip wheel, or NVIDIA tarball)"
    spec = TENSORRT
    # CM's `get tensorrt _dev` asks for headers too; a crowdperf TensorRT always has them.
    variation_groups = (VariationGroup("flavour", ("dev",), exclusive=False),)
