"""CSV and TSV in long form: one row per turn, grouped by conversation id.

Nordic Excel exports use ';' as delimiter, others ',' or tab; header names vary by
system and language, so common names are recognised and any can be mapped by the user.
"""
from __future__ import annotations

import csv
import io
from typing import Iterator

from ..conversation import Conversation
from ..errors import E_MISSING_COLUMNS, E_SCHEMA, InputError
from .build import RawTurn, ReadOptions, build_conversation

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "conversation_id": ("conversation_id", "conversation", "conversationid", "samtale_id", "samtaleid", "samtale",
                        "chat_id", "chatid", "case_id", "caseid", "sak", "sags_id", "ärende_id", "arende_id",
                        "ticket_id", "ticket", "call_id", "contact_id", "session_id", "id"),
    "speaker": ("speaker", "role", "rolle", "roll", "avsender", "avsendar", "afsender", "avsändare", "from",
                "author", "talare", "taler", "talar", "participant", "sender", "party"),
    "text": ("text", "tekst", "message", "melding", "besked", "meddelande", "meddelelse", "body", "content",
             "utterance", "innhold", "indhold", "innehåll", "transcript"),
    "timestamp": ("timestamp", "time", "tid", "tidspunkt", "tidpunkt", "tidsstempel", "tidsstämpel", "datetime",
                  "sent_at", "created_at", "date"),
    "agent_id": ("agent_id", "agentid", "agent", "agent_name", "rådgiver_id", "medarbeider_id", "handläggare_id"),
    "team": ("team", "gruppe", "grupp", "avdeling", "afdeling", "avdelning"),
    "queue": ("queue", "kø", "kö", "skill"),
    "channel": ("channel", "kanal"),
    "language": ("language", "språk", "sprog", "språk_kode", "lang"),
    "started_at": ("started_at", "start_time", "starttid"),
}
REQUIRED = ("conversation_id", "speaker", "text")
_META = ("agent_id", "team", "queue", "started_at")


def _resolve_columns(header: list[str], overrides: dict[str, str], file: str) -> dict[str, int]:
    norm = [h.strip().casefold() for h in header]
    cols: dict[str, int] = {}
    for canonical, given in overrides.items():
        if given.strip().casefold() not in norm:
            raise InputError(
                f"the column {given!r} given for {canonical!r} is not in the header ({', '.join(header)}).",
                file=file, line=1, code=E_MISSING_COLUMNS)
        cols[canonical] = norm.index(given.strip().casefold())
    for canonical, aliases in COLUMN_ALIASES.items():
        if canonical in cols:
            continue
        for alias in aliases:
            if alias in norm and norm.index(alias) not in cols.values():
                cols[canonical] = norm.index(alias)
                break
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; the header has: {', '.join(header) or '(nothing)'}.",
            file=file, line=1, code=E_MISSING_COLUMNS,
            hint="name the columns with --csv-columns, e.g. --csv-columns conversation_id=ChatID,speaker=Fra,text=Melding.")
    return cols


def _dialect(text: str, suffix: str) -> type[csv.Dialect] | csv.Dialect:
    if suffix == ".tsv":
        return csv.excel_tab
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    delim = max(counts, key=lambda d: counts[d])
    if counts[delim] == 0:
        return csv.excel
    class _D(csv.excel):
        delimiter = delim
    return _D


def read_csv(text: str, file: str, options: ReadOptions, suffix: str) -> Iterator[Conversation | InputError]:
    reader = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text, suffix))
    try:
        header = next(reader)
    except StopIteration:
        yield InputError("the file has no header row.", file=file, line=1, code=E_MISSING_COLUMNS)
        return
    except csv.Error as exc:
        yield InputError(f"unreadable CSV header: {exc}.", file=file, line=1, code=E_SCHEMA)
        return
    try:
        cols = _resolve_columns(header, dict(options.csv_columns), file)
    except InputError as err:
        yield err
        return
    groups: dict[str, list[RawTurn]] = {}
    first_line: dict[str, int] = {}
    meta: dict[str, dict[str, str]] = {}
    bad: dict[str, InputError] = {}
    line_no = reader.line_num
    while True:
        start_line = line_no + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield InputError(f"unreadable CSV row: {exc}.", file=file, line=start_line, code=E_SCHEMA,
                             hint="check for an unclosed quote in a multi-line cell.")
            return
        line_no = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))
        conv_id = row[cols["conversation_id"]].strip()
        if not conv_id:
            yield InputError("the row has no conversation id.", file=file, line=start_line, code=E_SCHEMA)
            continue
        if conv_id not in groups:
            groups[conv_id], first_line[conv_id], meta[conv_id] = [], start_line, {}
        speaker = row[cols["speaker"]].strip()
        if not speaker:
            bad.setdefault(conv_id, InputError("a row has no speaker.", file=file, line=start_line,
                                               record=conv_id, code=E_SCHEMA))
            continue
        ts = row[cols["timestamp"]].strip() if "timestamp" in cols else None
        groups[conv_id].append(RawTurn(speaker=speaker, text=row[cols["text"]], line=start_line, timestamp=ts or None))
        for name in (*_META, "channel", "language"):
            if name in cols and row[cols[name]].strip():
                meta[conv_id].setdefault(name, row[cols[name]].strip())
    for conv_id, raw in groups.items():
        if conv_id in bad:
            yield bad[conv_id]
            continue
        m = dict(meta[conv_id])
        try:
            yield build_conversation(conv_id, raw, options, file=file, record=conv_id, line=first_line[conv_id],
                                     language=m.pop("language", None), channel=m.pop("channel", None), meta=m)
        except InputError as err:
            yield err
