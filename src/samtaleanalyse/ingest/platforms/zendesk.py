"""Zendesk: Support tickets with their comments, Chat (Zopim) transcripts, and messaging.

Field names follow Zendesk's API reference: Ticket Comments (``author_id``, ``public``,
``body``/``html_body``/``plain_body``, ``created_at``, ``via``), Users (``role``: ``end-user``,
``agent``, ``admin``), Chat API chats (``history`` entries of type ``chat.msg`` with ``nick``
``visitor:...``/``agent:...``) and Sunshine Conversations messages (``author.type``
``user``/``business``, ``author.subtypes``, ``content.text``, ``source.type``, ``received``).
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from ...conversation import Conversation
from ...errors import InputError
from ..build import RawTurn, ReadOptions
from .base import (Clock, Place, Platform, default_id, err, finish, first, guarded, ident, kind, need_list, obj,
                   objects, safe_matches, str_in)
from .text import html_to_text

# --- Support tickets -------------------------------------------------------------------------

# ``via.channel`` of a ticket or comment -> the pipeline's channel. A web-form ticket is written
# and answered later, as an e-mail is.
_TICKET_CHANNELS = {
    "email": "email", "web": "email", "mobile": "email", "api": None,
    "chat": "chat", "native_messaging": "chat", "messaging": "chat", "chat_transcript": "chat",
    "whatsapp": "chat", "facebook": "chat", "twitter": "chat", "instagram_dm": "chat", "sms": "chat",
    "line": "chat", "wechat": "chat", "any_channel": "chat", "sunshine_conversations_api": "chat",
    "voice": "call", "phone_call_inbound": "call", "phone_call_outbound": "call", "voicemail": "call",
}
# Comments written by business rules (triggers, automations) or by Zendesk itself.
_RULE_CHANNELS = frozenset({"rule", "system"})
_SYSTEM_USER = "-1"  # the author id Zendesk gives its own system comments
_USER_ROLES = {"end-user": "customer", "end_user": "customer", "agent": "agent", "admin": "agent"}
_TICKET_HINT = ("export the comments with their users (GET /api/v2/tickets/{id}/comments.json?include=users) "
                "so that each author's role is known")


def _ticket_matches(record: Mapping[str, Any]) -> bool:
    if isinstance(record.get("ticket"), Mapping):
        return isinstance(record.get("comments"), list) or isinstance(record["ticket"].get("comments"), list)
    comments = record.get("comments")
    return isinstance(comments, list) and (
        "requester_id" in record or any("author_id" in c for c in objects(comments)[:5]))


def _is_private(comment: Mapping[str, Any]) -> bool:
    # ``public: false`` is an internal note: agents wrote it for each other, not to the customer.
    public = comment.get("public")
    if isinstance(public, str):
        return public.strip().casefold() in ("false", "0", "no")
    return public is not None and not public


def _comment_text(comment: Mapping[str, Any], pos: int, place: Place) -> str:
    for key, is_html in (("plain_body", False), ("body", False), ("html_body", True)):
        value = comment.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise err(place, f"comment {pos}: '{key}' must be a string, found {kind(value)}.")
        if value.strip():
            return html_to_text(value) if is_html else value.strip()
    return ""


def _lookup(record: Mapping[str, Any], ticket: Mapping[str, Any], key: str) -> dict[str, Mapping[str, Any]]:
    """Sideloaded users or groups by id, from the record, its ``sideloads`` or the ticket."""
    found: dict[str, Mapping[str, Any]] = {}
    for holder in (obj(record.get("sideloads")), ticket, record):
        for item in objects(holder.get(key)):
            item_id = ident(item.get("id"))
            if item_id is not None:
                found[item_id] = item
    return found


def _read_ticket(record: Mapping[str, Any], place: Place, options: ReadOptions
                 ) -> Iterator[Conversation | InputError]:
    ticket = record["ticket"] if isinstance(record.get("ticket"), Mapping) else record
    comments = record.get("comments") if isinstance(record.get("comments"), list) else ticket.get("comments")
    if not isinstance(comments, list):
        raise err(place, f"the Zendesk ticket has no 'comments' list (found {kind(comments)}).",
                  hint="export each ticket with its comments: {\"ticket\": {...}, \"comments\": [...]}.")
    conv_id = ident(ticket.get("id")) or default_id(place)
    users = _lookup(record, ticket, "users")
    groups = _lookup(record, ticket, "groups")
    requester = ident(ticket.get("requester_id"))
    assignee = ident(ticket.get("assignee_id"))
    clock = Clock()
    raw: list[RawTurn] = []
    for pos, comment in enumerate(comments):
        if not isinstance(comment, Mapping):
            raise err(place, f"comment {pos} is {kind(comment)}, not an object.")
        if _is_private(comment):
            continue
        text = _comment_text(comment, pos, place)
        author = ident(comment.get("author_id"))
        user = users.get(author or "", {})
        via = obj(comment.get("via"))
        role: str | None
        machine = str_in(via.get("channel"), _RULE_CHANNELS) or comment.get("type") == "VoiceComment"
        if author == _SYSTEM_USER or machine:
            role = "system"
        elif isinstance(user.get("role"), str) and user["role"] in _USER_ROLES:
            role = _USER_ROLES[user["role"]]
        elif author is not None and author == requester:
            role = "customer"
        elif author is not None and author == assignee:
            role = "agent"
        else:
            role = None
        label = first(user.get("name")) or (f"author {author}" if author else "unknown author")
        raw.append(RawTurn(speaker=label, text=text, role=role,
                           timestamp=clock.stamp(comment.get("created_at"), f"comment {pos}")))
    via = obj(ticket.get("via"))
    source = first(via.get("channel"))
    group_id = ident(ticket.get("group_id"))
    meta = {
        "agent_id": assignee, "agent_name": first(users.get(assignee or "", {}).get("name")),
        "team": first(groups.get(group_id or "", {}).get("name"), group_id),
        "started_at": clock.stamp(ticket.get("created_at"), "the ticket"),
        "platform_id": ident(ticket.get("id")), "platform_channel": source, "subject": first(ticket.get("subject")),
    }
    yield finish(conv_id, raw, options, place, platform="zendesk-ticket", meta=meta,
                 channel=_TICKET_CHANNELS.get(source or ""), warnings=clock.warnings, unknown_hint=_TICKET_HINT)


ZENDESK_TICKET = Platform(
    name="zendesk-ticket", matches=safe_matches(_ticket_matches), read=guarded("Zendesk ticket", _read_ticket),
    list_keys=("tickets",),
    description="Zendesk Support ticket with its comments ({ticket, comments, users?}); private comments are "
                "internal notes and left out",
)

# --- Chat (Zopim) ----------------------------------------------------------------------------

# Messages the chat system sends itself: greetings set up as triggers, queue notices.
_CHAT_SYSTEM_NICKS = frozenset({"agent:system", "agent:trigger"})
_CHAT_SENDER_TYPES = {"visitor": "customer", "agent": "agent", "trigger": "system", "system": "system"}


def _chat_matches(record: Mapping[str, Any]) -> bool:
    history = record.get("history")
    return isinstance(history, list) and (
        record.get("type") in ("chat", "offline_msg")
        or any(isinstance(h.get("type"), str) and h["type"].startswith("chat.") for h in objects(history)[:10]))


def _chat_role(entry: Mapping[str, Any]) -> str | None:
    nick = entry.get("nick")
    if isinstance(nick, str):
        n = nick.strip().casefold()
        if n in _CHAT_SYSTEM_NICKS:
            return "system"
        if n.startswith("agent:"):
            return "agent"
        if n.startswith("visitor:"):
            return "customer"
    sender = entry.get("sender_type")
    return _CHAT_SENDER_TYPES.get(sender.strip().casefold()) if isinstance(sender, str) else None


def _read_chat(record: Mapping[str, Any], place: Place, options: ReadOptions) -> Iterator[Conversation | InputError]:
    history = need_list(record, "history", place, "Zendesk Chat", "chat events")
    conv_id = ident(record.get("id")) or default_id(place)
    clock = Clock()
    raw: list[RawTurn] = []
    for pos, entry in enumerate(history):
        if not isinstance(entry, Mapping):
            raise err(place, f"history entry {pos} is {kind(entry)}, not an object.")
        if entry.get("type") != "chat.msg":
            continue  # joins, leaves, ratings, file uploads: nobody said anything
        msg = entry.get("msg")
        if msg is not None and not isinstance(msg, str):
            raise err(place, f"history entry {pos}: 'msg' must be a string, found {kind(msg)}.")
        label = first(entry.get("name"), entry.get("display_name"), entry.get("nick")) or "unknown"
        raw.append(RawTurn(speaker=label, text=msg or "", role=_chat_role(entry),
                           timestamp=clock.stamp(entry.get("timestamp"), f"history entry {pos}")))
    session = obj(record.get("session"))
    agent_ids = record.get("agent_ids") if isinstance(record.get("agent_ids"), list) else []
    agent_names = record.get("agent_names") if isinstance(record.get("agent_names"), list) else []
    meta = {
        "agent_id": first(*agent_ids), "agent_name": first(*agent_names),
        "team": first(record.get("department_name"), record.get("department_id")),
        "started_at": clock.stamp(session.get("start_date") or record.get("timestamp"), "the chat"),
        "platform_id": ident(record.get("id")), "zendesk_ticket_id": ident(record.get("zendesk_ticket_id")),
    }
    yield finish(conv_id, raw, options, place, platform="zendesk-chat", meta=meta, channel="chat",
                 warnings=clock.warnings,
                 unknown_hint="Zendesk Chat marks speakers by 'nick' (visitor:..., agent:...); keep it in the export")


ZENDESK_CHAT = Platform(
    name="zendesk-chat", matches=safe_matches(_chat_matches), read=guarded("Zendesk Chat", _read_chat),
    list_keys=("chats",),
    description="Zendesk Chat (Zopim) chat with its history; chat.msg entries, roles from nick visitor:/agent:",
)

# --- Messaging (Sunshine Conversations) ------------------------------------------------------

# ``source.type`` of business messages sent by Zendesk's bots and surveys rather than an agent.
_BOT_SOURCES = frozenset({"zd:answerBot", "ultimate", "zd:surveys", "zd:ticketUpdates"})


def _messaging_matches(record: Mapping[str, Any]) -> bool:
    messages = record.get("messages")
    return isinstance(messages, list) and any(
        obj(m.get("author")).get("type") in ("user", "business") for m in objects(messages)[:10])


def _messaging_role(message: Mapping[str, Any]) -> str | None:
    author = obj(message.get("author"))
    kind_ = author.get("type")
    if kind_ == "user":
        return "customer"
    if kind_ != "business":
        return None
    subtypes = author.get("subtypes")
    if isinstance(subtypes, list) and "AI" in subtypes:
        return "system"
    return "system" if str_in(obj(message.get("source")).get("type"), _BOT_SOURCES) else "agent"


def _message_text(content: Mapping[str, Any], pos: int, place: Place) -> str | None:
    for key, is_html in (("text", False), ("markdownText", False), ("htmlText", True)):
        value = content.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise err(place, f"message {pos}: 'content.{key}' must be a string, found {kind(value)}.")
        return html_to_text(value) if is_html else value
    return None


def _read_messaging(record: Mapping[str, Any], place: Place, options: ReadOptions
                    ) -> Iterator[Conversation | InputError]:
    messages = need_list(record, "messages", place, "Zendesk messaging", "messages")
    conversation = obj(record.get("conversation"))
    conv_id = first(conversation.get("id"), record.get("id"), record.get("conversationId")) or default_id(place)
    clock = Clock()
    raw: list[RawTurn] = []
    agent_name: str | None = None
    customer_source: str | None = None
    for pos, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise err(place, f"message {pos} is {kind(message)}, not an object.")
        author = message.get("author")
        if not isinstance(author, Mapping):
            raise err(place, f"message {pos} has no 'author' object (found {kind(author)}).")
        content = message.get("content")
        if not isinstance(content, Mapping):
            raise err(place, f"message {pos} has no 'content' object (found {kind(content)}).")
        text = _message_text(content, pos, place)
        if text is None:
            continue  # an image, a file or a form without text
        role = _messaging_role(message)
        label = first(author.get("displayName")) or first(author.get("type")) or "unknown"
        if role == "agent" and agent_name is None:
            agent_name = first(author.get("displayName"))
        if role == "customer" and customer_source is None:
            customer_source = first(obj(message.get("source")).get("type"))
        raw.append(RawTurn(speaker=label, text=text, role=role,
                           timestamp=clock.stamp(message.get("received"), f"message {pos}")))
    meta = {
        "agent_name": agent_name, "started_at": raw[0].timestamp if raw else None,
        "platform_id": first(conversation.get("id"), record.get("id"), record.get("conversationId")),
        "platform_channel": customer_source,
    }
    yield finish(conv_id, raw, options, place, platform="zendesk-messaging", meta=meta, channel="chat",
                 warnings=clock.warnings,
                 unknown_hint="Zendesk messaging marks each author as 'user' or 'business' in author.type")


ZENDESK_MESSAGING = Platform(
    name="zendesk-messaging", matches=safe_matches(_messaging_matches),
    read=guarded("Zendesk messaging", _read_messaging), list_keys=("conversations",),
    description="Zendesk messaging / Sunshine Conversations messages (author.type user/business, content.text); "
                "bot and survey messages are system turns",
)
