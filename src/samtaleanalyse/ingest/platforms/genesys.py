"""Genesys Cloud: Speech and Text Analytics transcripts, and messaging/chat conversations.

Transcripts (``GET /api/v2/speechandtextanalytics/conversations/{id}/communications/{id}/transcripturl``
and the bulk transcript export) hold ``transcripts[].phrases[]`` with ``text`` (and the cased,
punctuated ``decoratedText``), ``participantPurpose`` (``internal`` = our side, ``external`` =
the customer), ``startTimeMs`` (epoch milliseconds) and ``duration.milliseconds``.

Messaging conversations (``GET /api/v2/conversations/messages/{id}`` and analytics exports) hold
``participants[]`` with ``purpose`` (``customer``, ``agent``, ``acd``, ``workflow``, ...), ``user``,
``queue``, ``team`` and ``messages[]`` (``messageTime``, and the text in ``normalizedMessage.text``
or, in older exports, ``textBody``). The bulk message endpoint's ``MessageData`` list (``direction``
inbound/outbound, ``createdBy`` the agent, ``normalizedMessage.originatingEntity`` Human/Bot) is
read instead when it is put beside the participants as ``messages`` and their own messages carry
no text.
"""
from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Iterator, Mapping

from ...conversation import Conversation
from ...errors import InputError
from ..build import RawTurn, ReadOptions, merge_consecutive
from .base import (Clock, Place, Platform, default_id, err, finish, first, guarded, ident, kind, obj, objects,
                   safe_matches)
from .text import epoch_seconds, language_code

# Participant purposes: the customer's side, our people, and our machinery (queues, flows, bots).
_PURPOSES = {
    "external": "customer", "customer": "customer",
    "internal": "agent", "agent": "agent", "user": "agent",
    "acd": "system", "workflow": "system", "ivr": "system", "bot": "system", "system": "system",
    "voicemail": "system", "outbound": "system", "api": "system",
}
_MEDIA = {"call": "call", "callback": "call", "voice": "call", "chat": "chat", "message": "chat",
          "messaging": "chat", "webmessaging": "chat", "email": "email"}
_HINT = "Genesys marks each side by participantPurpose/purpose (external/customer, internal/agent, acd, workflow)"


def _purpose_role(value: Any) -> str | None:
    return _PURPOSES.get(value.strip().casefold()) if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --- Speech and Text Analytics transcripts ---------------------------------------------------

def _transcript_matches(record: Mapping[str, Any]) -> bool:
    return any(isinstance(t.get("phrases"), list) for t in objects(record.get("transcripts")))


