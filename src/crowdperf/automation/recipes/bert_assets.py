"""The benchmark's data: ``ml-model-bert-large`` (onnx/pytorch, fp32/int8, and tiny) and
``dataset-squad`` (dev set + vocab, with the features cache). These detect files in the cache's
models/datasets dirs or at ``--path``; producing them (download, tiny-model generation) belongs to
the BERT workload, which records them here once it exists."""

from __future__ import annotations

from pathlib import Path

from crowdperf.automation.recipe import Artifact, Recipe, RecipeContext, RecipeOption, VariationGroup
from crowdperf.errors import ChecksumError, MissingInputError, RecipeError, UsageError
from crowdperf.hashing import file_md5

# Official files and MD5s: ../shared/MLPERF.md "Official assets" (MLPerf language/bert/README.md).
OFFICIAL_MODELS = {
    ("onnx", "fp32"): ("model.onnx", "819b25b19cd8e59080c10892689750ca"),
    ("onnx", "int8"): ("bert_large_v1_1_fake_quant.onnx", "45f88ffb2915362242703c85c38ec2d4"),
    ("pytorch", "fp32"): ("model.pytorch", "00fbcbfaebfa20d87ac9885120a6e9b4"),
}
SQUAD_DEV = ("dev-v1.1.json", "3e85deb501d4e538b6bc56f786231552")
VOCAB = ("vocab.txt", "64800d5d8528ce344256daf115d4965e")
TINY_SUFFIXES = {"onnx": (".onnx",), "pytorch": (".pt", ".pytorch", ".pth")}


def _search_dirs(ctx: RecipeContext, default: Path) -> list[Path]:
    given = ctx.option("path")
    if given:
        path = Path(given).expanduser()
        if not path.exists():
            raise MissingInputError(f"--path {path} does not exist")
        return [path]
    return [default]


def _find(folders: list[Path], filename: str) -> Path | None:
    for folder in folders:
        if folder.is_file() and folder.name == filename:
            return folder
        if folder.is_dir():
            hits = sorted(folder.rglob(filename))
            if hits:
                return hits[0]
    return None


def _checked_file(path: Path, expected_md5: str) -> str:
    actual = file_md5(path)
    if actual != expected_md5:
        raise ChecksumError(
            f"{path} has MD5 {actual}, expected {expected_md5}",
            hint="delete it and fetch the official file again",
        )
    return actual


class BertLargeModelRecipe(Recipe):
    name = "ml-model-bert-large"
    tags = frozenset({"get", "ml-model", "bert-large", "bert", "model", "bert-99", "bert-99.9", "squad"})
    summary = "BERT-large SQuAD model files (official onnx/pytorch, fp32/int8) or the tiny model"
    variation_groups = (
        VariationGroup("framework", ("onnx", "pytorch"), default="onnx"),
        VariationGroup("precision", ("fp32", "int8"), default="fp32"),
        VariationGroup("size", ("full", "tiny"), default="full"),
    )
    options = (RecipeOption("path", "a model file or a folder holding it", is_path=True),)

    def detect(self, ctx: RecipeContext) -> Artifact:
        framework = "pytorch" if "pytorch" in ctx.variations else "onnx"
        precision = "int8" if "int8" in ctx.variations else "fp32"
        folders = _search_dirs(ctx, ctx.settings.models_dir)
        variations = tuple(sorted(ctx.variations))
        if "tiny" in ctx.variations:
            return self._detect_tiny(ctx, framework, folders, variations)
        if (framework, precision) not in OFFICIAL_MODELS:
            raise UsageError(
                f"there is no official {framework} {precision} BERT-large model",
                hint="int8 exists only as onnx: _onnx,_int8",
            )
        filename, expected = OFFICIAL_MODELS[(framework, precision)]
        path = _find(folders, filename)
        if path is None:
            raise RecipeError(
                f"{filename} not found in {', '.join(map(str, folders))}",
                hint="pass --path to the file, or download it with the benchmark's asset step",
            )
        md5 = _checked_file(path, expected)
        meta = {"framework": framework, "precision": precision, "md5": md5, "official": True}
        return Artifact(
            self.name, "1.1", {"model": path.resolve()}, tuple(sorted(self.tags)), variations, meta, "system"
        )

    def _detect_tiny(
        self, ctx: RecipeContext, framework: str, folders: list[Path], variations: tuple[str, ...]
    ) -> Artifact:
        roots = folders if ctx.option("path") else [f / "tiny" for f in folders]
        for root in roots:
            files = [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []
            hits = [f for f in files if f.suffix in TINY_SUFFIXES[framework]]
            if hits:
                meta = {
                    "framework": framework,
                    "precision": "fp32",
                    "md5": file_md5(hits[0]),
                    "official": False,
                }
                return Artifact(
                    self.name,
                    "tiny",
                    {"model": hits[0].resolve()},
                    tuple(sorted(self.tags)),
                    variations,
                    meta,
                    "cache",
                )
        raise RecipeError(
            f"no tiny {framework} model in {', '.join(map(str, roots))}",
            hint="`crowdperf run --model tiny` generates it; or pass --path",
        )


class SquadDatasetRecipe(Recipe):
    name = "dataset-squad"
    tags = frozenset({"get", "dataset", "squad", "original", "validation", "dev"})
    summary = "SQuAD v1.1 dev set + vocab (MD5-checked) and the tokenized features cache"
    variation_groups = (VariationGroup("split", ("dev",), default="dev"),)
    options = (RecipeOption("path", "folder holding dev-v1.1.json and vocab.txt", is_path=True),)

    def detect(self, ctx: RecipeContext) -> Artifact:
        folders = _search_dirs(ctx, ctx.settings.datasets_dir / "squad")
        dev, vocab = _find(folders, SQUAD_DEV[0]), _find(folders, VOCAB[0])
        missing = [name for name, path in ((SQUAD_DEV[0], dev), (VOCAB[0], vocab)) if path is None]
        if dev is None or vocab is None:
            raise RecipeError(
                f"{', '.join(missing)} not found in {', '.join(map(str, folders))}",
                hint="pass --path to the folder holding them",
            )
        meta: dict[str, object] = {
            "dev_md5": _checked_file(dev, SQUAD_DEV[1]),
            "vocab_md5": _checked_file(vocab, VOCAB[1]),
        }
        features = ctx.settings.features_dir
        cached = sorted(p.name for p in features.iterdir()) if features.is_dir() else []
        meta["features_cache"] = {"dir": str(features), "entries": cached}
        return Artifact(
            self.name,
            "1.1",
            {"dev": dev.resolve(), "vocab": vocab.resolve()},
            tuple(sorted(self.tags)),
            ("dev",),
            meta,
            "system",
        )
