"""CSV and TSV in long form: one row per turn, grouped by conversation id, streamed.

Nordic Excel exports use ';' as delimiter, others ',' or tab; header names vary by system and language
("Samtale-ID", "Avsender", "Dato" + "Klokkeslett"), so common names are recognised and any can be mapped
by the user.

Rows are grouped by conversation id without holding the whole file: a conversation is complete once
``WINDOW_ROWS`` rows of other conversations have passed since its last row (exports sorted by time
interleave concurrent chats, so a conversation's rows need not be contiguous). An id that comes back after
its conversation was complete, or after a gap of more than ``MAX_GAP`` between its rows with other
conversations between them, starts a new conversation with the same id; it is never merged into the old
one (the batch then reports the two as one id with different content, naming both places).
"""
from __future__ import annotations

import csv
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Iterator

from ..conversation import Conversation
from ..errors import E_MISSING_COLUMNS, E_SCHEMA, E_TOO_LARGE, InputError, excerpt
from .build import RawTurn, ReadOptions, build_conversation, too_many_turns
from .textio import Line

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "conversation_id": ("conversation_id", "conversation", "conversationid", "samtale_id", "samtaleid", "samtale",
                        "samtale_nr", "samtalenummer", "chat_id", "chatid", "case_id", "caseid", "sak", "saks_id",
                        "saksnummer", "sags_id", "sagsnummer", "ärende_id", "arende_id", "ärendenummer", "ticket_id",
                        "ticket", "call_id", "contact_id", "session_id", "interaction_id", "id"),
    "speaker": ("speaker", "role", "rolle", "roll", "avsender", "avsendar", "afsender", "avsändare", "from",
                "author", "talare", "taler", "talar", "participant", "sender", "party", "fra", "från"),
    "text": ("text", "tekst", "message", "melding", "besked", "meddelande", "meddelelse", "body", "content",
             "utterance", "innhold", "indhold", "innehåll", "transcript", "message_text", "melding_tekst"),
    "timestamp": ("timestamp", "time", "tid", "tidspunkt", "tidpunkt", "tidsstempel", "tidsstämpel", "datetime",
                  "sent_at", "created_at", "klokkeslett", "klokkeslet", "klokkeslæt", "klockslag", "kl",
                  "sendt", "skickat"),
    "date": ("date", "dato", "datum", "dag"),
    "agent_id": ("agent_id", "agentid", "agent", "agent_name", "rådgiver_id", "medarbeider_id", "medarbejder_id",
                 "handläggare_id", "rådgiver", "medarbeider", "medarbejder", "handläggare", "saksbehandler"),
    "team": ("team", "gruppe", "grupp", "avdeling", "afdeling", "avdelning"),
    "queue": ("queue", "kø", "kö", "skill"),
    "channel": ("channel", "kanal"),
    "language": ("language", "språk", "sprog", "språk_kode", "lang"),
    "started_at": ("started_at", "start_time", "starttid", "startet", "started"),
}
REQUIRED = ("conversation_id", "speaker", "text")
_META = ("agent_id", "team", "queue", "started_at")
# Rows of other conversations after which a conversation is taken to be complete.
WINDOW_ROWS = 50_000
# Rows of one id more than this apart, with other conversations between them, are two conversations.
MAX_GAP = timedelta(days=7)
_SEP = re.compile(r"[\s\-./]+")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d.%m.%Y %H:%M:%S",
                 "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d", "%d.%m.%Y")


def normalise_header(name: str) -> str:
    return _SEP.sub("_", name.strip().lstrip("\ufeff").casefold()).strip("_")


def _resolve_columns(header: list[str], overrides: dict[str, str], file: str) -> dict[str, int]:
    norm = [normalise_header(h) for h in header]
    cols: dict[str, int] = {}
    for canonical, given in overrides.items():
        if normalise_header(given) not in norm:
            raise InputError(
                f"the column {excerpt(given, 40)} given for {canonical!r} is not in the header ({_header_list(header)}).",
                file=file, line=1, code=E_MISSING_COLUMNS)
        cols[canonical] = norm.index(normalise_header(given))
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
            f"missing column(s) {', '.join(missing)}; the header has: {_header_list(header)}.",
            file=file, line=1, code=E_MISSING_COLUMNS,
            hint="name the columns with --csv-columns, e.g. --csv-columns conversation_id=ChatID,speaker=Fra,text=Melding.")
    return cols


