"""Plain-text (Markdown) feedback an agent can read: summary, strengths, then what to work on."""
from __future__ import annotations

from typing import Mapping

from .coach import Coaching
from .feedback import Finding
from .texts import load_texts


def _finding(f: Finding, labels: dict[str, str], severity: Mapping[str, str]) -> list[str]:
    turn_word = labels["turn"]
    where = ", ".join(f"{turn_word} {i + 1}" for i in f.turns)
    lines = [f"### {f.title}", "",
             f"*{where} · {severity.get(f.severity, f.severity)} · {severity['confidence']} {f.confidence:.0%}*", "",
             f"**{labels['what_happened']}:** {f.message}", "",
             f"**{labels['why']}:** {f.guidance.text}", "",
             f"**{labels['try_this']}:** {f.suggestion}", "",
             f"<sub>{labels['source']}: {f.guidance.source}, «{f.guidance.section}» ({f.guidance.id})</sub>", ""]
    return lines


def render_markdown(conversation_id: str, coaching: Coaching) -> str:
    texts = load_texts(coaching.language)
    labels = dict(texts.labels)
    out = [f"# {conversation_id}", "", f"**{labels['summary']}:** {coaching.summary}", "",
           f"**{labels['score']}: {coaching.score.value}/100**", ""]
    breakdown = ", ".join(f"{i.code} {i.points:+g}" for i in coaching.score.items)
    if breakdown:
        out += [f"<sub>{coaching.score.base:g} {breakdown} (+{coaching.score.strength_bonus:g} for strengths, at most {coaching.score.strength_bonus_cap:g} and {coaching.score.strength_recovery:.0%} of the issues)</sub>", ""]
    if coaching.strengths or coaching.issues:
        out += [f"## {labels['strengths']}", ""]
    if coaching.strengths:
        for f in coaching.strengths:
            out += _finding(f, labels, texts.severity)
    elif coaching.issues:
        # "Nothing stood out, start with one point below" only makes sense when there is a point below.
        out += [texts.summary["no_strengths"], ""]
    if coaching.issues:
        out += [f"## {labels['issues']}", ""]
        for f in coaching.issues:
            out += _finding(f, labels, texts.severity)
    return "\n".join(out).rstrip() + "\n"
