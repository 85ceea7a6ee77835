"""One conversation's feedback as a self-contained HTML page, from one line of ``conversations.jsonl``.

The page needs nothing from the internet (CSS inline, no script, font or image) so that it opens
from a mail attachment, on a phone as on a PC, and prints. Every fixed word comes from the
language's text files (``conversation_texts/<lang>.toml`` for the page, ``coaching/texts`` for the
findings' vocabulary), and every value from the record is escaped by Jinja's autoescaping.
Turn numbers are what people read and type: the record's 0-based ``index`` plus one.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup

from .._version import __version__
from ..coaching.feedback import finding_message, summary_text
from ..coaching.score_words import ScoreWords, describe_score
from ..coaching.texts import Texts, load_texts
from ..coaching.view import COMPLAINT_ATTITUDES
from ..conversation import LANGUAGES
from ..errors import ConfigError
from ..guidance.loader import GuidanceEntry, load_guidance, seed_title
from ..labels import ATTITUDES, BEHAVIOURS

HERE = Path(__file__).parent
TEXTS_DIR = HERE / "conversation_texts"
_LABEL_ORDER = {label: i for i, label in enumerate(ATTITUDES + BEHAVIOURS)}


@dataclass(frozen=True)
class PageTexts:
    page: Mapping[str, str]
    meta: Mapping[str, str]
    channels: Mapping[str, str]
    languages: Mapping[str, str]


@lru_cache(maxsize=None)
def load_page_texts(language: str) -> PageTexts:
    """The page's fixed texts in ``language`` (one of nb, nn, da, sv, en)."""
    if language not in LANGUAGES:
        raise ConfigError(f"there is no HTML report in language {language!r}.",
                          hint=f"use one of {', '.join(LANGUAGES)}.")
    data = tomllib.loads((TEXTS_DIR / f"{language}.toml").read_text(encoding="utf-8"))
    return PageTexts(data["page"], data["meta"], data["channels"], data["languages"])


# ---------------------------------------------------------------- what the template shows


@dataclass(frozen=True)
class Piece:
    """A stretch of a turn's text; highlighted when words in it carry labels."""

    text: str
    labels: tuple[str, ...] = ()     # label codes, for data attributes
    names: str = ""                  # the labels in words
    tag: bool = False                # the labels are written out after this piece (it ends a run of highlights)


@dataclass(frozen=True)
class Link:
    anchor: str
    text: str
    kind: str = ""


@dataclass(frozen=True)
class TurnView:
    number: int
    anchor: str
    role: str
    role_name: str
    speaker: str                     # the export's label ("Agent Kari"), when it says more than the role
    time: str
    lang: str | None                 # the turn's language where it differs from the page's
    pieces: tuple[Piece, ...]
    attitude: str | None
    attitude_tag: str
    behaviours_tag: str
    uncertain: bool
    mentions: tuple[Link, ...]
    rules: tuple[str, ...] = ()      # what the guideline rules that changed its labels did (label_rules)


@dataclass(frozen=True)
class FindingView:
    anchor: str
    kind: str
    title: str
    indices: tuple[int, ...]          # the record's 0-based turn indices
    turns: tuple[Link, ...]           # links to them, numbered from 1
    severity: str
    confidence: str
    message: str
    why_title: str
    why_text: str
    citation: str
    source_file: str
    suggestion: str


@dataclass(frozen=True)
class CourseView:
    start: str
    end: str
    start_class: str
    end_class: str
    development: str
    points: tuple[Link, ...]          # kind = the attitude
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class MetaItem:
    label: str
    value: str
    datetime: str = ""


# ---------------------------------------------------------------- the public function


def render_conversation_html(record: Mapping[str, Any], *, language: str | None = None,
                             guidance: Mapping[str, GuidanceEntry] | None = None) -> str:
    """The feedback page for one ``conversations.jsonl`` record, as one self-contained HTML document.

    ``language`` defaults to the record's ``feedback_language``. Asked for another language, the
    findings, summary and guidance are written again in it from their codes (``guidance`` is the
    guidance the record was coached with, default the package's; an entry it lacks keeps the
    record's words).
    """
    return _template().render(**conversation_context(record, language=language, guidance=guidance))


