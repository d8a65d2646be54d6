"""CLI: `crowdperf submission generate|check|push`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from crowdperf import jsonio
from crowdperf.cli.console import console
from crowdperf.cli.tables import Rows, print_rows
from crowdperf.errors import MissingInputError, UsageError
from crowdperf.formatting import plural
from crowdperf.mlperf.rounds import Category, default_round, get_round
from crowdperf.submission.checker import VALID_DIVISIONS, CheckReport, check_submission
from crowdperf.submission.generate import GenerateOptions, generate_submission
from crowdperf.submission.official import run_official_checker
from crowdperf.submission.push import push_submission

GENERATE_SCHEMA = jsonio.schema("submission.generate", 1)
submission_app = typer.Typer(help="Build, check and push MLPerf submission trees.", no_args_is_help=True)


def _round(name: str | None):
    return get_round(name) if name else default_round()


@submission_app.command("generate")
def generate(
    results_dir: Path = typer.Option(..., "--results-dir", help="What `crowdperf run` wrote."),
    submission_dir: Path = typer.Option(
        ..., "--submission-dir", help="Where to write the tree (new or empty)."
    ),
    submitter: str = typer.Option(..., "--submitter", help="Your organization, as MLCommons knows it."),
    division: str = typer.Option("closed", "--division", help="closed | open"),
    category: str = typer.Option("edge", "--category", help="edge | datacenter"),
    round_name: str | None = typer.Option(
        None, "--round", help="v6.1 | v6.0 | v5.1 ... (default: the installed LoadGen's)"
    ),
    hw_notes_extra: str = typer.Option("", "--hw-notes-extra", help="Appended to hw_notes."),
    sw_notes_extra: str = typer.Option("", "--sw-notes-extra", help="Appended to sw_notes."),
    overrides: Path | None = typer.Option(None, "--overrides", help="System description overrides (YAML)."),
    force: bool = typer.Option(False, "--force", help="Replace a non-empty --submission-dir."),
    as_json: bool = typer.Option(
        False, "--json", help=f"Print JSON (schema {GENERATE_SCHEMA}): where each result went and why."
    ),
) -> None:
    """Turn a results directory into the round's submission tree.

    Example: crowdperf submission generate --results-dir results --submission-dir sub --submitter MyOrg
    """
    if category not in ("edge", "datacenter"):
        raise UsageError(f"category {category!r} is not edge or datacenter", hint="pass --category edge")
    opts = GenerateOptions(
        results_dir,
        submission_dir,
        submitter,
        division,
        Category(category),
        _round(round_name),
        hw_notes_extra,
        sw_notes_extra,
        overrides,
        force,
    )
    report = generate_submission(opts)
    if as_json:
        typer.echo(jsonio.dumps(jsonio.document("submission.generate", 1, report)))
        return
    rows = Rows(
        headers=("system", "model", "scenario", "division", "why"),
        rows=tuple(
            tuple(escape(c) for c in (r.system, r.model, r.scenario, r.division, r.reason))
            for r in report.results
        ),
        title=f"{plural(len(report.results), 'result')} placed in {escape(str(report.submission_dir))} "
        f"(round {report.round})",
        keys=3,
        notes=tuple(f"[yellow]note:[/] {escape(n)}" for n in report.notes),
    )
    print_rows(console, rows)


def _render(report: CheckReport) -> None:
    for r in report.results:
        mark = "[green]OK[/]" if r.passed else "[red]FAIL[/]"
        console.print(f"{mark} {r.key}", highlight=False)
        for f in r.findings:
            console.print(f"    [{f.rule}] {f.message}\n      fix: {f.fix}", highlight=False, markup=False)
    verdict = "[green]submission looks OK[/]" if report.passed else "[red]submission has errors[/]"
    console.print(f"crowdperf ({report.round}): {verdict}")


def _require_tree(tree: Path) -> None:
    """A folder that holds no division is not a submission with errors: it is the wrong folder."""
    if tree.is_dir() and not any((tree / d).is_dir() for d in VALID_DIVISIONS):
        raise MissingInputError(
            f"{tree} holds no submission tree (no {', '.join(d + '/' for d in VALID_DIVISIONS)} in it)",
            hint="pass the folder `crowdperf submission generate --submission-dir` wrote",
        )


@submission_app.command("check")
def check(
    tree: Path = typer.Argument(..., help="Submission tree root (holds closed/ or open/)."),
    round_name: str | None = typer.Option(None, "--round", help="Round whose rules apply."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (schema crowdperf.submission.check/1)."),
    official: Path | None = typer.Option(
        None, "--official-checker", help="Local mlcommons/inference checkout."
    ),
    skip_compliance: bool = typer.Option(False, "--skip-compliance", help="Do not require TEST01."),
) -> None:
    """Apply the round's submission rules; exit 1 when the tree has errors.

    Example: crowdperf submission check sub --official-checker ~/src/inference
    """
    rnd = _round(round_name)
    _require_tree(tree)
    report = check_submission(tree, rnd, skip_compliance=skip_compliance)
    verdict = run_official_checker(official, tree, rnd) if official else None
    if as_json:
        data = report.to_dict()
        if verdict is not None:
            data["official"] = {
                "passed": verdict.passed,
                "version": verdict.version,
                "errors": list(verdict.errors),
            }
        typer.echo(json.dumps(data, indent=2))
    else:
        _render(report)
        if verdict is not None:
            word = "[green]looks OK[/]" if verdict.passed else "[red]has errors[/]"
            console.print(f"MLPerf checker ({verdict.version}): submission {word}")
            for line in verdict.errors[:30]:
                console.print(f"    {line}", highlight=False, markup=False)
    if not report.passed or (verdict is not None and not verdict.passed):
        raise typer.Exit(1)


@submission_app.command("push")
def push(
    tree: Path = typer.Argument(..., help="Submission tree root."),
    repo_url: str = typer.Option(..., "--repo-url", help="Results repository (your fork) to push to."),
    branch: str | None = typer.Option(None, "--branch", help="Branch to create (default crowdperf-<time>)."),
    message: str | None = typer.Option(None, "--message", help="Commit message."),
    round_name: str | None = typer.Option(None, "--round", help="Round whose rules the check applies."),
    force: bool = typer.Option(False, "--force", help="Push even if check fails."),
) -> None:
    """Commit the tree on a new branch of the results repository and push it.

    Example: crowdperf submission push sub --repo-url git@github.com:me/inference_results.git
    """
    result, _ = push_submission(
        tree, repo_url, _round(round_name), branch=branch, message=message, force=force
    )
    console.print(
        f"pushed branch [bold]{result.branch}[/] commit [bold]{result.commit}[/] to {result.repo_url}"
    )
    if not result.check_passed:
        console.print("[yellow]warning:[/] the tree fails `crowdperf submission check` (pushed with --force)")
    console.print("open a pull request from that branch")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(submission_app, name="submission")
