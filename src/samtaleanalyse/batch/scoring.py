"""Scoring chunks of conversations into output records, where one bad conversation costs only itself.

A ``Scorer`` holds what is loaded once (model, rules, guidance, wording) and turns a chunk of conversations
into finished output: the JSON line of each and its readable feedback. It runs in the batch's own process or
in each worker of a pool (built there from a ``ScorerSpec``, so the model is loaded once per worker). A
failure inside the pipeline on one conversation (a bug, a model that yields NaN) becomes an internal-error
record naming that conversation; its neighbours in the chunk are scored as usual.
"""
from __future__ import annotations

import hashlib
import json
import traceback
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from .._version import __version__
from ..analysis import AnalysedConversation
from ..classify.evidence import EvidenceFinder, occlusion_evidence
from ..classify.features import reading_version
from ..classify.predict import TurnClassifier, TurnPrediction
from ..coaching import Coach, from_analysis, load_config
from ..coaching.render import render_markdown
from ..conversation import Conversation
from ..errors import E_INTERNAL, InputError
from ..guidance import load_guidance
from ..redact import REDACTION_VERSION
from ..report.conversation import render_conversation_html
from ..text.language import identify
from ..text.normalise import NORMALISATION_VERSION
from .outputs import FEEDBACK_DIR, report_stem
from .redaction import record_names, redact_document, redact_record


@dataclass(frozen=True)
class ScorerSpec:
    """Everything a worker needs to build its own ``Scorer`` (plain, picklable values)."""

    model: str | None = None          # a model folder; None = the default model
    no_model: bool = False
    rules: tuple[str, ...] = ()
    guidance: tuple[str, ...] = ()
    feedback_language: str | None = None
    redact: bool = True               # personal data out of everything written (--no-redact: raw)
    explain: bool = False             # the model's own word attributions on finding turns (slow)
    num_threads: int | None = None
    cascade: bool = False             # the model's first stage decides the turns it is sure of (classify/cascade.py)


@dataclass(frozen=True)
class Scored:
    """One conversation's finished output."""

    conversation_id: str
    line: str                         # its JSON line for conversations.jsonl
    markdown: str | None = None       # feedback/<stem>.md
    html: str | None = None           # feedback/<stem>.html
    stem: str = ""