def conversation_context(record: Mapping[str, Any], *, language: str | None = None,
                         guidance: Mapping[str, GuidanceEntry] | None = None) -> dict[str, Any]:
    """What ``conversation.html.j2`` shows of one record (see ``render_conversation_html``); a page that
    extends the template (the service's) renders it with this context and its own additions."""
    lang = language or record.get("feedback_language") or record.get("language") or "en"
    page = load_page_texts(lang)
    texts = load_texts(lang)
    same_language = lang == record.get("feedback_language")
    entries = guidance if guidance is not None else _package_guidance()
    turns = [t for t in record.get("turns", ()) if isinstance(t, Mapping)]
    text_of = {int(t.get("index", i)): str(t.get("text", "")) for i, t in enumerate(turns)}
    p = page.page

    findings = [_finding(f, k, texts, page, same_language, entries, text_of)
                for k, f in enumerate(record.get("findings") or (), start=1)]
    strengths = [f for f in findings if f.kind == "strength"]
    issues = [f for f in findings if f.kind != "strength"]
    mentions: dict[int, list[Link]] = {}
    for f in findings:
        for index in f.indices:
            mentions.setdefault(index, []).append(Link(f.anchor, f.title, f.kind))

    score: ScoreWords | None = None
    if "score_breakdown" in record:
        titles = {raw.get("code"): view.title for raw, view in zip(record.get("findings") or (), findings)}
        score = describe_score(record["score_breakdown"], texts, titles)
    summary = str(record.get("summary", "")) if same_language else _summary(record, texts, issues, strengths)

    conv_id = str(record.get("id", ""))
    context = {
        "lang": lang, "t": p, "css": Markup(_css()), "id": conv_id,
        "page_title": p["page_title"].format(id=conv_id),
        "meta": _meta(record, page),
        "summary": summary, "score": score,
        "base_shown": texts.number(score.base) if score else "", "bonus_shown": texts.signed(score.bonus) if score else "",
        "attitude_names": texts.attitudes,
        "score_value": record.get("score"),
        "score_aria": p["score_aria"].format(value=record.get("score")),
        "coached": "findings" in record,
        "labels": texts.labels,
        "strengths": strengths, "issues": issues, "no_strengths": texts.summary["no_strengths"],
        "course": _course(record.get("attitude_trajectory"), texts, page),
        "turns": [_turn(t, i, lang, texts, page, mentions) for i, t in enumerate(turns)],
        "has_evidence": any(t.get("evidence") for t in turns),
        "has_uncertain": any(t.get("uncertain") for t in turns),
        "has_attitudes": any(t.get("attitude") for t in turns),
        "footer": _footer(record, page),
    }
    return context


# ---------------------------------------------------------------- pieces of the page


def evidence_pieces(text: str, evidence: Sequence[Mapping[str, Any]] | None,
                    name: Callable[[str], str] = str) -> tuple[Piece, ...]:
    """``text`` cut at the evidence offsets; each piece knows the labels whose evidence covers it.

    Overlapping evidence (a word behind two labels) gives one piece with both labels. Evidence
    with a negative weight (a word that speaks against its label) is not highlighted, nor are
    offsets outside the text.
    """
    spans = []
    for e in evidence or ():
        try:
            start, end, label = int(e["start"]), int(e["end"]), str(e["label"])
            weight = e.get("weight")
            if weight is not None and float(weight) <= 0:
                continue
        except (KeyError, TypeError, ValueError):
            continue
        start, end = max(0, start), min(len(text), end)
        if start < end:
            spans.append((start, end, label))
    if not spans:
        return (Piece(text),) if text else ()
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    merged: list[tuple[str, tuple[str, ...]]] = []
    for a, b in zip(cuts, cuts[1:]):
        labels = tuple(sorted({l for s, e, l in spans if s <= a and b <= e}, key=lambda l: (_LABEL_ORDER.get(l, 99), l)))
        if merged and merged[-1][1] == labels:
            merged[-1] = (merged[-1][0] + text[a:b], labels)
        else:
            merged.append((text[a:b], labels))
    pieces = []
    for i, (chunk, labels) in enumerate(merged):
        # The label is written once after a run of highlighted words ("ikke godt nok"), not after each word.
        nxt = merged[i + 1:i + 3]
        continues = len(nxt) == 2 and not nxt[0][1] and not nxt[0][0].strip() and nxt[1][1] == labels
        pieces.append(Piece(chunk, labels, ", ".join(name(l) for l in labels), bool(labels) and not continues))
    return tuple(pieces)


def _label_name(texts: Texts) -> Callable[[str], str]:
    return lambda label: texts.attitudes[label] if label in ATTITUDES else texts.behaviour(label)


