"""The shapes of requests and responses, for the OpenAPI document (and for tests that check answers by them).

Bodies are not parsed through these models: the service reads them as the batch reads files, so that a
problem gets the batch's reason and code (``errors.jsonl``), and so that platform exports are accepted too.
The models describe the canonical format and the results; extra fields are allowed where the formats allow
them (metadata of the export, fields added later).
"""
from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from ..labels import ATTITUDES, BEHAVIOURS

Language = Literal["nb", "nn", "da", "sv", "en"]
Channel = Literal["chat", "call", "email"]
Role = Literal["customer", "agent", "system"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class TurnIn(_Open):
    """One turn as an export has it."""

    speaker: str = Field(description="The role or the export's label: kunde, kund, customer, agent, rådgiver, "
                                     "Agent Kari, system... (unknown labels are error E305).", examples=["kunde"])
    text: str = Field(description="What was said or written.", examples=["Sofaen kom med en flekk."])
    start: Optional[float] = Field(None, description="Seconds from the start of a call.")
    end: Optional[float] = None
    timestamp: Optional[str] = Field(None, description="When a chat message was sent (ISO 8601).")
    language: Optional[Language] = None


class ConversationIn(_Open):
    """One conversation in the canonical JSON format (platform exports and speech-to-text JSON are read too)."""

    model_config = ConfigDict(extra="allow", title="Conversation",
                              json_schema_extra={"examples": [{"id": "klage-1", "turns": [
                                  {"speaker": "kunde", "text": "Sofaen kom med en flekk, og jeg har ventet i tre uker!"},
                                  {"speaker": "agent", "text": "Du får et gavekort på 500 kroner."}]}]})
    id: Optional[Union[str, int]] = Field(None, description="The conversation's id (default 'conversation').")
    turns: list[TurnIn]
    language: Optional[Language] = Field(None, description="Detected when not given.")
    channel: Optional[Channel] = None
    agent_id: Optional[str] = None
    team: Optional[str] = None
    queue: Optional[str] = None
    started_at: Optional[str] = None


class BatchIn(BaseModel):
    model_config = ConfigDict(title="Batch")
    conversations: list[ConversationIn] = Field(min_length=1, description="At most the configured number (100 by "
                                                                        "default); one that cannot be read gets its "
                                                                        "own error entry in the answer.")


class Evidence(_Open):
    """Characters of a turn's text that carry one of its labels (offsets into ``text``)."""

    label: str
    start: int
    end: int
    weight: float
    source: Literal["cue", "occlusion"] = Field(description="cue: the model's cue words; occlusion: the model's "
                                                            "own attribution (explain=true).")


class TurnOut(_Open):
    index: int = Field(description="0-based; people read index + 1.")
    speaker: Role
    speaker_label: str
    text: str = Field(description="Redacted unless redact=false.")
    language: Optional[Language] = None
    start: Optional[float] = None
    end: Optional[float] = None
    timestamp: Optional[str] = None
    attitude: Optional[Literal[ATTITUDES]] = None  # type: ignore[valid-type]
    attitude_scores: Optional[dict[str, float]] = None
    behaviours: Optional[list[Literal[BEHAVIOURS]]] = None  # type: ignore[valid-type]
    behaviour_scores: Optional[dict[str, float]] = None
    uncertain: Optional[bool] = Field(None, description="The model is unsure: route the turn to a person.")
    label_rules: Optional[list[str]] = Field(None, description="Annotation-guideline rules that changed the "
                                             "model's labels of this turn (e.g. d8_sympathy: \"sorry to hear\" is "
                                             "empathy, not an apology).")
    evidence: Optional[list[Evidence]] = None


class GuidanceRef(_Open):
    id: str
    source: str = Field(description="The guidance document (seed file) cited.")
    section: str
    title: str
    text: str
    section_title: Optional[str] = None
    document: Optional[str] = None


class FindingOut(_Open):
    code: str = Field(examples=["compensation_too_early"])
    kind: Literal["issue", "strength"]
    severity: Literal["high", "medium", "low"]
    confidence: float
    turns: list[int] = Field(description="0-based turn indices.")
    title: str
    message: str
    suggestion: str
    guidance: GuidanceRef
    variant: Optional[str] = Field(default=None, description="Which case of the finding the evidence shows, where "
                                   "the advice differs (blame_shifting: `customer` when the fault was put on the "
                                   "customer); null for the finding's plain case.", examples=[None, "customer"])


class ScoreItem(_Open):
    code: str
    kind: Literal["issue", "strength"]
    points: float


class ScoreBreakdown(_Open):
    value: int
    base: float
    breakdown: list[ScoreItem]
    strength_bonus: float
    strength_bonus_cap: float
    strength_recovery: float
    formula: str


class AttitudePoint(_Open):
    turn: int
    attitude: str


class Shift(_Open):
    from_turn: int
    to_turn: int
    from_: str = Field(alias="from")
    to: str
    direction: str
    agent_turns: list[int]
    agent_moves: list[str]


class Trajectory(_Open):
    start: Optional[str] = None
    end: Optional[str] = None
    course: Literal["improved", "worsened", "unchanged", "none"]
    turns: list[AttitudePoint]
    shifts: list[Shift]
    unlanded_apologies: list[int]


class AnalysisOut(_Open):
    """The same object as a line of ``conversations.jsonl`` (without the paths of feedback files)."""

    model_config = ConfigDict(extra="allow", title="Analysis")
    id: str
    language: Optional[Language] = None
    channel: Optional[Channel] = None
    source: Optional[str] = None
    warnings: Optional[list[str]] = None
    turns: list[TurnOut]
    model: Optional[str] = None
    feedback_language: Optional[Language] = None
    findings: Optional[list[FindingOut]] = None
    attitude_trajectory: Optional[Trajectory] = None
    score: Optional[int] = Field(None, ge=0, le=100)
    score_breakdown: Optional[ScoreBreakdown] = None
    summary: Optional[str] = None
    content_hash: str
    scored_at: str
    redacted: Optional[bool] = None


class ErrorItem(BaseModel):
    """One problem, as a line of ``errors.jsonl`` has it."""

    file: str = Field(description="'request body' (or the uploaded file's name).")
    line: Optional[int] = None
    record: Optional[Union[str, int]] = Field(None, description="The item of a list (0-based), or an id.")
    code: str = Field(description="E3xx input, E100 option, E900 internal (see the README).", examples=["E303"])
    reason: str
    hint: Optional[str] = None


class ErrorOut(BaseModel):
    model_config = ConfigDict(title="Error")
    detail: str
    errors: list[ErrorItem] = []
    request_id: str


class BatchEntry(BaseModel):
    index: int = Field(description="The conversation's position in the request (0-based).")
    status: int = Field(description="200, or the status this conversation alone would have had (413, 422).")
    result: Optional[AnalysisOut] = None
    error: Optional[ErrorItem] = None


class BatchOut(BaseModel):
    model_config = ConfigDict(title="BatchResult")
    results: list[BatchEntry]
    scored: int
    failed: int


class Health(BaseModel):
    status: Literal["ok"]
    model_loaded: bool
    model: Optional[str] = None
    version: str


class TaskMetrics(BaseModel):
    macro_f1: Optional[float] = None
    n: Optional[int] = None
    per_language: dict[str, float]


class EncoderInfo(BaseModel):
    kind: Optional[str] = None
    name: Optional[str] = None
    dim: Optional[int] = None
    version: Optional[str] = None


class ModelInfo(BaseModel):
    name: str
    version: str
    id: str
    labels: dict[str, list[str]]
    roles: dict[str, Optional[str]]
    test_metrics: dict[str, TaskMetrics] = Field(description="Macro-F1 on the corpus test split, overall and per "
                                                             "language.")
    encoder: EncoderInfo
    samtaleanalyse: str


class ModelsOut(BaseModel):
    models: list[ModelInfo]