def _header_list(header: list[str]) -> str:
    shown = ", ".join(excerpt(h, 30)[1:-1] for h in header[:12])
    return (shown or "(nothing)") + (f" and {len(header) - 12:,} more" if len(header) > 12 else "")


def _dialect(first: str, suffix: str) -> type[csv.Dialect]:
    if suffix == ".tsv":
        return csv.excel_tab
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    delim = max(counts, key=lambda d: counts[d])
    if counts[delim] == 0:
        return csv.excel

    class _D(csv.excel):
        delimiter = delim
        strict = True  # an unclosed quote is an error, not the rest of the file in one cell

    return _D


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    text = value.strip().replace("Z", "")[:19]
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


@dataclass
class _Group:
    conv_id: str
    first_line: int
    last_row: int
    turns: list[RawTurn] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    last_time: datetime | None = None
    bad: InputError | None = None
    rows: int = 0


class _Lines:
    """Feeds csv.reader one physical line at a time, remembering line numbers and what could not be read."""

    def __init__(self, lines: Iterable[Line], file: str, max_bytes: int) -> None:
        self._lines = iter(lines)
        self.file = file
        self.max_bytes = max_bytes
        self.consumed: list[int] = []
        self.errors: list[InputError] = []
        self.notes: dict[int, str] = {}

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        while True:
            line = next(self._lines)
            if line.text is None:
                self.errors.append(InputError(f"the line is {line.size:,} bytes, over the limit of {self.max_bytes:,}; "
                                              "not read.", file=self.file, line=line.number, code=E_TOO_LARGE))
                continue
            if line.note:
                self.notes[line.number] = line.note
            self.consumed.append(line.number)
            return line.text + "\n"


def read_csv(lines: Iterable[Line], file: str, options: ReadOptions, suffix: str) -> Iterator[Conversation | InputError]:
    source = _Lines(lines, file, options.limits.max_line_bytes)
    first = next((ln for ln in source if ln.strip()), None)
    yield from _drain(source)
    if first is None:
        yield InputError("the file has no header row.", file=file, line=1, code=E_MISSING_COLUMNS)
        return
    header_line = source.consumed[-1]
    csv.field_size_limit(max(options.limits.max_line_bytes, 1 << 17))
    dialect = _dialect(first, suffix)
    try:
        header = next(csv.reader([first], dialect=dialect))
    except csv.Error as exc:
        yield InputError(f"unreadable CSV header: {exc}.", file=file, line=header_line, code=E_SCHEMA)
        return
    source.consumed.clear()
    reader = csv.reader(source, dialect=dialect)
    try:
        cols = _resolve_columns(header, dict(options.csv_columns), file)
    except InputError as err:
        # Not one row per turn; perhaps one row per conversation of a platform (a Salesforce
        # LiveChatTranscript export with its HTML Body column, say).
        yield from _records_or(err, header, reader, source, file, options)
        return
    open_groups: OrderedDict[str, _Group] = OrderedDict()
    closed: set[str] = set()
    row_no = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            start = source.consumed[0] if source.consumed else None
            yield from _drain(source)
            span = f" (lines {start}-{source.consumed[-1]})" if start and source.consumed[-1] != start else ""
            yield InputError(f"unreadable CSV row{span}: {exc}.", file=file, line=start, code=E_SCHEMA,
                             hint="check for an unclosed quote in a multi-line cell.")
            source.consumed.clear()
            continue
        yield from _drain(source)
        start_line = source.consumed[0] if source.consumed else 0
        source.consumed.clear()
        if not any(cell.strip() for cell in row):
            continue
        row_no += 1
        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))
        conv_id = row[cols["conversation_id"]].strip()
        if not conv_id:
            yield InputError("the row has no conversation id.", file=file, line=start_line, code=E_SCHEMA)
            continue
        when = _row_time(row, cols)
        group = open_groups.get(conv_id)
        if group is not None and group.last_row != row_no - 1 and _far_apart(group.last_time, when):
            yield from _finish(open_groups.pop(conv_id), file, options, source.notes)
            closed.add(conv_id)
            group = None
        if group is None:
            group = open_groups[conv_id] = _Group(conv_id, start_line, row_no)
        open_groups.move_to_end(conv_id)
        _add_row(group, row, cols, start_line, when, file, options)
        group.last_row = row_no
        while open_groups:
            oldest = next(iter(open_groups.values()))
            if row_no - oldest.last_row <= WINDOW_ROWS:
                break
            yield from _finish(open_groups.pop(oldest.conv_id), file, options, source.notes)
            closed.add(oldest.conv_id)
    yield from _drain(source)
    for group in sorted(open_groups.values(), key=lambda g: g.first_line):
        yield from _finish(group, file, options, source.notes)


