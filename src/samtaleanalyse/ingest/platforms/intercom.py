"""Intercom conversations (REST API ``GET /conversations/{id}``, and the ``conversation.list`` export).

A conversation (``type: "conversation"``) opens with ``source`` (``author``, HTML ``body``,
``type``: the channel) and goes on in ``conversation_parts.conversation_parts[]`` with
``part_type`` (``comment``, ``note``, ``assignment``, ``close``, ...), HTML ``body``,
``author.type`` (``user``/``lead``/``contact`` = the customer, ``admin`` = a teammate,
``bot`` = Fin or a workflow) and ``created_at`` in epoch seconds. Notes are internal.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from ...conversation import Conversation
from ...errors import InputError
from ..build import RawTurn, ReadOptions
from .base import (Clock, Place, Platform, default_id, err, finish, first, guarded, ident, kind, obj, safe_matches,
                   str_in)
from .text import html_to_text

_AUTHORS = {"user": "customer", "lead": "customer", "contact": "customer", "admin": "agent", "bot": "system"}
# Parts teammates write for each other; the customer never sees them.
_INTERNAL_PARTS = frozenset({"note", "note_and_reopen"})
_SOURCES = {"conversation": "chat", "chat": "chat", "push": "chat", "facebook": "chat", "instagram": "chat",
            "twitter": "chat", "whatsapp": "chat", "sms": "chat", "email": "email", "phone_call": "call",
            "phone_switch": "call"}


def _matches(record: Mapping[str, Any]) -> bool:
    return record.get("type") == "conversation" and (
        "conversation_parts" in record or isinstance(record.get("source"), Mapping))


def _body(part: Mapping[str, Any], where: str, place: Place) -> str:
    body = part.get("body")
    if body is None:
        return ""
    if not isinstance(body, str):
        raise err(place, f"{where}: 'body' must be a string of HTML, found {kind(body)}.")
    return html_to_text(body)


def _read(record: Mapping[str, Any], place: Place, options: ReadOptions) -> Iterator[Conversation | InputError]:
    conv_id = ident(record.get("id")) or default_id(place)
    clock = Clock()
    raw: list[RawTurn] = []
    admins: dict[str, str] = {}

    def add(part: Mapping[str, Any], where: str, when: Any) -> None:
        author = part.get("author")
        if not isinstance(author, Mapping):
            raise err(place, f"{where} has no 'author' object (found {kind(author)}).",
                      hint='Intercom writes the author of every message as {"type": "user"|"admin"|"bot", ...}.')
        text = _body(part, where, place)
        if not text:
            return  # an event (assigned, closed, snoozed) without a message
        kind_ = author.get("type")
        role = _AUTHORS.get(kind_) if isinstance(kind_, str) else None
        name = first(author.get("name"))
        if role == "agent" and name and ident(author.get("id")):
            admins.setdefault(ident(author.get("id")) or "", name)
        raw.append(RawTurn(speaker=name or first(kind_) or "unknown", text=text, role=role,
                           timestamp=clock.stamp(when, where, unit="s")))

    source = record.get("source")
    if source is not None and not isinstance(source, Mapping):
        raise err(place, f"'source' must be an object, found {kind(source)}.")
    if source:
        add(source, "the source message", record.get("created_at"))
    holder = record.get("conversation_parts")
    parts = holder.get("conversation_parts") if isinstance(holder, Mapping) else holder
    if parts is None and holder is None:
        parts = []
    if not isinstance(parts, list):
        raise err(place, f"'conversation_parts.conversation_parts' must be a list, found {kind(parts)}.")
    for pos, part in enumerate(parts):
        if not isinstance(part, Mapping):
            raise err(place, f"conversation part {pos} is {kind(part)}, not an object.")
        if str_in(part.get("part_type"), _INTERNAL_PARTS):
            continue
        add(part, f"conversation part {pos}", part.get("created_at"))
    assignee = ident(record.get("admin_assignee_id"))
    source_type = first(obj(source).get("type"))
    meta = {
        "agent_id": assignee,
        "agent_name": admins.get(assignee or "") or (next(iter(admins.values())) if admins else None),
        "team": ident(record.get("team_assignee_id")),
        "started_at": clock.stamp(record.get("created_at"), "the conversation", unit="s"),
        "platform_id": ident(record.get("id")), "platform_channel": source_type,
        "subject": first(record.get("title"), obj(source).get("subject")),
    }
    yield finish(conv_id, raw, options, place, platform="intercom", meta=meta,
                 channel=_SOURCES.get(source_type or ""), warnings=clock.warnings,
                 unknown_hint="Intercom gives each author a type (user, lead, admin, bot); keep author.type "
                              "in the export")


INTERCOM = Platform(
    name="intercom", matches=safe_matches(_matches), read=guarded("Intercom", _read), list_keys=("conversations",),
    description="Intercom conversation (source + conversation_parts, author.type user/lead/admin/bot); notes are "
                "internal and left out",
)
