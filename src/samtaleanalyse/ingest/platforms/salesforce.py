"""Salesforce: legacy Chat (LiveAgent) ``LiveChatTranscript`` records and Messaging ``ConversationEntry`` records.

Both come from the REST query API as ``{"totalSize", "done", "records": [{"attributes": {"type": ...},
...}]}``.

A ``LiveChatTranscript`` keeps the whole chat in its HTML ``Body``. Salesforce does not document
that field beyond "the contents of the chat"; what transcripts hold is centred notices
(``<p align="center">Chat Started: Monday, March 02, 2026, 10:15:03 (+0100)</p>``, ``Chat Origin:
...``, ``Agent Kari N`` when an agent joins, transfers) and one line per message, ``( 5s ) Kari N:
Hei ...<br>``, where the time is the offset from the start (``( 1m 5s )``, ``( 1h 2m 3s )``).

A ``ConversationEntry`` is one message of a messaging session: ``ConversationId``, ``ActorType``
(``EndUser``, ``Agent``, ``Bot``, ``Supervisor``, ``System``), ``ActorName``, ``ActorId``,
``EntryType`` (``Text`` for messages, else events), ``Message`` and ``EntryTime``. A query result
holds entries of many sessions, so that reader takes the whole result and groups by session.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any, Iterator, Mapping, Sequence

from ...conversation import Conversation
from ...errors import InputError
from ..build import RawTurn, ReadOptions
from ..speakers import DEFAULT_LABELS, SpeakerMap
from .base import (Clock, Place, Platform, default_id, err, finish, first, guarded, ident, kind, obj, objects,
                   safe_matches)
from .text import epoch_seconds, iso_time, maybe_html

# --- LiveAgent transcript bodies ---------------------------------------------------------------

_LINE = re.compile(r"^\(\s*(?:(\d{1,4})\s*h\s*)?(?:(\d{1,6})\s*m\s*)?(?:(\d{1,7})\s*s\s*)?\)\s*([^:]+?)\s*:\s?(.*)$",
                   re.S)
_STARTED = re.compile(r"^Chat Started:\s*(.+)$", re.I)
_ORIGIN = re.compile(r"^Chat Origin:\s*(.+)$", re.I)
# "Agent Kari N" announces the agent who accepted or was transferred the chat.
_AGENT = re.compile(r"^Agent\s+(.+?)\s*$")
_START_FORMATS = ("%A, %B %d, %Y, %H:%M:%S (%z)", "%A, %B %d, %Y, %H:%M:%S", "%B %d, %Y, %H:%M:%S (%z)")


class _Lines(HTMLParser):
    """Splits a Body into lines at ``<br>`` and paragraph ends, and tells centred notices apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[str, bool]] = []
        self.buf: list[str] = []
        self.centred = False

    def flush(self) -> None:
        text = "".join(self.buf).replace("\xa0", " ").strip()
        if text:
            self.lines.append((text, self.centred))
        self.buf = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p", "div"):
            self.flush()
        if tag in ("p", "div"):
            self.centred = any(k == "align" and (v or "").casefold() == "center" for k, v in attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "div"):
            self.flush()
            self.centred = False

    def handle_data(self, data: str) -> None:
        self.buf.append(data)


@dataclass
class _Body:
    turns: list[RawTurn] = field(default_factory=list)
    started_at: str | None = None
    origin: str | None = None
    agents: list[str] = field(default_factory=list)


def _started(text: str) -> str | None:
    for fmt in _START_FORMATS:
        try:
            return iso_time(datetime.strptime(text.strip(), fmt).isoformat())
        except ValueError:
            continue
    return iso_time(text)


