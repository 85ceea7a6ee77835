"""Plain-text (Markdown) feedback an agent can read: summary, strengths, then what to work on."""
from __future__ import annotations

from .coach import Coaching
from .feedback import Finding, GuidanceRef
from .score_words import describe_score
from .texts import Texts, load_texts


def citation(guidance: GuidanceRef, texts: Texts) -> str:
    """Where the guidance comes from, in words: the section and document titles in the reader's language."""
    return texts.labels["citation"].format(section=guidance.section_title or guidance.section,
                                           document=guidance.document or guidance.source)


def _finding(f: Finding, texts: Texts) -> list[str]:
    labels, severity = texts.labels, texts.severity
    where = ", ".join(f"{labels['turn']} {i + 1}" for i in f.turns)
    lines = [f"### {f.title}", "",
             f"*{where} · {severity.get(f.severity, f.severity)} · {severity['confidence']} {texts.percent(f.confidence)}*", "",
             f"**{labels['what_happened']}:** {f.message}", "",
             f"**{labels['why']}:** {f.guidance.text}", "",
             f"**{labels['try_this']}:** {f.suggestion}", "",
             # The file name stays as a small citation for whoever wants to look the text up.
             f"<sub>{labels['source']}: {citation(f.guidance, texts)} ({f.guidance.source})</sub>", ""]
    return lines


def render_markdown(conversation_id: str, coaching: Coaching) -> str:
    texts = load_texts(coaching.language)
    labels = dict(texts.labels)
    out = [f"# {conversation_id}", "", f"**{labels['summary']}:** {coaching.summary}", "",
           f"**{labels['score']}: {coaching.score.value}/100**", ""]
    if coaching.score.items:
        titles = {f.code: f.title for f in coaching.findings}
        out += [describe_score(coaching.score.to_dict(), texts, titles).text, ""]
    if coaching.strengths or coaching.issues:
        out += [f"## {labels['strengths']}", ""]
    if coaching.strengths:
        for f in coaching.strengths:
            out += _finding(f, texts)
    elif coaching.issues:
        # "Nothing stood out, start with one point below" only makes sense when there is a point below.
        out += [texts.summary["no_strengths"], ""]
    if coaching.issues:
        out += [f"## {labels['issues']}", ""]
        for f in coaching.issues:
            out += _finding(f, texts)
    return "\n".join(out).rstrip() + "\n"
