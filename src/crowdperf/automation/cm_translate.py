"""Translate a CM command line into crowdperf's own commands (pure: no side effects).

run script "get cuda" --out=json          -> get --tags get,cuda --json
run script "install python-venv" --name=X -> get --tags install,python-venv --name X
show|find|rm cache --tags=get,cuda        -> cache show|find|rm --tags get,cuda
pull repo mlcommons@ck                    -> nothing to run: recipes are built in
run script --tags=generate-run-cmds,...   -> run ...            (cm_mlperf.py)
run script --tags=generate,inference,submission ... -> submission generate ...
run script --tags=push,github,mlperf,inference,submission ... -> submission push ...
"""

from __future__ import annotations

from collections.abc import Sequence

from crowdperf.automation.cm_common import (
    FORCE_FLAGS,
    IGNORED,
    RECIPE_FLAGS,
    USED,
    Translation,
    common_notes,
    dry_run,
    unknown_flag,
    verbose,
)
from crowdperf.automation.cm_syntax import CmCommand, parse_cm
from crowdperf.automation.registry import RecipeRegistry, TagQuery, load_registry
from crowdperf.errors import UsageError


def _translate_get(cm: CmCommand, registry: RecipeRegistry) -> Translation:
    recipe = registry.by_tags(TagQuery(frozenset(cm.tags), cm.variations))  # unknown tags -> close matches
    argv: list[str] = ["get", "--tags", cm.tag_text()]
    option_names = {o.name for o in recipe.options}
    notes = common_notes(cm)
    for key, value in cm.flags.items():
        if key in IGNORED or key in USED:
            continue
        if key == "out":
            if value != "json":
                raise UsageError(f"--out={value} is not supported", hint="use --out=json")
            argv.append("--json")
        elif key == "json":  # -j
            argv += [] if "--json" in argv else ["--json"]
        elif key in RECIPE_FLAGS:
            argv += [RECIPE_FLAGS[key], value]
        elif key in FORCE_FLAGS:
            argv.append("--force")
        elif key in option_names:
            argv += _option_argv(recipe.name, key, value)
        else:
            raise unknown_flag(
                key, [*option_names, *RECIPE_FLAGS, "out", "json", *FORCE_FLAGS, *IGNORED, *USED]
            )
    for dep, settings in cm.adr.items():
        notes.append(f"--adr.{dep}.*={','.join(settings.values())}: ignored for `get {recipe.name}`")
    return Translation((tuple(argv),), tuple(notes), verbose(cm), dry_run(cm))


def _option_argv(recipe: str, key: str, value: str) -> list[str]:
    option = "--" + key.replace("_", "-")
    if value == "true":
        return [option]
    return [option, value]


def _translate_cache(cm: CmCommand) -> Translation:
    verb = {"show": "show", "find": "find", "rm": "rm", "ls": "show", "list": "show"}.get(cm.action)
    if verb is None:
        raise UsageError(f"`cm {cm.action} cache` is not supported", hint="show, find or rm")
    argv = ["cache", verb]
    if cm.tags or cm.variations:
        argv += ["--tags", cm.tag_text()]
    elif verb == "rm":
        if "force" not in cm.flags:
            raise UsageError("`cm rm cache` without --tags removes every entry; add -f to confirm")
        argv.append("--all")
    if cm.flag("out") == "json" or "json" in cm.flags:
        argv.append("--json")
    return Translation((tuple(argv),), tuple(common_notes(cm)), verbose(cm), dry_run(cm))


def translate_command(cm: CmCommand, registry: RecipeRegistry | None = None) -> Translation:
    from crowdperf.automation import cm_mlperf

    if cm.target == "repo":
        if cm.action in {"pull", "add", "find", "rm", "show"}:
            repo = " ".join(cm.positionals) or "(none)"
            return Translation(
                (), (f"recipes are built into crowdperf; nothing to {cm.action} for repo {repo}",)
            )
        raise UsageError(f"`cm {cm.action} repo` is not supported")
    if cm.target == "cache":
        return _translate_cache(cm)
    if cm.target != "script" or cm.action != "run":
        raise UsageError(
            f"`cm {cm.action} {cm.target}` is not supported",
            hint="supported: run script, show|find|rm cache, pull repo",
        )
    if not cm.tags:
        raise UsageError("`cm run script` needs tags", hint='e.g. crowdperf cm run script "get cuda"')
    tags = frozenset(cm.tags)
    if cm_mlperf.is_run_app(tags):
        return cm_mlperf.translate_run_app(cm)
    if cm_mlperf.is_push(tags):
        return cm_mlperf.translate_push(cm)
    if cm_mlperf.is_generate_submission(tags):
        return cm_mlperf.translate_generate(cm)
    return _translate_get(cm, registry or load_registry())


def plan(cm_args: Sequence[str], registry: RecipeRegistry | None = None) -> Translation:
    """All native commands a CM command line stands for, with notes on what was dropped."""
    result = translate_command(parse_cm(cm_args), registry)
    return Translation(result.commands, tuple(dict.fromkeys(result.notes)), result.verbose, result.dry_run)


def translate(cm_args: Sequence[str], registry: RecipeRegistry | None = None) -> list[str]:
    """The native argv of a CM command that maps to one crowdperf command ([] for a no-op).

    ``_submission`` maps to several commands; use :func:`plan` for those."""
    commands = plan(cm_args, registry).commands
    if len(commands) > 1:
        raise UsageError("this CM command maps to several crowdperf commands; use plan()")
    return list(commands[0]) if commands else []
