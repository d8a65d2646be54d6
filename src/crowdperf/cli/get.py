"""CLI: ``crowdperf get`` — find (or install) a dependency through its recipe and the cache."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from crowdperf import jsonio
from crowdperf.automation.registry import load_registry
from crowdperf.automation.resolve import GetRequest, GetResult, get_artifact
from crowdperf.automation.versions import VersionConstraint
from crowdperf.cli.console import console, err_console
from crowdperf.cli.tables import Rows, print_rows
from crowdperf.errors import UsageError
from crowdperf.settings import load_settings

GET_SCHEMA = "crowdperf.get/1"


def _options(pairs: dict[str, str | bool | None], extra: list[str]) -> dict[str, str]:
    options = {k: ("true" if v is True else str(v)) for k, v in pairs.items() if v not in (None, False)}
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"-o {item!r} needs the form key=value")
        options[key.replace("-", "_")] = value
    return options


def _split_words(name: str | None, words: list[str]) -> tuple[str | None, str | None, tuple[str, ...]]:
    """NAME [_variation | tag ...] -> (name, tags, variations): plain words narrow by tag."""
    variations = tuple(w for w in words if w.startswith("_"))
    plain = [w for w in words if not w.startswith("_")]
    if name and plain:
        return None, ",".join([name, *plain]), variations
    return name, None, variations


def get_command(
    name: str | None = typer.Argument(None, help="Recipe name (cuda, cudnn, ...); omit with --tags."),
    words: list[str] = typer.Argument(None, help="Variations (_toolkit, _lib-only ...) or extra tags."),
    tags: str = typer.Option(None, "--tags", help="Find the recipe by tags, CM style: get,cuda,_toolkit."),
    version: str = typer.Option(None, "--version", help="Exact version or prefix (12 = any 12.x)."),
    version_min: str = typer.Option(None, "--version-min", help="Lowest acceptable version."),
    version_max: str = typer.Option(None, "--version-max", help="Highest acceptable version."),
    force: bool = typer.Option(False, "--force", help="Ignore the cache; detect (or install) again."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    tar_file: str = typer.Option(None, "--tar-file", help="cudnn/tensorrt: install NVIDIA's tarball."),
    path: str = typer.Option(None, "--path", help="Look here instead of the usual places."),
    venv_name: str = typer.Option(None, "--name", help="python-venv: the venv's name."),
    venv: str = typer.Option(None, "--venv", help="cuda-stack: venv to install the wheels into."),
    without_pip: bool = typer.Option(False, "--without-pip", help="python-venv: create without pip."),
    no_torch: bool = typer.Option(False, "--no-torch", help="cuda-stack: leave torch out."),
    no_tensorrt: bool = typer.Option(False, "--no-tensorrt", help="cuda-stack: leave TensorRT out."),
    option: list[str] = typer.Option(None, "-o", "--option", help="Other recipe input, key=value."),
    list_recipes: bool = typer.Option(False, "--list", help="List the recipes (built-in and plugins)."),
) -> None:
    """Find a dependency, remember it in the cache, print what/where/which version.

    Example: crowdperf get cuda _lib-only --version-min 12
    """
    if list_recipes:
        render_recipes(as_json)
        return
    settings = load_settings()
    name, word_tags, variations = _split_words(name, list(words or []))
    options = _options(
        {
            "tar_file": tar_file,
            "path": path,
            "name": venv_name,
            "venv": venv,
            "without_pip": without_pip,
            "no_torch": no_torch,
            "no_tensorrt": no_tensorrt,
        },
        list(option or []),
    )
    request = GetRequest(
        name=name,
        tags=tags or word_tags,
        variations=variations,
        constraint=VersionConstraint(version, version_min, version_max),
        options=options,
        force=force,
    )
    result = get_artifact(load_registry(), request, settings)
    if as_json:
        typer.echo(json.dumps({"schema": GET_SCHEMA, **result.to_dict()}, indent=2))
    else:
        render(result)


def _value(value: object) -> str:
    if isinstance(value, (dict, list)):
        text = json.dumps(value)
        return text if len(text) < 160 else text[:157] + "..."
    return str(value)


def render(result: GetResult) -> None:
    art = result.artifact
    for entry in result.stale_removed:
        err_console.print(
            f"[yellow]stale cache entry #{entry.id} ({entry.recipe}) dropped: {entry.stale_reason()}[/]"
        )
    origin = {"cached": "from cache", "detected": "detected now", "installed": "installed now"}[result.action]
    variations = f"  [dim]_{' _'.join(art.variations)}[/]" if art.variations else ""
    console.print(
        f"[bold]{art.name}[/] {art.version or '(no version)'}  [green]{origin}[/]"
        f"  source: {art.source}{variations}",
        highlight=False,
    )
    for key, where in art.paths.items():
        console.print(f"  {key:<14} {where}", highlight=False)
    meta = dict(art.metadata)
    devices, agreement = meta.pop("devices", None), meta.pop("agreement", None)
    nested = {
        k: v
        for k, v in meta.items()
        if isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values())
    }
    for key, value in meta.items():
        if value is not None and key not in nested:
            console.print(f"  {key:<14} {_value(value)}", highlight=False)
    for key, value in nested.items():  # e.g. sys-utils' tools: {name: {path, version}}
        print_rows(console, _rows(key, [{"name": name, **row} for name, row in value.items()]))
    if isinstance(devices, list) and devices:
        if all(isinstance(d, dict) for d in devices):
            print_rows(console, _rows("GPUs (NVML)", devices))
        else:  # e.g. torch's list of device names
            console.print(f"  {'devices':<14} {', '.join(map(str, devices))}", highlight=False)
    if isinstance(agreement, list) and agreement:
        print_rows(console, _rows("NVML vs CUDA device query", agreement))


def render_recipes(as_json: bool) -> None:
    registry = load_registry()
    rows = [
        {
            "name": r.name,
            "tags": ",".join(sorted(r.tags)),
            "variations": " ".join(
                "|".join("_" + c for c in g.choices) + (f" (default _{g.default})" if g.default else "")
                for g in r.variation_groups
            ),
            "options": " ".join("--" + o.name.replace("_", "-") for o in r.options),
            "from": registry.sources[r.name],
            "summary": r.summary,
        }
        for r in registry.recipes()
    ]
    if as_json:
        typer.echo(jsonio.dumps(jsonio.document("recipes", 1, {"recipes": rows})))
    else:
        print_rows(console, _rows("recipes", rows))


def _rows(title: str, rows: list[dict]) -> Rows:
    """Dicts of one shape (recipes, GPUs, tools) as rows; the first column names each row."""
    headers = tuple(rows[0])
    cells = tuple(tuple(escape(_value(row.get(h, ""))) for h in headers) for row in rows)
    return Rows(headers, cells, title=f"[bold]{escape(title)}[/]")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("get", no_args_is_help=True)(get_command)