def _read_transcript(record: Mapping[str, Any], place: Place, options: ReadOptions
                     ) -> Iterator[Conversation | InputError]:
    transcripts = record.get("transcripts")
    if not isinstance(transcripts, list):
        raise err(place, f"the Genesys transcript has no 'transcripts' list (found {kind(transcripts)}).")
    conv_id = first(record.get("conversationId"), record.get("id")) or default_id(place)
    clock = Clock()
    phrases: list[tuple[float, int, RawTurn]] = []
    language: str | None = None
    for t_pos, transcript in enumerate(transcripts):
        if not isinstance(transcript, Mapping):
            raise err(place, f"transcript {t_pos} is {kind(transcript)}, not an object.")
        language = language or language_code(transcript.get("language"))
        items = transcript.get("phrases")
        if not isinstance(items, list):
            raise err(place, f"transcript {t_pos} has no 'phrases' list (found {kind(items)}).")
        for p_pos, phrase in enumerate(items):
            where = f"transcript {t_pos}, phrase {p_pos}"
            if not isinstance(phrase, Mapping):
                raise err(place, f"{where} is {kind(phrase)}, not an object.")
            text = phrase.get("decoratedText") if isinstance(phrase.get("decoratedText"), str) else phrase.get("text")
            if text is not None and not isinstance(text, str):
                raise err(place, f"{where}: 'text' must be a string, found {kind(text)}.")
            purpose = phrase.get("participantPurpose")
            ms = _number(phrase.get("startTimeMs"))
            duration = _number(obj(phrase.get("duration")).get("milliseconds"))
            # start and end stay epoch milliseconds until the conversation's start is known (below)
            phrases.append((ms if ms is not None else float("inf"), len(phrases), RawTurn(
                speaker=first(purpose) or "unknown", text=text or "", role=_purpose_role(purpose),
                timestamp=clock.stamp(phrase.get("startTimeMs"), where, unit="ms"), start=ms,
                end=ms + duration if ms is not None and duration is not None else None)))
    # Several transcripts (one per communication) interleave; phrases sort by time, stable otherwise.
    phrases.sort(key=lambda item: (item[0], item[1]))
    origin = _number(record.get("conversationStartTime"))
    known = [p[0] for p in phrases if p[0] != float("inf")]
    if origin is None and known:
        origin = min(known)
    raw_turns = [_relative(turn, origin) for _, _, turn in phrases]
    agents = [p for p in objects(record.get("participants"))
              if _purpose_role(p.get("participantPurpose") or p.get("purpose")) == "agent"]
    agent = agents[0] if agents else {}
    meta = {
        "agent_id": first(agent.get("userId"), obj(agent.get("user")).get("id")),
        "queue": first(record.get("queueId"), agent.get("queueId")),
        "started_at": clock.stamp(record.get("conversationStartTime") or record.get("startTime"),
                                  "the conversation", unit="ms"),
        "platform_id": first(record.get("conversationId")),
        "communication_id": first(record.get("communicationId")),
        "media_type": first(record.get("mediaType")),
    }
    media = record.get("mediaType")
    yield finish(conv_id, merge_consecutive(raw_turns), options, place, platform="genesys-transcript", meta=meta,
                 channel=_MEDIA.get(media.casefold()) if isinstance(media, str) else None, language=language,
                 warnings=clock.warnings, unknown_hint=_HINT)


def _relative(turn: RawTurn, origin: float | None) -> RawTurn:
    def seconds(ms: float | None) -> float | None:
        return None if ms is None or origin is None else round((ms - origin) / 1000, 3)

    return RawTurn(speaker=turn.speaker, text=turn.text, role=turn.role, timestamp=turn.timestamp,
                   start=seconds(turn.start), end=seconds(turn.end))


GENESYS_TRANSCRIPT = Platform(
    name="genesys-transcript", matches=safe_matches(_transcript_matches),
    read=guarded("Genesys transcript", _read_transcript), list_keys=("entities", "results", "conversations"),
    description="Genesys Cloud Speech and Text Analytics transcript (transcripts[].phrases[], participantPurpose "
                "internal/external, startTimeMs)",
)

# --- Messaging / chat conversations ----------------------------------------------------------

def _conversation_matches(record: Mapping[str, Any]) -> bool:
    participants = objects(record.get("participants"))
    return (not isinstance(record.get("transcripts"), list)
            and any(isinstance(p.get("purpose"), str) for p in participants)
            and (any(isinstance(p.get("messages"), list) for p in participants)
                 or isinstance(record.get("messages"), list)))


def _message_text(message: Mapping[str, Any], where: str, place: Place) -> str | None:
    normalized = obj(message.get("normalizedMessage"))
    if normalized.get("type") in ("Receipt", "Event"):
        return None
    for value, key in ((normalized.get("text"), "normalizedMessage.text"), (message.get("textBody"), "textBody"),
                       (message.get("text"), "text"), (message.get("body"), "body")):
        if value is None:
            continue
        if not isinstance(value, str):
            raise err(place, f"{where}: '{key}' must be a string, found {kind(value)}.")
        return value
    return None


def _message_time(message: Mapping[str, Any]) -> Any:
    for key in ("messageTime", "timestamp", "time"):
        if message.get(key) is not None:
            return message[key]
    return None


def _outbound_role(message: Mapping[str, Any]) -> str:
    # Outbound messages are ours: an agent's when a user sent it, else a flow's or bot's.
    origin = obj(message.get("normalizedMessage")).get("originatingEntity")
    if origin == "Human" or ident(obj(message.get("createdBy")).get("id")):
        return "agent"
    return "system"


