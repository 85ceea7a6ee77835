"""The command line: thin commands over the package's plain functions."""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._version import __version__
from .batch import EXIT_NOTHING_READ, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, score_paths
from .classify.loading import load_classifier
from .cli_data import data_app
from .coaching import Coach, load_config
from .cli_explain import register as register_explain
from .conversation import LANGUAGES
from .errors import ConfigError, InputError, ModelError
from .guidance import load_guidance
from .ingest import ReadOptions, SpeakerMap, iter_conversations

app = typer.Typer(
    add_completion=False, no_args_is_help=True, rich_markup_mode="rich",
    help="Conversation-quality analysis and coaching for Nordic customer service (nb, nn, da, sv, en).",
)
app.add_typer(data_app, name="data")
err_console = Console(stderr=True)
out_console = Console(soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"samtaleanalyse {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    pass


def _parse_pairs(values: list[str] | None, what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or []:
        for part in value.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ConfigError(f"{what} {part!r} is not of the form NAME=VALUE.")
            key, _, val = part.partition("=")
            pairs[key.strip()] = val.strip()
    return pairs


def _options(speaker_map: Optional[Path], speaker: list[str] | None, first_speaker: Optional[str],
             csv_columns: list[str] | None, max_turn_chars: int, language: Optional[str],
             channel: Optional[str]) -> ReadOptions:
    smap = SpeakerMap.from_file(speaker_map) if speaker_map else SpeakerMap()
    labels = _parse_pairs(speaker, "--speaker")
    if labels or first_speaker:
        smap = SpeakerMap({**smap.labels, **labels},  # type: ignore[dict-item]
                          first_speaker or smap.first_diarised_speaker)  # type: ignore[arg-type]
    return ReadOptions(speakers=smap, max_turn_chars=max_turn_chars, csv_columns=_parse_pairs(csv_columns, "--csv-columns"),
                       language=language, channel=channel)


_SPEAKER_MAP = typer.Option(None, "--speaker-map", help="TOML file with a \\[speakers] table: label = \"agent\"|\"customer\"|\"system\".")
_SPEAKER = typer.Option(None, "--speaker", help="Map a speaker label to a role, e.g. --speaker 'Kari=agent' (repeatable).")
_FIRST = typer.Option(None, "--first-speaker", help="For anonymous diariser labels (spk_0, SPEAKER_00): the role of the first one to speak (agent or customer).")
_CSV = typer.Option(None, "--csv-columns", help="CSV header names, e.g. conversation_id=ChatID,speaker=Fra,text=Melding.")
_MAXLEN = typer.Option(5000, "--max-turn-chars", help="A longer turn is an input error.")
_LANG = typer.Option(None, "--language", help="Language of all inputs (nb, nn, da, sv, en) when known; otherwise detected.")
_CHANNEL = typer.Option(None, "--channel", help="Channel of all inputs without one: chat, call or email.")


@app.command(epilog="Examples:\n\n  samtaleanalyse score examples/ --out out\n\n"
                    "  samtaleanalyse score calls/*.vtt chats.csv --out out --speaker 'Kari=agent'\n\n"
                    "  cat export.jsonl | samtaleanalyse score - --out out\n\n"
                    "Exit status: 0 all inputs read; 1 some inputs failed (see errors.jsonl); "
                    "2 bad usage; 3 nothing could be read.")
def score(
    paths: list[str] = typer.Argument(..., help="Files or folders (read recursively); '-' reads JSONL from standard input."),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Output folder."),
    speaker_map: Optional[Path] = _SPEAKER_MAP, speaker: Optional[list[str]] = _SPEAKER,
    first_speaker: Optional[str] = _FIRST, csv_columns: Optional[list[str]] = _CSV,
    max_turn_chars: int = _MAXLEN, language: Optional[str] = _LANG, channel: Optional[str] = _CHANNEL,
    model: Optional[Path] = typer.Option(None, "--model", help="Turn model folder (default: $SAMTALEANALYSE_MODEL or models/turns-e5-qat)."),
    no_model: bool = typer.Option(False, "--no-model", help="Only read and identify languages; no attitude or behaviours."),
    feedback_language: Optional[str] = typer.Option(None, "--feedback-language",
                                                    help="Write feedback in this language (nb, nn, da, sv, en) instead of each conversation's own."),
    rules: Optional[list[Path]] = typer.Option(None, "--rules", help="A team's rules file (TOML) overriding the default findings settings; repeatable."),
    guidance: Optional[list[Path]] = typer.Option(None, "--guidance", help="A team's folder of guidance entries (TOML) adding to or overriding the default; repeatable."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
) -> None:
    """Score transcripts: writes OUT/conversations.jsonl, OUT/errors.jsonl, OUT/summary.json and OUT/feedback/<id>.md."""
    try:
        options = _options(speaker_map, speaker, first_speaker, csv_columns, max_turn_chars, language, channel)
        if feedback_language is not None and feedback_language not in LANGUAGES:
            raise ConfigError(f"--feedback-language {feedback_language!r} is not supported.",
                              hint=f"use one of {', '.join(LANGUAGES)}.")
        coach = Coach(load_config(*(rules or [])), load_guidance(*(guidance or [])), feedback_language)
        classifier = None if no_model else load_classifier(model)
    except (ConfigError, ModelError) as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE)
    show_progress = sys.stderr.isatty() and not quiet
    if show_progress:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} read"),
                      TimeElapsedColumn(), console=err_console, transient=True) as progress:
            task = progress.add_task("scoring", total=None)
            summary = score_paths(paths, out, options, classifier=classifier, coach=coach,
                                  on_item=lambda _: progress.advance(task))
    else:
        summary = score_paths(paths, out, options, classifier=classifier, coach=coach)
    if not quiet:
        langs = ", ".join(f"{k} {v}" for k, v in sorted(summary.languages.items()))
        out_console.print(f"{summary.conversations} conversations scored ({langs or 'none'}), "
                          f"{summary.errors} inputs failed, {summary.warnings} warnings, "
                          f"{summary.uncertain_turns} uncertain turns -> {out}/")
        if summary.scores:
            out_console.print(f"mean quality score {summary.to_dict()['mean_score']}; feedback in {out / 'feedback'}/")
    if summary.errors:
        err_console.print(f"[yellow]{summary.errors} input(s) failed: see {out / 'errors.jsonl'}[/yellow]")
    raise typer.Exit(summary.exit_status)