def _records_or(missing: InputError, header: list[str], reader: Iterator[list[str]], source: _Lines, file: str,
                options: ReadOptions) -> Iterator[Conversation | InputError]:
    """Rows read as whole platform records when the first one is one; else the missing-columns error."""
    from .platforms import Place, match_platform

    platform = None
    for row in reader:
        yield from _drain(source)
        line = source.consumed[0] if source.consumed else None
        source.consumed.clear()
        if not any(cell.strip() for cell in row):
            continue
        record = _nested(header, row)
        platform = platform or match_platform(record)
        if platform is None:
            yield missing
            return
        yield from platform.read(record, Place(file, line=line), options)
    yield from _drain(source)
    if platform is None:
        yield missing


def _nested(header: list[str], row: list[str]) -> dict[str, object]:
    """A row as a record; dotted headers ("Owner.Name") become nested objects, as the platform's API gives them."""
    record: dict[str, object] = {}
    for name, value in zip(header, row):
        keys = name.strip().lstrip("\ufeff").split(".")
        node = record
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        node[keys[-1]] = value
    return record


def _drain(source: _Lines) -> Iterator[InputError]:
    while source.errors:
        yield source.errors.pop(0)


def _row_time(row: list[str], cols: dict[str, int]) -> str | None:
    ts = row[cols["timestamp"]].strip() if "timestamp" in cols else ""
    day = row[cols["date"]].strip() if "date" in cols else ""
    if day and ts and not parse_time(ts):  # "Dato" + "Klokkeslett": one timestamp
        return f"{day} {ts}"
    return ts or day or None


def _far_apart(before: datetime | None, when: str | None) -> bool:
    after = parse_time(when)
    return before is not None and after is not None and abs(after - before) > MAX_GAP


def _add_row(group: _Group, row: list[str], cols: dict[str, int], line: int, when: str | None, file: str,
             options: ReadOptions) -> None:
    group.rows += 1
    if group.rows > options.limits.max_turns:
        # Counted, not kept: one id over a whole file must not hold the file in memory.
        group.bad = too_many_turns(group.rows, options.limits, {"file": file, "line": group.first_line,
                                                                 "record": group.conv_id})
        group.turns.clear()
        return
    speaker = row[cols["speaker"]].strip()
    if not speaker:
        if group.bad is None:
            group.bad = InputError("a row has no speaker.", file=file, line=line, record=group.conv_id, code=E_SCHEMA)
        return
    agent = row[cols["agent_id"]].strip() if "agent_id" in cols else ""
    # A speaker column that holds the agent's own name or id, with that agent in the agent column.
    role = "agent" if agent and speaker.casefold() == agent.casefold() else None
    group.turns.append(RawTurn(speaker=speaker, text=row[cols["text"]], line=line, timestamp=when, role=role))
    parsed = parse_time(when)
    if parsed is not None:
        group.last_time = parsed
    for name in (*_META, "channel", "language"):
        if name in cols and row[cols[name]].strip():
            group.meta.setdefault(name, row[cols[name]].strip())
    if "started_at" not in group.meta and when:
        # The conversation starts at its first row; as ISO time when the export's form is known.
        group.meta["started_at"] = parsed.isoformat() if parsed is not None else when


def _finish(group: _Group, file: str, options: ReadOptions, notes: dict[int, str]) -> Iterator[Conversation | InputError]:
    if group.bad is not None:
        yield group.bad
        return
    meta = dict(group.meta)
    try:
        yield build_conversation(group.conv_id, group.turns, options, file=file, record=group.conv_id,
                                 line=group.first_line, language=meta.pop("language", None),
                                 channel=meta.pop("channel", None), meta=meta, decode_notes=notes)
    except InputError as err:
        yield err