@dataclass
class Scorer:
    classifier: TurnClassifier | None
    coach: Coach | None
    redact: bool = True
    explain: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    evidence: EvidenceFinder = field(default_factory=EvidenceFinder)

    @classmethod
    def from_spec(cls, spec: ScorerSpec) -> "Scorer":
        from ..classify.loading import load_classifier

        classifier = None if spec.no_model else load_classifier(spec.model, num_threads=spec.num_threads,
                                                                         cascade=spec.cascade)
        coach = Coach(load_config(*spec.rules), load_guidance(*spec.guidance), spec.feedback_language)
        return cls(classifier, coach, redact=spec.redact, explain=spec.explain)

    def __post_init__(self) -> None:
        if not self.settings:
            self.settings = {**describe(self.classifier, self.coach), "redact": self.redact, "explain": self.explain}
            if self.redact:  # stored texts redacted by other rules would show other data
                self.settings["redaction"] = REDACTION_VERSION

    def score(self, chunk: Sequence[tuple[Conversation, str]]) -> list[Scored | InputError]:
        """Score ``(conversation, content_hash)`` pairs, in order; failures as E900 errors in their place."""
        identified: list[Conversation | InputError] = [self._guard(c, identify, c) for c, _ in chunk]
        ready = [c for c in identified if isinstance(c, Conversation)]
        predictions = self._predict(ready)
        out: list[Scored | InputError] = []
        for (conv, digest), item in zip(chunk, identified):
            if isinstance(item, InputError):
                out.append(item)
                continue
            preds = predictions.pop(0)
            if isinstance(preds, InputError):
                out.append(preds)
                continue
            out.append(self._guard(conv, self._finish, item, preds, digest))
        return out

    def _predict(self, convs: list[Conversation]) -> list[list[TurnPrediction] | InputError]:
        if self.classifier is None:
            return [[] for _ in convs]
        try:
            return list(self.classifier.predict(convs))
        except Exception:  # noqa: BLE001 - find the one conversation that fails, score the rest
            return [self._guard(c, lambda one: self.classifier.predict([one])[0], c) for c in convs]  # type: ignore[union-attr]

    def _finish(self, conv: Conversation, preds: list[TurnPrediction], digest: str) -> Scored:
        analysed = AnalysedConversation(conversation=conv, predictions=tuple(preds))
        if self.coach is not None and self.classifier is not None:
            analysed = AnalysedConversation(conv, tuple(preds), self.coach(from_analysis(analysed)))
        record = analysed.to_dict()
        stem = report_stem(conv.id)
        record["content_hash"] = digest
        record["scored_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._add_evidence(record, analysed)
        names = record_names(record) if self.redact else frozenset()
        markdown = html = None
        if analysed.coaching is not None:
            record["feedback"] = {"html": f"{FEEDBACK_DIR}/{stem}.html", "markdown": f"{FEEDBACK_DIR}/{stem}.md"}
            markdown = render_markdown(conv.id, analysed.coaching)
            if self.redact:
                markdown = redact_document(markdown, record, names)
        if self.redact:
            redact_record(record, names)
        if analysed.coaching is not None:
            html = render_conversation_html(record, guidance=self.coach.guidance if self.coach else None)
        # NaN or an infinity from a broken model must never reach the outputs as invalid JSON.
        line = json.dumps(record, ensure_ascii=False, allow_nan=False)
        return Scored(conv.id, line, markdown, html, stem)

    def _add_evidence(self, record: dict[str, Any], analysed: AnalysedConversation) -> None:
        """Highlights for the report: cue words on every labelled turn, the model's attribution on the turns
        findings point at when ``explain`` is on."""
        # the cue words are looked for in the text as the model read it (its text normalisation)
        spans = self.evidence.for_conversation(analysed.conversation, analysed.predictions,
                                               reading_version(self.classifier))
        if self.explain and self.classifier is not None and analysed.coaching is not None:
            turns = sorted({i for f in analysed.coaching.findings for i in f.turns})
            spans.update(occlusion_evidence(self.classifier, analysed.conversation, turns))
        for turn in record.get("turns", []):
            if turn["index"] in spans:
                turn["evidence"] = spans[turn["index"]]

    @staticmethod
    def _guard(conv: Conversation, fn, *args):  # type: ignore[no-untyped-def]
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - one conversation's failure must not end the batch
            return internal_error(conv, exc)


def internal_error(conv: Conversation, exc: BaseException) -> InputError:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" in {Path(where.filename).name}:{where.lineno}" if where else ""
    file, _, line = (conv.source or "?").rpartition(":")
    return InputError(f"internal error while scoring conversation {conv.id[:80]!r}: {type(exc).__name__}{place}.",
                      file=file if line.isdigit() else (conv.source or "?"), line=int(line) if line.isdigit() else None,
                      record=conv.id[:80], code=E_INTERNAL,
                      hint="this is a bug in samtaleanalyse or its model, not in the input: please report it.")


def describe(classifier: TurnClassifier | None, coach: Coach | None) -> dict[str, Any]:
    """What decides a result besides the conversation: model, rules, guidance, wording, version."""
    out: dict[str, Any] = {"samtaleanalyse": __version__}
    # What the model reads of each turn, and which turns ingest merges (split messages): results of another
    # normalisation are not mixed with these (a merge changes content hashes: E320 otherwise).
    # The model's own version: a model fitted on an older normalisation reads its turns as then.
    out["text_normalisation"] = (NORMALISATION_VERSION if classifier is None
                                 else str(reading_version(classifier)) if getattr(classifier, "normalise", False)
                                 else "off")
    if classifier is not None:
        meta = classifier.model.metadata
        out["model"] = classifier.model.name
        out["encoder"] = getattr(classifier.encoder, "version", None)
        out["model_sha256"] = _digest(json.dumps(meta, sort_keys=True, default=str))
        if getattr(classifier, "cascade", None) is not None:
            out["first_stage"] = classifier.cascade.model.name  # type: ignore[union-attr]
    if coach is not None:
        rules = {code: asdict(rule) for code, rule in sorted(coach.config.rules.items())}
        score = {"base": coach.config.base_score, "cap": coach.config.strength_bonus_cap,
                 "recovery": coach.config.strength_recovery}
        guidance = {gid: [e.source, e.section, dict(e.title), dict(e.text)] for gid, e in sorted(coach.guidance.items())}
        out["rules_hash"] = _digest(json.dumps([rules, score, guidance], sort_keys=True, default=str))[:16]
        out["feedback_language"] = coach.feedback_language
    return out


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
