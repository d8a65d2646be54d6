"""CLI: ``crowdperf dataset squad``: examples, features and real-token lengths of a SQuAD file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from crowdperf import jsonio
from crowdperf.cli.console import console, err_console
from crowdperf.cli.tables import print_fields
from crowdperf.errors import UsageError
from crowdperf.formatting import ACCURACY_DIGITS, number
from crowdperf.settings import Settings, load_settings
from crowdperf.workloads.bert.accuracy import LOG_DTYPES, SquadAccuracy, score_accuracy_log
from crowdperf.workloads.bert.dataset import DatasetStats, SquadFeatures, dataset_stats, load_features
from crowdperf.workloads.bert.tiny_data import ensure_tiny_data

dataset_app = typer.Typer(help="Inspect datasets: examples, features, token lengths.", no_args_is_help=True)


class FeatureProgress:
    """A rich progress bar that only appears when feature building takes more than a moment."""

    def __init__(self, delay_s: float = 0.3) -> None:
        self.started, self.delay_s = time.monotonic(), delay_s
        self.progress: Progress | None = None
        self.task = TaskID(0)

    def __call__(self, done: int, total: int) -> None:
        if self.progress is None:
            if time.monotonic() - self.started < self.delay_s or done >= total:
                return
            self.progress = Progress(
                TextColumn("building features"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("features", total=total)
        self.progress.update(self.task, completed=done)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


@dataset_app.command("squad")
def squad(
    dataset_path: Path | None = typer.Option(
        None, "--dataset-path", help="SQuAD v1.1 JSON (dev-v1.1.json). Default: the embedded tiny set."
    ),
    vocab_path: Path | None = typer.Option(None, "--vocab-path", help="WordPiece vocab.txt of the model."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """Build (or load cached) BERT features and print their statistics.

    Example: crowdperf dataset squad --dataset-path dev-v1.1.json --vocab-path vocab.txt --json
    """
    settings = load_settings()
    dataset_path, vocab_path = _squad_files(dataset_path, vocab_path, settings)
    features = _load_with_progress(dataset_path, vocab_path, settings)
    stats = dataset_stats(features, dataset_path, vocab_path)
    if as_json:
        typer.echo(json.dumps(stats.to_json()))
    else:
        print_fields(console, f"SQuAD features: {escape(stats.dataset_path.name)}", stats_fields(stats))


@dataset_app.command("squad-accuracy")
def squad_accuracy(
    accuracy_log: Path = typer.Argument(..., help="LoadGen mlperf_log_accuracy.json"),
    dataset_path: Path | None = typer.Option(None, "--dataset-path", help="SQuAD file the run used."),
    vocab_path: Path | None = typer.Option(None, "--vocab-path", help="vocab.txt the run used."),
    model: str = typer.Option("tiny", "--model", help="bert-99 / bert-99.9 check the MLPerf F1 target."),
    dtype: str = typer.Option("float32", "--dtype", help=f"logits dtype: {', '.join(LOG_DTYPES)}"),
    out_dir: Path | None = typer.Option(
        None, "--out-dir", help="Where predictions.json and accuracy.txt go (default: next to the log)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Score a LoadGen accuracy log on SQuAD v1.1 (EM/F1, as MLPerf's accuracy-squad.py).

    Example: crowdperf dataset squad-accuracy run/accuracy/mlperf_log_accuracy.json
    --dataset-path dev-v1.1.json --vocab-path vocab.txt --model bert-99
    """
    settings = load_settings()
    dataset_path, vocab_path = _squad_files(dataset_path, vocab_path, settings)
    features = _load_with_progress(dataset_path, vocab_path, settings)
    result = score_accuracy_log(accuracy_log, features, out_dir or accuracy_log.parent, model, dtype)
    if as_json:
        typer.echo(json.dumps(_accuracy_json(result)))
        return
    verdict = {True: "[green]PASS[/]", False: "[red]FAIL[/]", None: "-"}[result.passed]
    em, f1 = (number(v, ACCURACY_DIGITS) for v in (result.exact_match, result.f1))
    console.print(f"exact_match {em}  f1 {f1}  questions {number(result.n_questions)}  target {verdict}")
    if result.note:
        console.print(result.note, highlight=False)


def _accuracy_json(result: SquadAccuracy) -> dict[str, object]:
    return {
        "schema": jsonio.schema("dataset.accuracy", 1),
        "exact_match": result.exact_match,
        "f1": result.f1,
        "n_questions": result.n_questions,
        "n_features_scored": result.n_features_scored,
        "target_f1": result.target_f1,
        "passed": result.passed,
        "note": result.note,
        "predictions": str(result.predictions_path),
        "accuracy_txt": str(result.accuracy_txt_path),
    }


def _squad_files(dataset_path: Path | None, vocab_path: Path | None, settings: Settings) -> tuple[Path, Path]:
    """The user's pair, or the embedded tiny set when neither is given."""
    if (dataset_path is None) != (vocab_path is None):
        raise UsageError(
            "--dataset-path and --vocab-path go together",
            hint="pass both (a SQuAD file and the vocab it is tokenized with), or neither for the tiny set",
        )
    if dataset_path is None or vocab_path is None:
        tiny = ensure_tiny_data(settings)
        return tiny.dataset_path, tiny.vocab_path
    return dataset_path, vocab_path


def _load_with_progress(dataset_path: Path, vocab_path: Path, settings: Settings) -> SquadFeatures:
    progress = FeatureProgress()
    try:
        return load_features(dataset_path, vocab_path, settings, progress=progress)
    finally:
        progress.close()


def stats_fields(stats: DatasetStats) -> list[tuple[str, str]]:
    p = stats.params
    return [
        ("examples (questions)", number(stats.examples)),
        ("features (QSL samples)", number(stats.features)),
        ("real tokens: mean", number(stats.mean_tokens)),
        ("real tokens: median", number(stats.median_tokens)),
        ("real tokens: p90", number(stats.p90_tokens)),
        ("real tokens: max", number(stats.max_tokens)),
        (f"padding at {p.max_seq_length}", number(100 * stats.padding_fraction, 3) + "%"),
        ("seq / stride / query", f"{p.max_seq_length} / {p.doc_stride} / {p.max_query_length}"),
        ("feature cache", "hit" if stats.cache_hit else "built"),
    ]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(dataset_app, name="dataset")
