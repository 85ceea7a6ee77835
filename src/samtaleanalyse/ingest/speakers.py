"""Mapping speaker labels of exports ("Kunde", "Agent Kari", "spk_0") to roles.

An unknown label is an error, never a guess: scoring the customer's words as the
agent's would silently corrupt every number downstream.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..conversation import ROLES, Role
from ..errors import ConfigError

DEFAULT_LABELS: Mapping[str, Role] = {
    **{w: "customer" for w in (
        "kunde", "kund", "kunden", "customer", "caller", "client", "innringer", "opkalder", "uppringare",
        "innringar", "kundin", "user", "bruker", "brukar", "bruger", "användare", "visitor", "besøkende",
        "besökare", "besøgende", "gjest", "gäst", "gæst", "guest", "passenger", "passasjer", "passagerare",
        "passager", "medlem", "member",
    )},
    **{w: "agent" for w in (
        "agent", "rådgiver", "rådgivare", "rådgjevar", "medarbeider", "medarbejder", "medarbetare", "handläggare",
        "saksbehandler", "saksbehandlar", "sagsbehandler", "kundeservice", "kundservice", "kundesenter",
        "kundecenter", "kundtjänst", "support", "operator", "operatør", "operatör", "konsulent", "representative",
        "rep", "advisor", "adviser", "staff", "kundebehandler", "kundebehandlar", "servicemedarbeider",
        "kundeveileder", "kundrådgivare", "kunderådgiver", "kunderådgivar", "service", "helpdesk",
    )},
    **{w: "system" for w in (
        "system", "bot", "chatbot", "virtual assistant", "virtuell assistent", "virtuel assistent",
        "assistant bot", "automatisk melding", "automatiskt meddelande", "automatisk besked", "auto", "info",
        "notification", "varsel", "notifikation",
    )},
}

_TRAILING_ID = re.compile(r"^(.*?)[\s_#-]*\d+$")
_PAREN = re.compile(r"^(.*?)\s*[(\[](.+?)[)\]]\s*$")


def _norm(label: str) -> str:
    return " ".join(label.strip().strip(":").casefold().split())


@dataclass(frozen=True)
class SpeakerMap:
    """Turns a speaker label into a role.

    ``labels`` extends or overrides the built-in table (keys are matched case-insensitively).
    ``first_diarised_speaker`` opts in to a documented convention for call recordings whose
    diariser gives anonymous labels (``spk_0``, ``SPEAKER_00``): the first such label in a
    conversation is that role, the second the other party.
    ``others`` is the role of every label nothing else maps (``--others-are-agents``: exports whose
    speaker column holds each agent's name, where only the customer's label is known).
    """

    labels: Mapping[str, Role] = field(default_factory=dict)
    first_diarised_speaker: Role | None = None
    others: Role | None = None

    def __post_init__(self) -> None:
        for label, role in self.labels.items():
            if role not in ROLES:
                raise ConfigError(
                    f"speaker label {label!r} is mapped to {role!r}, which is not a role.",
                    hint=f"use one of {', '.join(ROLES)}.",
                )
        if self.first_diarised_speaker not in (None, "customer", "agent"):
            raise ConfigError(
                f"first_diarised_speaker must be 'customer' or 'agent', not {self.first_diarised_speaker!r}.")
        if self.others not in (None, "customer", "agent"):
            raise ConfigError(f"others must be 'customer' or 'agent', not {self.others!r}.")
        table = dict(DEFAULT_LABELS)
        table.update({_norm(k): v for k, v in self.labels.items()})
        object.__setattr__(self, "_lookup", table)

    def role_of(self, label: str) -> Role | None:
        """The role for ``label``; ``others`` (usually None) when the label is unknown."""
        role = self._known_role(label)
        if role is None and self.others is not None and not self.is_diarised_label(label):
            return self.others
        return role

    def _known_role(self, label: str) -> Role | None:
        table: dict[str, Role] = self._lookup  # type: ignore[attr-defined]
        key = _norm(label)
        if key in table:
            return table[key]
        candidates = [key]
        m = _TRAILING_ID.match(key)  # "Kunde 2", "agent_7"
        if m and m.group(1):
            candidates.append(m.group(1).strip())
        m = _PAREN.match(key)  # "Kari (Kundeservice)", "Agent (Kari)"
        if m:
            candidates += [m.group(2).strip(), m.group(1).strip()]
        words = re.split(r"[\s:_/-]+", key)
        if len(words) > 1:  # "Agent Kari", "Kundeservice - Ola"
            candidates += [words[0], words[-1]]
        for cand in candidates:
            if cand in table:
                return table[cand]
        return None

    @staticmethod
    def is_diarised_label(label: str) -> bool:
        return bool(re.fullmatch(r"(spk|speaker|ch|channel|talare|taler|speaker_)[\s_-]*\d+", _norm(label)))

    @classmethod
    def from_file(cls, path: str | Path) -> "SpeakerMap":
        """Read a TOML file with a ``[speakers]`` table (label = role) and optional
        ``first_diarised_speaker = "agent"``."""
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"speaker map {p} does not exist.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"speaker map {p} is not valid TOML: {exc}.") from None
        labels = data.get("speakers", {})
        if not isinstance(labels, dict):
            raise ConfigError(f"speaker map {p}: [speakers] must be a table of label = role.")
        return cls(labels=labels, first_diarised_speaker=data.get("first_diarised_speaker"), others=data.get("others"))

    def merged(self, labels: Mapping[str, Role]) -> "SpeakerMap":
        return SpeakerMap({**self.labels, **labels}, self.first_diarised_speaker, self.others)

    def under(self, explicit: "SpeakerMap") -> "SpeakerMap":
        """This (a folder's) map with ``explicit`` (the command line's) settings winning."""
        return SpeakerMap({**self.labels, **explicit.labels},
                          explicit.first_diarised_speaker or self.first_diarised_speaker,
                          explicit.others or self.others)
