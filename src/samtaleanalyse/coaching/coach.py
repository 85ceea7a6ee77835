"""The coaching stage: labelled turns in, findings, attitude trajectory, score and summary out."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..guidance.loader import GuidanceEntry, load_guidance
from .config import CoachingConfig, load_config
from .feedback import Finding, guidance_entry, make_findings, summarise
from .rules import detect
from .score import QualityScore, quality_score
from .texts import load_texts
from .trajectory import AttitudeTrajectory, attitude_trajectory
from .view import ConversationView


@dataclass(frozen=True)
class Coaching:
    language: str                     # the language the feedback is written in
    findings: tuple[Finding, ...]
    trajectory: AttitudeTrajectory
    score: QualityScore
    summary: str

    @property
    def strengths(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind == "strength")

    @property
    def issues(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind == "issue")

    def to_dict(self) -> dict[str, Any]:
        return {"feedback_language": self.language, "findings": [f.to_dict() for f in self.findings],
                "attitude_trajectory": self.trajectory.to_dict(), "score": self.score.value,
                "score_breakdown": self.score.to_dict(), "summary": self.summary}


class Coach:
    """Holds the rules, guidance and wording once; ``__call__`` coaches one conversation view."""

    def __init__(self, config: CoachingConfig | None = None, guidance: Mapping[str, GuidanceEntry] | None = None,
                 feedback_language: str | None = None) -> None:
        self.config = config or load_config()
        self.guidance = guidance if guidance is not None else load_guidance()
        self.feedback_language = feedback_language
        # A rule pointing to guidance that does not exist fails here, not in the middle of a batch.
        for rule in self.config.rules.values():
            if rule.enabled:
                for variant in (None, *rule.variant_guidance):
                    guidance_entry(rule, variant, self.guidance, self.config.origin)

    def __call__(self, view: ConversationView) -> Coaching:
        language = self.feedback_language or view.language or "en"
        texts = load_texts(language)
        detections = detect(view, self.config.enabled)
        findings = make_findings(view, detections, self.config, self.guidance, texts)
        kept = {f.code for f in findings}
        score = quality_score([d for d in detections if d.code in kept], self.config)
        trajectory = attitude_trajectory(view)
        return Coaching(texts.language, tuple(findings), trajectory, score,
                        summarise(view, findings, trajectory, score, texts))
