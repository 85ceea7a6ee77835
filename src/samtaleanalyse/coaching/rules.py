"""The conditions behind each finding, read from the order of labelled turns.

Definitions (exact; the README and the rule test cases in tests/coaching/cases/ follow them).
Only customer and agent turns count; system turns are skipped. A *complaint* is a conversation
with a hostile or sceptical customer turn. "Before" compares turn indices.

Issues
- compensation_too_early: the first agent turn with compensation comes before any agent turn with
  apology or question (an apology in the same turn does not count: the voucher was the first move).
- missing_apology: a complaint, and no agent turn apologises.
- solution_before_feelings: a hostile customer turn, and no agent turn up to and including the first
  solution turn shows empathy or paraphrase (no solution at all: does not fire).
- no_investigation: a complaint, and no agent turn asks a question.
- no_paraphrase: a complaint, and no agent turn paraphrases.
- blame_shifting: some agent turn blames others.
- arguing_with_customer: some agent turn contradicts the customer.
- no_follow_up: a complaint, and no agent turn has follow-up or improvement.
- not_de_escalated: one of the first two customer turns is hostile and the last customer turn is hostile.
Strengths
- de_escalated: one of the first two customer turns is hostile and the last is neutral or loyal.
- complaint_steps_in_order: a complaint; apology, question and solution all present with the first
  apology <= first question <= first solution; and compensation was not too early.
- feelings_before_solution: a hostile customer turn, and empathy or paraphrase in an agent turn up to
  and including the first solution turn.
- loyal_customer_thanked: an agent turn after the first loyal customer turn thanks the customer.
- empathy_shown: some agent turn shows empathy or paraphrase, and feelings_before_solution does not
  fire (that one is the sharper praise where it applies).
- apology_given: a complaint, and some agent turn apologises.
- followed_up: a complaint, and some agent turn has follow-up or improvement.

Confidence: a finding is as certain as its weakest condition. With predicted labels, "X is present"
is the probability of X on the evidence turn and "X is absent" is one minus the highest
probability of X on any agent turn; with gold labels every condition is certain.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from .view import ConversationView, LabelledTurn


@dataclass(frozen=True)
class Detection:
    code: str
    turns: tuple[int, ...]      # evidence, by turn index
    confidence: float


def _first(turns: Iterable[LabelledTurn], *labels: str) -> LabelledTurn | None:
    return next((t for t in turns if any(t.has(l) for l in labels)), None)


def _present(turn: LabelledTurn, *labels: str) -> float:
    return max(turn.p(l) for l in labels)


def _absent(turns: Iterable[LabelledTurn], *labels: str) -> float:
    ps = [turn.p(l) for turn in turns for l in labels]
    return 1.0 - max(ps) if ps else 1.0


def _complaint(view: ConversationView) -> float:
    return min(1.0, max(t.p("hostile") + t.p("sceptical") for t in view.complaint_turns()))


def _hostile_turns(view: ConversationView) -> tuple[LabelledTurn, ...]:
    return tuple(t for t in view.customer if t.attitude == "hostile")


def _hostile(view: ConversationView) -> float:
    return max(t.p("hostile") for t in _hostile_turns(view))


def _found(code: str, turns: Iterable[LabelledTurn], *confidences: float) -> Detection:
    return Detection(code, tuple(t.index for t in turns), round(max(0.0, min(confidences)), 4))


def compensation_too_early(v: ConversationView) -> Detection | None:
    c = _first(v.agent, "compensation")
    if c is None:
        return None
    earlier = [t for t in v.agent if t.index < c.index]
    if any(t.has("apology") or t.has("question") for t in earlier):
        return None
    return _found("compensation_too_early", [c], _present(c, "compensation"), _absent(earlier, "apology", "question"))


def missing_apology(v: ConversationView) -> Detection | None:
    if not v.complaint_turns() or _first(v.agent, "apology"):
        return None
    return _found("missing_apology", v.complaint_turns()[:1], _complaint(v), _absent(v.agent, "apology"))


def _first_solution_and_feelings(v: ConversationView) -> tuple[LabelledTurn | None, LabelledTurn | None]:
    s = _first(v.agent, "solution")
    if s is None:
        return None, None
    return s, _first((t for t in v.agent if t.index <= s.index), "empathy", "paraphrase")


def solution_before_feelings(v: ConversationView) -> Detection | None:
    if not _hostile_turns(v):
        return None
    s, feeling = _first_solution_and_feelings(v)
    if s is None or feeling is not None:
        return None
    upto = [t for t in v.agent if t.index <= s.index]
    return _found("solution_before_feelings", [s], _hostile(v), _present(s, "solution"),
                  _absent(upto, "empathy", "paraphrase"))


def _complaint_without(code: str, *labels: str) -> Callable[[ConversationView], Detection | None]:
    def rule(v: ConversationView) -> Detection | None:
        if not v.complaint_turns() or _first(v.agent, *labels):
            return None
        return _found(code, v.complaint_turns()[:1], _complaint(v), _absent(v.agent, *labels))
    rule.__name__ = code
    return rule


no_investigation = _complaint_without("no_investigation", "question")
no_paraphrase = _complaint_without("no_paraphrase", "paraphrase")
no_follow_up = _complaint_without("no_follow_up", "follow_up", "improvement")


def _every(code: str, label: str) -> Callable[[ConversationView], Detection | None]:
    def rule(v: ConversationView) -> Detection | None:
        hits = [t for t in v.agent if t.has(label)]
        if not hits:
            return None
        return _found(code, hits, max(t.p(label) for t in hits))
    rule.__name__ = code
    return rule


blame_shifting = _every("blame_shifting", "blame")
arguing_with_customer = _every("arguing_with_customer", "contradiction")


def _opening_hostile(v: ConversationView) -> LabelledTurn | None:
    return next((t for t in v.customer[:2] if t.attitude == "hostile"), None)


def not_de_escalated(v: ConversationView) -> Detection | None:
    opening = _opening_hostile(v)
    if opening is None or v.customer[-1].attitude != "hostile":
        return None
    last = v.customer[-1]
    return _found("not_de_escalated", [last], opening.p("hostile"), last.p("hostile"))


def de_escalated(v: ConversationView) -> Detection | None:
    opening = _opening_hostile(v)
    if opening is None or v.customer[-1].attitude not in ("neutral", "loyal"):
        return None
    last = v.customer[-1]
    return _found("de_escalated", [last], opening.p("hostile"), last.p("neutral") + last.p("loyal"))


def complaint_steps_in_order(v: ConversationView) -> Detection | None:
    if not v.complaint_turns():
        return None
    a, q, s = _first(v.agent, "apology"), _first(v.agent, "question"), _first(v.agent, "solution")
    if a is None or q is None or s is None or not (a.index <= q.index <= s.index):
        return None
    if compensation_too_early(v) is not None:
        return None
    return _found("complaint_steps_in_order", [s], _complaint(v), _present(a, "apology"), _present(q, "question"),
                  _present(s, "solution"))


def feelings_before_solution(v: ConversationView) -> Detection | None:
    if not _hostile_turns(v):
        return None
    s, feeling = _first_solution_and_feelings(v)
    if s is None or feeling is None:
        return None
    return _found("feelings_before_solution", [feeling], _hostile(v), _present(feeling, "empathy", "paraphrase"))


def loyal_customer_thanked(v: ConversationView) -> Detection | None:
    loyal = next((t for t in v.customer if t.attitude == "loyal"), None)
    if loyal is None:
        return None
    thanks = _first((t for t in v.agent if t.index > loyal.index), "thanks")
    if thanks is None:
        return None
    return _found("loyal_customer_thanked", [thanks], loyal.p("loyal"), _present(thanks, "thanks"))


def empathy_shown(v: ConversationView) -> Detection | None:
    hit = _first(v.agent, "empathy", "paraphrase")
    if hit is None or feelings_before_solution(v) is not None:
        return None
    return _found("empathy_shown", [hit], _present(hit, "empathy", "paraphrase"))


def _complaint_with(code: str, *labels: str) -> Callable[[ConversationView], Detection | None]:
    def rule(v: ConversationView) -> Detection | None:
        hit = _first(v.agent, *labels)
        if not v.complaint_turns() or hit is None:
            return None
        return _found(code, [hit], _complaint(v), _present(hit, *labels))
    rule.__name__ = code
    return rule


apology_given = _complaint_with("apology_given", "apology")
followed_up = _complaint_with("followed_up", "follow_up", "improvement")

RULES: Mapping[str, Callable[[ConversationView], Detection | None]] = {
    r.__name__: r for r in (
        compensation_too_early, missing_apology, solution_before_feelings, no_investigation, no_paraphrase,
        blame_shifting, arguing_with_customer, no_follow_up, not_de_escalated,
        de_escalated, complaint_steps_in_order, feelings_before_solution, loyal_customer_thanked,
        empathy_shown, apology_given, followed_up,
    )
}
ISSUE_CODES: tuple[str, ...] = tuple(list(RULES)[:9])
STRENGTH_CODES: tuple[str, ...] = tuple(list(RULES)[9:])


def detect(view: ConversationView, enabled: Callable[[str], bool] = lambda code: True) -> list[Detection]:
    """Every enabled finding whose condition holds, in the order of RULES."""
    out = []
    for code, rule in RULES.items():
        if enabled(code) and (found := rule(view)) is not None:
            out.append(found)
    return out
