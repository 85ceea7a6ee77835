"""The corpus' conversation-level findings, derived from its gold turn labels by the coaching rules.

Annotators never fill ``findings``; this module does, so the field always agrees with the labels
and with the rules of this version (``data findings --check`` runs in the test suite).
"""
from __future__ import annotations

from typing import Sequence

from ..coaching import detect, from_labels
from ..coaching.view import ConversationView
from .model import LabelledConversation


def gold_view(conv: LabelledConversation) -> ConversationView:
    return from_labels(conv.id, conv.language, (
        {"index": t.turn.index, "speaker": t.turn.role, "text": t.turn.text, "attitude": t.attitude,
         "behaviours": list(t.behaviours)} for t in conv.turns))


def gold_findings(conv: LabelledConversation) -> tuple[str, ...]:
    """Codes of every finding (issues and strengths) the gold labels give, with all rules enabled."""
    return tuple(d.code for d in detect(gold_view(conv)))


def stale_findings(convs: Sequence[LabelledConversation]) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(id, stored, derived) for every conversation whose stored findings differ from the derived ones."""
    out = []
    for c in convs:
        derived = gold_findings(c)
        if tuple(c.findings) != derived:
            out.append((c.id, tuple(c.findings), derived))
    return out