def _parse_body(html: str, agent_names: Sequence[str] = (), speakers: SpeakerMap | None = None) -> _Body:
    parser = _Lines()
    parser.feed(html)
    parser.close()
    parser.flush()
    body = _Body()
    agents = {n.strip().casefold() for n in agent_names if n and n.strip()}
    messages: list[tuple[str, str, float]] = []
    for text, centred in parser.lines:
        m = _LINE.match(text) if not centred else None
        if m is None:
            if centred or not messages:
                if (s := _STARTED.match(text)) and body.started_at is None:
                    body.started_at = _started(s.group(1))
                elif (o := _ORIGIN.match(text)) and body.origin is None:
                    body.origin = o.group(1).strip()
                elif a := _AGENT.match(text):
                    body.agents.append(a.group(1))
                    agents.add(a.group(1).casefold())
                continue
            # a line break inside a message: the text goes on
            label, said, offset = messages[-1]
            messages[-1] = (label, f"{said}\n{text}", offset)
            continue
        h, mi, s_, label, said = m.groups()
        offset = int(h or 0) * 3600 + int(mi or 0) * 60 + int(s_ or 0)
        messages.append((label.strip(), said, float(offset)))
    configured = {k.strip().casefold(): v for k, v in (speakers.labels.items() if speakers else ())}
    machines = {k for k, v in DEFAULT_LABELS.items() if v == "system"}
    start = datetime.fromisoformat(body.started_at) if body.started_at else None
    for label, said, offset in messages:
        key = label.casefold()
        # A label the user mapped wins; else the Body's own "Agent ..." notices say who the agents
        # are, a label that is exactly a machine's in the speaker table ("Chatbot") is a system
        # turn, and every other speaker is the visitor. Without any agent notice nothing is assumed.
        role = configured.get(key) or ("agent" if key in agents else "system" if key in machines
                                       else "customer" if agents else None)
        stamp = _plus(start, offset)
        body.turns.append(RawTurn(speaker=label, text=said.strip(), start=offset, role=role, timestamp=stamp))
    return body


def _plus(start: datetime | None, offset: float) -> str | None:
    if start is None:
        return None
    try:
        return iso_time((start + timedelta(seconds=offset)).isoformat())
    except OverflowError:
        return None


def parse_liveagent_body(html: str, *, agent_names: Sequence[str] = (),
                         speakers: SpeakerMap | None = None) -> list[RawTurn]:
    """The turns of a LiveAgent ``LiveChatTranscript.Body``.

    Roles: a label mapped in ``speakers`` keeps that role; a speaker announced by an ``Agent <name>``
    notice, or named in ``agent_names`` (the record's ``Owner.Name``), is an agent; a label that is
    exactly a system label of the speaker table (``Chatbot``, ``Bot``) is a system turn; every other
    speaker is the visitor (customer). A body with no agent notice and no ``agent_names`` leaves
    roles to the speaker map. ``start`` is the ``( 1m 5s )`` offset in seconds, ``timestamp`` the
    chat's start plus that offset when the ``Chat Started:`` notice can be read.
    """
    return _parse_body(html, agent_names, speakers).turns


def _liveagent_matches(record: Mapping[str, Any]) -> bool:
    return obj(record.get("attributes")).get("type") == "LiveChatTranscript" or (
        "Body" in record and "ChatKey" in record)


def _read_liveagent(record: Mapping[str, Any], place: Place, options: ReadOptions
                    ) -> Iterator[Conversation | InputError]:
    html = record.get("Body")
    if not isinstance(html, str):
        raise err(place, f"the LiveChatTranscript has no 'Body' text (found {kind(html)}).",
                  hint="add Body to the query: SELECT Id, Name, Body, StartTime, OwnerId, Owner.Name FROM "
                       "LiveChatTranscript.")
    owner = obj(record.get("Owner"))
    body = _parse_body(html, [n for n in (first(owner.get("Name")),) if n], options.speakers)
    conv_id = first(record.get("Name"), record.get("Id")) or default_id(place)
    clock = Clock()
    skill = obj(record.get("Skill"))
    button = obj(record.get("LiveChatButton"))
    meta = {
        "agent_id": ident(record.get("OwnerId")),
        "agent_name": first(owner.get("Name"), *(body.agents[:1])),
        "queue": first(skill.get("MasterLabel"), skill.get("DeveloperName"), record.get("SkillId")),
        "started_at": clock.stamp(record.get("StartTime"), "StartTime") or body.started_at,
        "platform_id": ident(record.get("Id")), "platform_channel": first(
            button.get("MasterLabel"), button.get("DeveloperName"), body.origin, record.get("LiveChatButtonId")),
        "case_id": ident(record.get("CaseId")), "status": first(record.get("Status")),
    }
    yield finish(conv_id, body.turns, options, place, platform="salesforce-liveagent", meta=meta, channel="chat",
                 warnings=clock.warnings,
                 unknown_hint="the Body names agents in 'Agent <name>' notices; add Owner.Name to the query")


