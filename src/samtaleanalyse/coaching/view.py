"""What the rules read: each customer and agent turn with its labels and, where predicted, their probabilities.

The same view is built from model predictions (scoring) or from gold labels (the annotated corpus),
so the rules, their tests and the corpus findings all run through one code path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from ..labels import ATTITUDES, BEHAVIOURS

if TYPE_CHECKING:
    from ..analysis import AnalysedConversation

COMPLAINT_ATTITUDES = ("hostile", "sceptical")


@dataclass(frozen=True)
class LabelledTurn:
    """One customer or agent turn as the rules see it. System turns are never in a view."""

    index: int
    role: str                                  # "customer" or "agent"
    text: str
    attitude: str | None = None
    behaviours: frozenset[str] = frozenset()
    scores: Mapping[str, float] = field(default_factory=dict)  # label -> probability; empty for gold labels

    def has(self, label: str) -> bool:
        return label in self.behaviours

    def p(self, label: str) -> float:
        """Probability of ``label`` on this turn: the model's score, or 1/0 for gold labels."""
        if label in self.scores:
            return float(self.scores[label])
        return 1.0 if (label == self.attitude or label in self.behaviours) else 0.0


@dataclass(frozen=True)
class ConversationView:
    id: str
    language: str
    turns: tuple[LabelledTurn, ...]

    @property
    def customer(self) -> tuple[LabelledTurn, ...]:
        return tuple(t for t in self.turns if t.role == "customer")

    @property
    def agent(self) -> tuple[LabelledTurn, ...]:
        return tuple(t for t in self.turns if t.role == "agent")

    def complaint_turns(self) -> tuple[LabelledTurn, ...]:
        return tuple(t for t in self.customer if t.attitude in COMPLAINT_ATTITUDES)

    def text_of(self, index: int) -> str:
        return next((t.text for t in self.turns if t.index == index), "")


def _check(label: str | None, known: Sequence[str], where: str) -> None:
    if label is not None and label not in known:
        raise ValueError(f"{where}: unknown label {label!r}; known: {', '.join(known)}")


def from_labels(conversation_id: str, language: str, turns: Iterable[Mapping[str, object]]) -> ConversationView:
    """A view from plain records: ``{"speaker"|"role", "text", "attitude"?, "behaviours"?}``, indices by position
    unless an ``index`` is given."""
    out = []
    for pos, t in enumerate(turns):
        role = str(t.get("speaker", t.get("role", "")))
        if role not in ("customer", "agent"):
            continue
        index = int(t.get("index", pos))  # type: ignore[arg-type]
        attitude = t.get("attitude") if role == "customer" else None
        behaviours = frozenset(t.get("behaviours", ()) or ()) if role == "agent" else frozenset()  # type: ignore[arg-type]
        _check(attitude, ATTITUDES, f"{conversation_id} turn {index}")  # type: ignore[arg-type]
        for b in behaviours:
            _check(b, BEHAVIOURS, f"{conversation_id} turn {index}")
        out.append(LabelledTurn(index=index, role=role, text=str(t.get("text", "")), attitude=attitude,  # type: ignore[arg-type]
                                behaviours=behaviours))
    return ConversationView(conversation_id, language, tuple(out))


def from_analysis(analysed: "AnalysedConversation") -> ConversationView:
    """A view from the classifiers' predictions (turns without a prediction carry no labels)."""
    conv = analysed.conversation
    preds = {p.turn_index: p for p in analysed.predictions}
    out = []
    for turn in conv.turns:
        if turn.role not in ("customer", "agent"):
            continue
        p = preds.get(turn.index)
        if p is None:
            out.append(LabelledTurn(index=turn.index, role=turn.role, text=turn.text))
        elif turn.role == "customer":
            out.append(LabelledTurn(index=turn.index, role="customer", text=turn.text,
                                    attitude=p.labels[0] if p.labels else None, scores=dict(p.scores)))
        else:
            # A label a guideline rule added or took away (label_rules.py) is read with the heads' certainty
            # turned round: "Sorry to hear" that the heads scored 0.9 apology is an apology absent with 0.9.
            scores = {l: (1.0 - s if l in p.ruled_labels else s) for l, s in p.scores.items()}
            out.append(LabelledTurn(index=turn.index, role="agent", text=turn.text,
                                    behaviours=frozenset(p.labels), scores=scores))
    return ConversationView(conv.id, conv.language or "en", tuple(out))
