"""The input options every command that reads transcripts shares, their parsing, and the exit statuses.

`score`, `validate`, `explain` (and the service's reader) declare these once, here, so that none of them
drifts from the others.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .batch.summary import EXIT_INTERNAL, EXIT_NOTHING_READ, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE
from .conversation import CHANNELS, LANGUAGES
from .errors import ConfigError
from .ingest import Limits, ReadOptions, SpeakerMap
from .ingest.limits import MiB

__all__ = ["EXIT_INTERNAL", "EXIT_NOTHING_READ", "EXIT_OK", "EXIT_SOME_FAILED", "EXIT_USAGE", "read_options",
           "parse_pairs"]

_D = Limits()

SpeakerMapOpt = Annotated[Optional[Path], typer.Option(
    "--speaker-map", help="TOML file with a \\[speakers] table: label = \"agent\"|\"customer\"|\"system\".")]
SpeakerOpt = Annotated[Optional[list[str]], typer.Option(
    "--speaker", help="Map a speaker label to a role, e.g. --speaker 'Kari=agent' (repeatable).")]
FirstSpeakerOpt = Annotated[Optional[str], typer.Option(
    "--first-speaker", help="For anonymous diariser labels (spk_0, SPEAKER_00): the role of the first one to speak "
                            "(agent or customer).")]
OthersOpt = Annotated[bool, typer.Option(
    "--others-are-agents", help="Every speaker label that is not a known customer label (or mapped) is an agent: "
                                "for exports whose speaker column holds each agent's name.")]
CsvColumnsOpt = Annotated[Optional[list[str]], typer.Option(
    "--csv-columns", help="CSV header names, e.g. conversation_id=ChatID,speaker=Fra,text=Melding.")]
JsonMapOpt = Annotated[Optional[Path], typer.Option(
    "--json-map", help="TOML file describing where another platform's JSON export keeps ids, speakers, texts "
                       "and times (see the README).")]
LanguageOpt = Annotated[Optional[str], typer.Option(
    "--language", help="Language of all inputs (nb, nn, da, sv, en) when known; otherwise detected.")]
ChannelOpt = Annotated[Optional[str], typer.Option(
    "--channel", help="Channel of all inputs without one: chat, call or email.")]
FollowOpt = Annotated[bool, typer.Option(
    "--follow-symlinks", help="Read what symbolic links inside input folders point to (they are errors otherwise).")]
MaxTurnCharsOpt = Annotated[int, typer.Option(
    "--max-turn-chars", min=1, help="A longer turn is an input error.")]
MaxTurnsOpt = Annotated[int, typer.Option(
    "--max-turns", min=1, help="A conversation with more turns is an input error.")]
MaxFileOpt = Annotated[int, typer.Option(
    "--max-file-mb", min=1, help="Largest input file (and standard input) read, in MiB.")]
MaxDocumentOpt = Annotated[int, typer.Option(
    "--max-document-mb", min=1, help="Largest file read whole (one JSON object, TXT, VTT, SRT), in MiB.")]
MaxLineOpt = Annotated[int, typer.Option(
    "--max-line-mb", min=1, help="Longest JSONL line or CSV record, in MiB.")]

DEFAULTS = {"max_turn_chars": _D.max_turn_chars, "max_turns": _D.max_turns,
            "max_file_mb": _D.max_file_bytes // MiB, "max_document_mb": _D.max_document_bytes // MiB,
            "max_line_mb": _D.max_line_bytes // MiB}


def parse_pairs(values: list[str] | None, what: str) -> dict[str, str]:
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


def read_options(*, speaker_map: Path | None = None, speaker: list[str] | None = None,
                 first_speaker: str | None = None, others_are_agents: bool = False,
                 csv_columns: list[str] | None = None, json_map: Path | None = None, language: str | None = None,
                 channel: str | None = None, follow_symlinks: bool = False,
                 max_turn_chars: int = DEFAULTS["max_turn_chars"], max_turns: int = DEFAULTS["max_turns"],
                 max_file_mb: int = DEFAULTS["max_file_mb"], max_document_mb: int = DEFAULTS["max_document_mb"],
                 max_line_mb: int = DEFAULTS["max_line_mb"]) -> ReadOptions:
    """The ``ReadOptions`` the shared input options describe; ``ConfigError`` for a bad one."""
    if language is not None and language not in LANGUAGES:
        raise ConfigError(f"--language {language!r} is not supported.", hint=f"use one of {', '.join(LANGUAGES)}.")
    if channel is not None and channel not in CHANNELS:
        raise ConfigError(f"--channel {channel!r} is not supported.", hint=f"use one of {', '.join(CHANNELS)}.")
    if first_speaker is not None and first_speaker not in ("agent", "customer"):
        raise ConfigError(f"--first-speaker {first_speaker!r} must be agent or customer.")
    smap = SpeakerMap.from_file(speaker_map) if speaker_map else SpeakerMap()
    labels = parse_pairs(speaker, "--speaker")
    smap = SpeakerMap({**smap.labels, **labels},  # type: ignore[dict-item]
                      first_speaker or smap.first_diarised_speaker,  # type: ignore[arg-type]
                      "agent" if others_are_agents else smap.others)
    mapping = None
    if json_map is not None:
        from .ingest.platforms.mapping import JsonMapping, mapping_platform

        mapping = mapping_platform(JsonMapping.from_file(json_map))
    limits = Limits(max_turn_chars=max_turn_chars, max_turns=max_turns, max_file_bytes=max_file_mb * MiB,
                    max_document_bytes=max_document_mb * MiB, max_line_bytes=max_line_mb * MiB)
    return ReadOptions(speakers=smap, limits=limits, csv_columns=parse_pairs(csv_columns, "--csv-columns"),
                       language=language, channel=channel, follow_symlinks=follow_symlinks, json_mapping=mapping)
