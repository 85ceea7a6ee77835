"""Turning detections into findings an agent can act on: what happened, why (cited guidance), what to try."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..errors import ConfigError
from ..guidance.loader import GuidanceEntry, seed_title
from .config import SEVERITIES, CoachingConfig, RuleSettings
from .rules import Detection
from .score import QualityScore
from .texts import Texts
from .trajectory import AttitudeTrajectory
from .variants import finding_variant
from .view import ConversationView

QUOTE_CHARS = 160


@dataclass(frozen=True)
class GuidanceRef:
    id: str
    source: str        # the seed document's file name, for the citation
    section: str       # the seed's own heading, for the citation; never shown to agents as it is
    title: str
    text: str          # in the feedback language
    section_title: str = ""   # the section, as a reader of the feedback language sees it
    document: str = ""        # the seed document's title in the feedback language

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "source": self.source, "section": self.section, "title": self.title, "text": self.text,
                "section_title": self.section_title, "document": self.document}


def guidance_ref(entry: GuidanceEntry, language: str) -> GuidanceRef:
    title, text = entry.in_language(language)
    return GuidanceRef(entry.id, entry.source, entry.section, title, text, entry.section_in(language),
                       seed_title(entry.source, language))


@dataclass(frozen=True)
class Finding:
    code: str
    kind: str           # "issue" or "strength"
    severity: str
    confidence: float
    turns: tuple[int, ...]
    title: str
    message: str
    suggestion: str
    guidance: GuidanceRef
    variant: str | None = None   # which case of the finding the evidence shows (coaching.variants)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "kind": self.kind, "severity": self.severity, "confidence": self.confidence,
                "turns": list(self.turns), "title": self.title, "message": self.message,
                "suggestion": self.suggestion, "guidance": self.guidance.to_dict(), "variant": self.variant}


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    # A closing full stop is dropped: the sentence around the quote brings its own.
    text = " ".join(text.split()).rstrip(".")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + " …"


def finding_message(template: str, turn_index: int | None, turn_text: str) -> str:
    """A finding's "what happened", quoting its first turn; people read turn numbers from 1."""
    return template.format(turn=(turn_index + 1) if turn_index is not None else "?",
                           quote=quote(turn_text) if turn_index is not None else "")


def importance(f: Finding) -> tuple[int, float, int]:
    return (SEVERITIES.index(f.severity), -f.confidence, f.turns[0] if f.turns else 0)


def guidance_entry(rule: RuleSettings, variant: str | None, guidance: Mapping[str, GuidanceEntry],
                   origin: Sequence[str] = ()) -> GuidanceEntry:
    """The guidance ``rule`` cites for ``variant``; a ConfigError naming the rules files where it does not exist."""
    entry_id = rule.guidance_for(variant)
    entry = guidance.get(entry_id)
    if entry is None:
        where = f" (rules: {', '.join(origin)})" if origin else ""
        raise ConfigError(f"finding {rule.code} points to guidance entry {entry_id!r}, which does not exist{where}.",
                          hint="fix `guidance` (or `variant_guidance`) in the rules file or add the entry to a "
                               "guidance folder.")
    return entry


def make_findings(view: ConversationView, detections: Sequence[Detection], config: CoachingConfig,
                  guidance: Mapping[str, GuidanceEntry], texts: Texts) -> list[Finding]:
    """Strengths first, then issues, each group by severity, then confidence, then turn order."""
    out = []
    for d in detections:
        rule = config.rule(d.code)
        if d.confidence < rule.min_confidence:
            continue
        variant = finding_variant(d.code, view, d.turns)
        entry = guidance_entry(rule, variant, guidance)
        words = texts.finding(d.code, variant)
        first = d.turns[0] if d.turns else None
        message = finding_message(words.message, first, view.text_of(first) if first is not None else "")
        out.append(Finding(code=d.code, kind=rule.kind, severity=rule.severity, confidence=d.confidence,
                           turns=d.turns, title=words.title, message=message, suggestion=words.suggestion,
                           guidance=guidance_ref(entry, texts.language), variant=variant))
    strengths = sorted((f for f in out if f.kind == "strength"), key=importance)
    issues = sorted((f for f in out if f.kind == "issue"), key=importance)
    return strengths + issues


def summarise(view: ConversationView, findings: Sequence[Finding], trajectory: AttitudeTrajectory,
              score: QualityScore, texts: Texts) -> str:
    issues = [f for f in findings if f.kind == "issue"]
    strengths = [f for f in findings if f.kind == "strength"]
    return summary_text(texts, start=trajectory.start, end=trajectory.end, course=trajectory.course,
                        complaint=bool(view.complaint_turns()), n_strengths=len(strengths), n_issues=len(issues),
                        score=score.value, top_issue=issues[0].title if issues else None)


def summary_text(texts: Texts, *, start: str | None, end: str | None, course: str, complaint: bool,
                 n_strengths: int, n_issues: int, score: int, top_issue: str | None) -> str:
    """The summary from plain values, so a report can write it again in another language from a record."""
    s = texts.summary
    if start is None:
        parts = [s["no_customer"]]
    else:
        parts = [s["complaint" if complaint else "no_complaint"].format(
            start=texts.attitude(start), end=texts.attitude(end), course=texts.trajectory.get(course, course))]
    parts.append(s["counts"].format(n_strengths=n_strengths, n_issues=n_issues, score=score))
    parts.append(s["top_issue"].format(top=top_issue) if top_issue else s["all_good"])
    return " ".join(p.strip() for p in parts if p.strip())