def _read_conversation(record: Mapping[str, Any], place: Place, options: ReadOptions
                       ) -> Iterator[Conversation | InputError]:
    participants = record.get("participants")
    if not isinstance(participants, list):
        raise err(place, f"the Genesys conversation has no 'participants' list (found {kind(participants)}).")
    conv_id = first(record.get("id"), record.get("conversationId")) or default_id(place)
    clock = Clock()
    found: list[tuple[float, int, RawTurn]] = []

    def add(label: str, role: str | None, text: str, when: Any, where: str) -> None:
        stamp = clock.stamp(when, where)
        at = epoch_seconds(stamp)
        found.append((at if at is not None else float("inf"), len(found),
                      RawTurn(speaker=label, text=text, role=role, timestamp=stamp)))

    for p_pos, participant in enumerate(participants):
        if not isinstance(participant, Mapping):
            raise err(place, f"participant {p_pos} is {kind(participant)}, not an object.")
        purpose = participant.get("purpose")
        label = first(participant.get("name"), purpose) or "unknown"
        messages = participant.get("messages")
        if messages is None:
            continue
        if not isinstance(messages, list):
            raise err(place, f"participant {p_pos}: 'messages' must be a list, found {kind(messages)}.")
        for m_pos, message in enumerate(messages):
            where = f"participant {p_pos}, message {m_pos}"
            if not isinstance(message, Mapping):
                raise err(place, f"{where} is {kind(message)}, not an object.")
            text = _message_text(message, where, place)
            if text is not None:
                add(label, _purpose_role(purpose), text, _message_time(message), where)
    bulk = record.get("messages")
    if isinstance(bulk, list) and not found:
        for m_pos, message in enumerate(bulk):
            where = f"message {m_pos}"
            if not isinstance(message, Mapping):
                raise err(place, f"{where} is {kind(message)}, not an object.")
            text = _message_text(message, where, place)
            if text is None:
                continue
            direction = first(message.get("direction"), obj(message.get("normalizedMessage")).get("direction"))
            direction = (direction or "").casefold()
            if direction == "inbound":
                role: str | None = "customer"
            elif direction == "outbound":
                role = _outbound_role(message)
            else:
                role = None
            creator = obj(message.get("createdBy"))
            label = first(creator.get("name"), message.get("fromAddress"), direction) or "unknown"
            add(label, role, text, _message_time(message), where)
    found.sort(key=lambda item: (item[0], item[1]))
    people = objects(participants)
    agent = next((p for p in people if _purpose_role(p.get("purpose")) == "agent"), {})
    acd = next((p for p in people if str(p.get("purpose")).casefold() == "acd"), {})
    customer = next((p for p in people if _purpose_role(p.get("purpose")) == "customer"), {})
    queue = obj(acd.get("queue")) or obj(agent.get("queue"))
    meta = {
        "agent_id": first(obj(agent.get("user")).get("id"), agent.get("userId")),
        "agent_name": first(agent.get("name"), obj(agent.get("user")).get("name")),
        "team": first(obj(agent.get("team")).get("name"), obj(agent.get("team")).get("id"), agent.get("teamId")),
        "queue": first(queue.get("name"), queue.get("id"), acd.get("queueName"), acd.get("queueId"),
                       agent.get("queueId")),
        "started_at": clock.stamp(record.get("startTime") or record.get("conversationStart")
                                  or customer.get("startTime"), "the conversation"),
        "platform_id": first(record.get("id"), record.get("conversationId")),
        "platform_channel": first(customer.get("type")),
    }
    yield finish(conv_id, [turn for _, _, turn in found], options, place, platform="genesys-messaging",
                 meta=meta, channel="chat", warnings=clock.warnings, unknown_hint=_HINT)


GENESYS_MESSAGING = Platform(
    name="genesys-messaging", matches=safe_matches(_conversation_matches),
    read=guarded("Genesys conversation", _read_conversation), list_keys=("conversations", "entities"),
    description="Genesys Cloud web messaging / chat conversation (participants[].purpose customer/agent/acd/"
                "workflow with their messages)",
)