def _turn(t: Mapping[str, Any], position: int, lang: str, texts: Texts, page: PageTexts,
          mentions: Mapping[int, list[Link]]) -> TurnView:
    p = page.page
    index = int(t.get("index", position))
    role = str(t.get("speaker", "system"))
    role_name = p.get(role, p["system"]) if role in ("customer", "agent", "system") else p["system"]
    label = str(t.get("speaker_label") or "")
    attitude = t.get("attitude") if role == "customer" else None
    behaviours = [texts.behaviour(b) for b in t.get("behaviours") or ()] if role == "agent" else []
    turn_lang = t.get("language")
    return TurnView(
        number=index + 1, anchor=f"turn-{index + 1}", role=role, role_name=role_name,
        # The export's label when it says more than the role ("Agent Siri"), not "Kunde" beside "Kunde".
        speaker=label if label and label.casefold() not in role_name.casefold()
        and role_name.casefold() not in label.casefold() else "",
        time=_turn_time(t), lang=turn_lang if turn_lang and turn_lang != lang else None,
        pieces=evidence_pieces(str(t.get("text", "")), t.get("evidence"), _label_name(texts)),
        attitude=attitude if attitude in ATTITUDES else None,
        attitude_tag=p["attitude_tag"].format(attitude=texts.attitude(attitude)) if attitude else "",
        behaviours_tag=p["behaviours_tag"].format(behaviours=", ".join(behaviours)) if behaviours else "",
        uncertain=bool(t.get("uncertain")) and role != "system",
        mentions=tuple(mentions.get(index, ())),
        rules=tuple(p[f"rule_{r}"] for r in t.get("label_rules") or () if f"rule_{r}" in p))


def _finding(f: Mapping[str, Any], k: int, texts: Texts, page: PageTexts, same_language: bool,
             entries: Mapping[str, GuidanceEntry], text_of: Mapping[int, str]) -> FindingView:
    p = page.page
    code = str(f.get("code", ""))
    turns = [int(i) for i in f.get("turns") or ()]
    g = f.get("guidance") or {}
    entry = entries.get(str(g.get("id", "")))
    title, message, suggestion = str(f.get("title", "")), str(f.get("message", "")), str(f.get("suggestion", ""))
    why_title, why_text = str(g.get("title", "")), str(g.get("text", ""))
    if not same_language:
        # Written again from the codes: the record's words are in another language.
        words = texts.findings.get(code)
        if words is not None:
            words = words.variant(str(f.get("variant") or ""))
            first = turns[0] if turns else None
            title, suggestion = words.title, words.suggestion
            message = finding_message(words.message, first, text_of.get(first, "") if first is not None else "")
        if entry is not None:
            why_title, why_text = entry.in_language(texts.language)
    section = str(g.get("section_title") or "") if same_language else ""
    if not section:
        # Records written before sections had titles carry the seed's own heading only, which may be
        # in another language or, for one seed, call the customer "this enemy": the entry's title is shown.
        section = entry.section_in(texts.language) if entry is not None else str(g.get("section", ""))
    source = str(g.get("source", ""))
    citation = texts.labels["citation"].format(section=section, document=seed_title(source, texts.language))
    severity = str(f.get("severity", ""))
    return FindingView(
        anchor=f"finding-{k}", kind=str(f.get("kind", "issue")), title=title, indices=tuple(turns),
        turns=tuple(Link(f"turn-{i + 1}", p["turn_n"].format(n=i + 1)) for i in turns),
        severity=p["severity"].format(level=texts.severity.get(severity, severity)),
        confidence=p["confidence"].format(value=texts.percent(float(f.get("confidence", 0)))),
        message=message, why_title=why_title, why_text=why_text, citation=citation, source_file=source,
        suggestion=suggestion)


def _summary(record: Mapping[str, Any], texts: Texts, issues: Sequence[FindingView],
             strengths: Sequence[FindingView]) -> str:
    course = record.get("attitude_trajectory") or {}
    complaint = any(t.get("speaker") == "customer" and t.get("attitude") in COMPLAINT_ATTITUDES
                    for t in record.get("turns", ()))
    return summary_text(texts, start=course.get("start"), end=course.get("end"), course=course.get("course", "none"),
                        complaint=complaint, n_strengths=len(strengths), n_issues=len(issues),
                        score=int(record.get("score", 0)), top_issue=issues[0].title if issues else None)


