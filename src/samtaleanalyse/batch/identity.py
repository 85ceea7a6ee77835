"""Which conversation is which: content hashes, and the one rule for ids met twice.

An id names a conversation, but exports repeat conversations (the same chat in two daily files) and
reuse ids (ticket 1001 of last year and of today). So a conversation is known by its id *and* a hash of
what was said: the same id with the same content is one conversation (a duplicate, scored once); the same
id with other content is an input error naming both places, unless ids are made unique from their source.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from ..conversation import Conversation
from ..errors import E_DUPLICATE_ID, InputError, excerpt


def content_hash(conversation: Conversation) -> str:
    """SHA-256 of what the conversation says and what the export told about it; not of where it was read."""
    data = conversation.to_dict()
    for key in ("source", "warnings"):
        data.pop(key, None)
    blob = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def id_from_source(conversation: Conversation) -> Conversation:
    """The conversation with its id made unique by where it was read (``--id-from-source``)."""
    return conversation.with_updates(id=f"{conversation.id}@{conversation.source or '?'}")


@dataclass
class Seen:
    content_hash: str
    source: str
    earlier_run: bool = False


@dataclass
class IdentityLedger:
    """Every id of this output folder: from earlier runs (the ledger) and this run's inputs."""

    seen: dict[str, Seen] = field(default_factory=dict)
    duplicates: int = 0
    already_scored: int = 0

    def remember_scored(self, conv_id: str, digest: str, source: str) -> None:
        self.seen[conv_id] = Seen(digest, source, earlier_run=True)

    def check(self, conversation: Conversation, digest: str) -> str | InputError:
        """``"new"``, ``"duplicate"`` (seen in this run), ``"done"`` (scored in an earlier run), or an error."""
        source = conversation.source or "?"
        before = self.seen.get(conversation.id)
        if before is None:
            self.seen[conversation.id] = Seen(digest, source)
            return "new"
        if before.content_hash == digest:
            if before.earlier_run:
                before.earlier_run = False  # met in this run's inputs now: a second copy is a duplicate
                self.already_scored += 1
                return "done"
            self.duplicates += 1
            return "duplicate"
        file, _, line = source.rpartition(":")
        where = "an earlier run into this output folder" if before.earlier_run else before.source
        return InputError(
            f"conversation id {excerpt(conversation.id, 60)} is also used at {where} for a conversation with other "
            "content; neither is merged into the other, and this one is not scored.",
            file=file if line.isdigit() else source, line=int(line) if line.isdigit() else None,
            code=E_DUPLICATE_ID,
            hint="make ids unique in the export, or pass --id-from-source to key conversations by file and line "
                 "(or score into a new --out).")
