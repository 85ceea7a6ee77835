"""Plain-text transcripts: one turn per line as ``Speaker: text``.

Lines that do not start a turn continue the previous one. A ``# key: value`` line before
the first turn sets metadata (``# agent_id: A17``). Lines wrapped in ``***`` or ``---``
("*** Kari joined the chat ***") are system notices.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterator, Mapping

from ..conversation import Conversation
from ..errors import E_SCHEMA, E_UNKNOWN_SPEAKER, InputError, excerpt
from .build import RawTurn, ReadOptions, build_conversation
from .speakers import SpeakerMap

# An optional date and time before the label: "10:02", "[10:02:15]", "2026-11-04 10:02", "04.11.2026 10:02:15".
_TS = (r"(?:[\[(]?(?P<ts>(?:\d{4}-\d{2}-\d{2}[ T]|\d{1,2}[./]\d{1,2}[./]\d{2,4},?\s+)?\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)"
       r"[\])]?\s*[-–]?\s*)?")
# The label, possibly with a name or role in brackets ("Ola (Kundeservice)"), but not a time ("Kunde (10:02)").
_LABEL = r"(?P<label>[^\W\d][\w .'’-]{0,39}?(?:\s*[(\[](?!\d{1,2}[:.]\d{2})[^)\]]{1,30}[)\]])?)"
# ... or a time after the label: "Kunde (10:02): Hei", "Agent [10:02:15]: ..."
_TS_AFTER = r"(?:\s*[(\[](?P<ts2>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)[)\]])?"
_TURN = re.compile(_TS + _LABEL + _TS_AFTER + r"\s*:\s?(?P<text>.*)$")
_SYSTEM = re.compile(r"^\s*(\*{2,}|-{2,}|={2,})\s*(?P<text>.*?)\s*(\*{2,}|-{2,}|={2,})\s*$")
_META = re.compile(r"^#\s*(?P<key>[\w-]+)\s*:\s*(?P<value>.*)$")
_MAX_LABEL_WORDS = 4


def _candidate(line: str) -> re.Match[str] | None:
    m = _TURN.match(line)
    if m and len(m.group("label").split()) <= _MAX_LABEL_WORDS:
        return m
    return None


def read_text(text: str, file: str, options: ReadOptions, stem: str,
              notes: Mapping[int, str] | None = None) -> Iterator[Conversation | InputError]:
    lines = text.split("\n")
    known = options.speakers
    # An unknown "Label:" that opens the transcript or recurs is a speaker we cannot map;
    # one that appears once inside a turn ("Ordrenummer: 123") is part of the text.
    unknown_counts = Counter(
        m.group("label").strip() for line in lines if (m := _candidate(line)) and known.role_of(m.group("label")) is None
    )
    meta: dict[str, str] = {}
    raw: list[RawTurn] = []
    try:
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            if not raw and (mm := _META.match(line.strip())):
                meta[mm.group("key").lower()] = mm.group("value").strip()
                continue
            sm = _SYSTEM.match(line)
            if sm:
                raw.append(RawTurn(speaker="system", text=sm.group("text"), line=lineno, role="system"))
                continue
            m = _candidate(line)
            if m:
                label = m.group("label").strip()
                is_label = (known.role_of(label) is not None or not raw or unknown_counts[label] > 1
                            or (known.first_diarised_speaker is not None and SpeakerMap.is_diarised_label(label)))
                if is_label:
                    raw.append(RawTurn(speaker=label, text=m.group("text"), line=lineno,
                                       timestamp=m.group("ts") or m.group("ts2")))
                    continue
            if not raw:
                raise InputError(
                    f"the first line with text does not start with 'Speaker: ' ({excerpt(line.strip())}).",
                    file=file, line=lineno, code=E_SCHEMA,
                    hint="write one turn per line as 'Kunde: ...' / 'Agent: ...'; metadata lines start with '#'.")
            prev = raw[-1]
            raw[-1] = RawTurn(speaker=prev.speaker, text=f"{prev.text}\n{line.strip()}", line=prev.line,
                              timestamp=prev.timestamp, role=prev.role)
        conv_id = meta.pop("id", None) or meta.pop("conversation_id", None) or stem
        yield build_conversation(conv_id, raw, options, file=file, language=meta.pop("language", None),
                                 channel=meta.pop("channel", None), meta=meta, decode_notes=notes)
    except InputError as err:
        if err.code == E_UNKNOWN_SPEAKER and err.line is None:
            err.line = next((r.line for r in raw if r.speaker in err.message), None)
        yield err