def _course(course: Mapping[str, Any] | None, texts: Texts, page: PageTexts) -> CourseView | None:
    if not course:
        return None
    p = page.page
    if course.get("start") is None:
        return CourseView("", "", "", "", "", (), (p["no_course"],))
    def n(index: Any) -> int:
        return int(index) + 1  # people read turn numbers from 1

    points = tuple(Link(f"turn-{n(pt['turn'])}", p["turn_n"].format(n=n(pt["turn"])), str(pt["attitude"]))
                   for pt in course.get("turns", ()))
    sentences = []
    for s in course.get("shifts", ()):
        sentences.append(p["shift"].format(before=texts.attitude(s["from"]), after=texts.attitude(s["to"]),
                                           from_n=n(s["from_turn"]), to_n=n(s["to_turn"])))
        moves = [texts.behaviour(m) for m in s.get("agent_moves", ())]
        if moves:
            sentences[-1] += " " + p["shift_moves"].format(moves=", ".join(moves))
    unlanded = course.get("unlanded_apologies") or ()
    if unlanded:
        sentences.append(p["unlanded"].format(turns=", ".join(str(n(i)) for i in unlanded),
                                              hostile=texts.attitude("hostile")))
    return CourseView(texts.attitude(course["start"]), texts.attitude(course.get("end")), str(course["start"]),
                      str(course.get("end")), texts.trajectory.get(course.get("course", ""), ""), points,
                      tuple(sentences))


def _meta(record: Mapping[str, Any], page: PageTexts) -> list[MetaItem]:
    m = page.meta
    out = []
    if record.get("agent_id"):
        out.append(MetaItem(m["agent"], str(record["agent_id"])))
    if record.get("team"):
        out.append(MetaItem(m["team"], str(record["team"])))
    if record.get("queue"):
        out.append(MetaItem(m["queue"], str(record["queue"])))
    if record.get("channel"):
        out.append(MetaItem(m["channel"], page.channels.get(record["channel"], str(record["channel"]))))
    if record.get("started_at"):
        out.append(MetaItem(m["time"], _when(str(record["started_at"])), str(record["started_at"])))
    if record.get("language"):
        out.append(MetaItem(m["language"], page.languages.get(record["language"], str(record["language"]))))
    return out


def _footer(record: Mapping[str, Any], page: PageTexts) -> list[str]:
    p = page.page
    out = [p["made_by"].format(version=__version__)]
    if record.get("model"):
        out.append(p["model"].format(model=record["model"]))
    if record.get("source"):
        out.append(p["input"].format(source=record["source"]))
    for t in record.get("turns", ()):
        parts = t.get("parts") if isinstance(t, Mapping) else None
        if isinstance(parts, int) and parts > 1:
            markers = ", ".join(f"{k}/{parts}" for k in range(1, parts + 1))
            out.append(p["merged"].format(turn=int(t.get("index", 0)) + 1, parts=parts, markers=markers))
    return out


def _when(value: str) -> str:
    """An ISO time as people read it: 2026-11-03 14:20 UTC; anything else as it came."""
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    offset = dt.utcoffset()
    zone = "" if offset is None else " UTC" if not offset else dt.strftime(" UTC%z")[:-2] + ":" + dt.strftime("%z")[-2:]
    return dt.strftime("%Y-%m-%d %H:%M") + zone


def _turn_time(t: Mapping[str, Any]) -> str:
    """Minutes into a call (1:05), or the clock time of a chat message (09:14)."""
    start = t.get("start")
    if isinstance(start, (int, float)):
        total = int(start)
        h, rest = divmod(total, 3600)
        return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"
    stamp = t.get("timestamp")
    if not stamp:
        return ""
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).strftime("%H:%M")
    except ValueError:
        return str(stamp)


@lru_cache(maxsize=1)
def _package_guidance() -> Mapping[str, GuidanceEntry]:
    return load_guidance()


@lru_cache(maxsize=1)
def _css() -> str:
    return (HERE / "style.css").read_text(encoding="utf-8")


def report_css() -> Markup:
    """The report's style sheet, for a page that extends the report's template."""
    return Markup(_css())


def template_environment(*first: Path) -> Environment:
    """The report's Jinja settings; templates in the folders ``first`` are found before the report's own, so a
    page there can extend ``conversation.html.j2``."""
    return Environment(loader=FileSystemLoader([*first, HERE / "templates"]), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


@lru_cache(maxsize=1)
def _template() -> Template:
    return template_environment().get_template("conversation.html.j2")