SALESFORCE_LIVEAGENT = Platform(
    name="salesforce-liveagent", matches=safe_matches(_liveagent_matches),
    read=guarded("Salesforce LiveChatTranscript", _read_liveagent), list_keys=("records",),
    description="Salesforce Chat (LiveAgent) LiveChatTranscript record; the HTML Body's '( 5s ) Name: text' lines",
)

# --- Messaging ConversationEntry -----------------------------------------------------------------

_ACTORS = {"enduser": "customer", "agent": "agent", "bot": "system", "chatbot": "system", "system": "system"}
# A supervisor's entries are whispers to the agent: never shown to the customer.
_INTERNAL_ACTORS = frozenset({"supervisor"})


def _is_entry(record: Mapping[str, Any]) -> bool:
    return obj(record.get("attributes")).get("type") == "ConversationEntry" or (
        "ActorType" in record and "ConversationId" in record)


def _entries_matches(record: Mapping[str, Any]) -> bool:
    records = record.get("records")
    return isinstance(records, list) and any(_is_entry(r) for r in objects(records)[:10])


def _read_entries(record: Mapping[str, Any], place: Place, options: ReadOptions
                  ) -> Iterator[Conversation | InputError]:
    records = record.get("records")
    if not isinstance(records, list):
        raise err(place, f"the query result has no 'records' list (found {kind(records)}).")
    sessions: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for pos, entry in enumerate(records):
        if not isinstance(entry, Mapping):
            yield err(place, f"record {pos} is {kind(entry)}, not an object.", record=pos)
            continue
        session = ident(entry.get("ConversationId"))
        if session is None:
            yield err(place, f"ConversationEntry record {pos} has no 'ConversationId'.", record=pos,
                      hint="add ConversationId to the query so that entries can be grouped by session.")
            continue
        sessions.setdefault(session, []).append((pos, entry))
    for session, entries in sessions.items():
        # a query result read as one document: the session id says where each conversation came from
        where = Place(place.file, place.line, session if place.record is None else place.record)
        try:
            yield _session(session, entries, where, options)
        except InputError as exc:
            yield exc


def _session(session: str, entries: list[tuple[int, Mapping[str, Any]]], place: Place,
             options: ReadOptions) -> Conversation | InputError:
    clock = Clock()
    timed: list[tuple[float, int, RawTurn]] = []
    agent: Mapping[str, Any] = {}
    for pos, entry in entries:
        entry_type = entry.get("EntryType")
        if entry_type is not None and entry_type != "Text":
            continue  # routing, opt-in, bot escalation events
        actor = entry.get("ActorType")
        actor_key = actor.strip().casefold() if isinstance(actor, str) else ""
        if actor_key in _INTERNAL_ACTORS:
            continue
        message = entry.get("Message")
        if message is not None and not isinstance(message, str):
            raise err(place, f"entry {pos} of the records: 'Message' must be a string, found {kind(message)}.")
        role = _ACTORS.get(actor_key)
        if role == "agent" and not agent:
            agent = entry
        stamp = clock.stamp(entry.get("EntryTime"), f"entry {pos} of the records")
        at = epoch_seconds(stamp)
        label = first(entry.get("ActorName"), actor) or "unknown"
        timed.append((at if at is not None else float("inf"), len(timed),
                      RawTurn(speaker=label, text=maybe_html(message or ""), role=role, timestamp=stamp)))
    timed.sort(key=lambda item: (item[0], item[1]))
    turns = [turn for _, _, turn in timed]
    meta = {
        "agent_id": ident(agent.get("ActorId")), "agent_name": first(agent.get("ActorName")),
        "started_at": turns[0].timestamp if turns else None, "platform_id": session,
    }
    return finish(session, turns, options, place, platform="salesforce-messaging", meta=meta, channel="chat",
                  warnings=clock.warnings,
                  unknown_hint="add ActorType to the query (EndUser, Agent, Bot, System)")


SALESFORCE_MESSAGING = Platform(
    name="salesforce-messaging", matches=safe_matches(_entries_matches),
    read=guarded("Salesforce ConversationEntry query", _read_entries),
    description="Salesforce Messaging ConversationEntry query result (records grouped by ConversationId, "
                "ActorType EndUser/Agent/Bot); supervisor whispers are internal",
)
