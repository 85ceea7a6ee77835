"""Puzzel Contact Centre chat logs.

What Puzzel documents publicly is its chat log *XML* (Archive download and FTP delivery, "Chat
log XML format", help.puzzel.com): ``iq_session_id``, ``customer_key``, ``start``, ``finish``,
``caller_finish``, ``queue_key``, ``request_destination``, ``UserInformation`` (``user_id``,
``user_name``, ``name_first``, ``name_last``, ``nickname``) and one ``detail`` per message with
``sent``, ``role`` (-1 system, 0 chatter/customer, 1 agent), ``nickname``, ``user_id``,
``privacy`` (1 = a private message between agents) and ``msg``.

No public document gives the JSON shape of the same log, so this reader models it: one object per
chat with those field names, the messages as a ``detail`` list (or ``details``, or
``details.detail`` as XML-to-JSON converters write it; a lone ``detail`` object is one message),
and ``UserInformation`` as an object or a list of them. Numbers may come as strings, as they do
from XML.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from ...conversation import Conversation
from ...errors import InputError
from ..build import RawTurn, ReadOptions
from .base import Clock, Place, Platform, default_id, err, finish, first, guarded, ident, kind, objects, safe_matches
from .text import maybe_html

_ROLES = {"-1": "system", "0": "customer", "1": "agent"}


def _matches(record: Mapping[str, Any]) -> bool:
    return "iq_session_id" in record and ("detail" in record or "details" in record)


def _details(record: Mapping[str, Any], place: Place) -> list[Any]:
    value = record.get("detail", record.get("details"))
    if isinstance(value, Mapping) and "detail" in value:
        value = value["detail"]
    if isinstance(value, Mapping):
        return [value]
    if not isinstance(value, list):
        raise err(place, f"the Puzzel chat log has no 'detail' list of messages (found {kind(value)}).")
    return value


def _flag(value: Any) -> str | None:
    """-1/0/1 as the XML or a JSON converter wrote them: numbers, or strings of them."""
    s = ident(value)
    return s.lstrip("+") if s is not None else None


def _read(record: Mapping[str, Any], place: Place, options: ReadOptions) -> Iterator[Conversation | InputError]:
    conv_id = ident(record.get("iq_session_id")) or default_id(place)
    clock = Clock()
    raw: list[RawTurn] = []
    for pos, detail in enumerate(_details(record, place)):
        if not isinstance(detail, Mapping):
            raise err(place, f"detail {pos} is {kind(detail)}, not an object.")
        if _flag(detail.get("privacy")) == "1":
            continue  # a private message between agents: the chatter never saw it
        msg = detail.get("msg")
        if msg is not None and not isinstance(msg, str):
            raise err(place, f"detail {pos}: 'msg' must be a string, found {kind(msg)}.")
        role = _ROLES.get(_flag(detail.get("role")) or "")
        label = first(detail.get("nickname")) or {"system": "system", "agent": "agent"}.get(role or "", "chatter")
        raw.append(RawTurn(speaker=label, text=maybe_html(msg or ""), role=role,
                           timestamp=clock.stamp(detail.get("sent"), f"detail {pos}")))
    info = record.get("UserInformation")
    agents = [info] if isinstance(info, Mapping) else objects(info)
    agent = agents[0] if agents else {}
    full = " ".join(n for n in (first(agent.get("name_first")), first(agent.get("name_last"))) if n)
    meta = {
        "agent_id": ident(agent.get("user_id")), "agent_name": first(agent.get("nickname"), full),
        "queue": ident(record.get("queue_key")),
        "started_at": clock.stamp(record.get("start"), "the chat log"),
        "platform_id": ident(record.get("iq_session_id")), "access_point": ident(record.get("request_destination")),
        "customer_key": ident(record.get("customer_key")),
    }
    yield finish(conv_id, raw, options, place, platform="puzzel", meta=meta, channel="chat", warnings=clock.warnings,
                 unknown_hint="Puzzel marks each message's sender by 'role' (-1 system, 0 chatter, 1 agent)")


PUZZEL = Platform(
    name="puzzel", matches=safe_matches(_matches), read=guarded("Puzzel chat log", _read),
    list_keys=("chats", "chatlogs", "chat_logs"),
    description="Puzzel chat log (iq_session_id, detail[] with role -1/0/1, nickname, sent, msg; the documented "
                "XML fields as JSON); private messages are internal",
)
