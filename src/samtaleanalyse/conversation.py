"""The data model: immutable, typed conversations and their JSON round trip.

``Conversation`` and ``Turn`` describe what was said, never what a model thinks of it;
predictions live beside them (see ``analysis``) so that reading and scoring stay separate.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Mapping, get_args

Role = Literal["customer", "agent", "system"]
Channel = Literal["chat", "call", "email"]
LanguageCode = Literal["nb", "nn", "da", "sv", "en"]

ROLES: tuple[str, ...] = get_args(Role)
CHANNELS: tuple[str, ...] = get_args(Channel)
LANGUAGES: tuple[str, ...] = get_args(LanguageCode)

# Conversation-level fields with a fixed meaning; anything else goes to ``extra``.
META_FIELDS: tuple[str, ...] = ("agent_id", "team", "queue", "started_at")


@dataclass(frozen=True)
class Turn:
    """One contribution of one speaker.

    ``speaker`` is the label as the export wrote it ("Kunde", "Agent Kari", "spk_0");
    ``role`` is what it was mapped to. Times are seconds from the start of a call.
    """

    index: int
    role: Role
    text: str
    speaker: str = ""
    start: float | None = None
    end: float | None = None
    timestamp: str | None = None
    language: str | None = None
    # A message the speaker sent in parts ("(1/2)", "(2/2)") is one turn; this says how many it was.
    parts: int = 1

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "speaker": self.role, "speaker_label": self.speaker,
                               "text": self.text}
        for name in ("start", "end", "timestamp", "language"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.parts > 1:
            out["parts"] = self.parts
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Turn":
        return cls(
            index=int(data["index"]),
            role=data["speaker"],
            text=data["text"],
            speaker=data.get("speaker_label", data["speaker"]),
            start=data.get("start"),
            end=data.get("end"),
            timestamp=data.get("timestamp"),
            language=data.get("language"),
            parts=int(data.get("parts", 1)),
        )


@dataclass(frozen=True)
class Metadata:
    """What the export told us about the conversation, beyond its turns."""

    agent_id: str | None = None
    team: str | None = None
    queue: str | None = None
    started_at: str | None = None
    # Other fields of the export, kept as strings so the record stays flat and hashable.
    extra: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in META_FIELDS if getattr(self, name) is not None}
        out.update(dict(self.extra))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Metadata":
        known = {name: cls.flat(data[name]) for name in META_FIELDS if data.get(name) not in (None, "")}
        extra = tuple(sorted((str(k), cls.flat(v)) for k, v in data.items() if k not in META_FIELDS and v is not None))
        return cls(**known, extra=extra)

    @staticmethod
    def flat(value: Any) -> str:
        """A metadata value as one string: strings as they are, anything else as compact JSON."""
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False, default=str)


@dataclass(frozen=True)
class Conversation:
    """A whole chat, call or e-mail thread between a customer and one or more agents."""

    id: str
    turns: tuple[Turn, ...]
    language: str | None = None
    channel: Channel | None = None
    meta: Metadata = field(default_factory=Metadata)
    source: str | None = None
    # Problems that did not stop reading (an empty turn skipped, say): never silent.
    warnings: tuple[str, ...] = ()

    @property
    def customer_turns(self) -> tuple[Turn, ...]:
        return tuple(t for t in self.turns if t.role == "customer")

    @property
    def agent_turns(self) -> tuple[Turn, ...]:
        return tuple(t for t in self.turns if t.role == "agent")

    def with_updates(self, **changes: Any) -> "Conversation":
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "language": self.language, "channel": self.channel}
        out.update(self.meta.to_dict())
        if self.source:
            out["source"] = self.source
        if self.warnings:
            out["warnings"] = list(self.warnings)
        out["turns"] = [t.to_dict() for t in self.turns]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Conversation":
        reserved = {"id", "language", "channel", "source", "warnings", "turns"}
        meta = Metadata.from_dict({k: v for k, v in data.items() if k not in reserved and not _is_output_key(k)})
        return cls(
            id=str(data["id"]),
            turns=tuple(Turn.from_dict(t) for t in data["turns"]),
            language=data.get("language"),
            channel=data.get("channel"),
            meta=meta,
            source=data.get("source"),
            warnings=tuple(data.get("warnings", ())),
        )


# Keys that later pipeline stages add to an output line; they are not metadata.
_OUTPUT_KEYS = frozenset({"findings", "attitude_trajectory", "score", "summary", "languages"})


def _is_output_key(key: str) -> bool:
    return key in _OUTPUT_KEYS