@app.command(epilog="Example:\n\n  samtaleanalyse validate exports/ --speaker 'Kari=agent'\n\n"
                    "Exit status: 0 all inputs valid; 1 some failed; 3 nothing could be read.")
def validate(
    paths: list[str] = typer.Argument(..., help="Files or folders; '-' reads JSONL from standard input."),
    speaker_map: Optional[Path] = _SPEAKER_MAP, speaker: Optional[list[str]] = _SPEAKER,
    first_speaker: Optional[str] = _FIRST, csv_columns: Optional[list[str]] = _CSV,
    max_turn_chars: int = _MAXLEN, language: Optional[str] = _LANG, channel: Optional[str] = _CHANNEL,
) -> None:
    """Check inputs without scoring them and print a readable summary."""
    try:
        options = _options(speaker_map, speaker, first_speaker, csv_columns, max_turn_chars, language, channel)
    except ConfigError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE)
    per_file: dict[str, Counter[str]] = {}
    errors: list[InputError] = []
    warnings: list[str] = []
    for item in iter_conversations(paths, options):
        if isinstance(item, InputError):
            errors.append(item)
            per_file.setdefault(item.file, Counter())["errors"] += 1
            continue
        file = (item.source or "?").rsplit(":", 1)[0].split("#", 1)[0]
        c = per_file.setdefault(file, Counter())
        c["conversations"] += 1
        c["turns"] += len(item.turns)
        c["warnings"] += len(item.warnings)
        warnings += [f"{item.source or item.id}: {w}" for w in item.warnings]
    table = Table(title="Inputs")
    for col in ("file", "conversations", "turns", "warnings", "errors"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for file, c in per_file.items():
        table.add_row(file, *(str(c[k]) for k in ("conversations", "turns", "warnings", "errors")))
    out_console.print(table)
    for w in warnings:
        out_console.print(f"[yellow]warning[/yellow] {w}")
    for e in errors:
        out_console.print(f"[red]error[/red] {escape(str(e))}")
    total = sum(c["conversations"] for c in per_file.values())
    out_console.print(f"{total} conversations valid, {len(errors)} inputs failed, {len(warnings)} warnings.")
    raise typer.Exit(EXIT_NOTHING_READ if total == 0 else (EXIT_SOME_FAILED if errors else EXIT_OK))


def _load_plugins() -> None:
    """Add commands registered under the ``samtaleanalyse.commands`` entry point (train, evaluate)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="samtaleanalyse.commands"):
        ep.load()(app)


register_explain(app)
_load_plugins()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
