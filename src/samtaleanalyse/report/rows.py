"""One small typed row per scored conversation: what the dashboard aggregates.

Both the batch (from ``conversations.jsonl`` records) and the results store (from SQL rows) build
these, so the dashboard never reads a whole record with its turns.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Mapping

from ..coaching.view import from_labels


@dataclass(frozen=True)
class ConversationRow:
    id: str
    report: str | None                 # relative link to its own report (feedback/<name>.html), when written
    agent_id: str | None
    team: str | None
    queue: str | None
    channel: str | None
    language: str | None
    started_at: str | None             # ISO date/time when the export had one
    scored_at: str                     # when this result was computed (ISO): the trend's date when started_at is missing
    score: int | None                  # None: not coached (read without a model)
    complaint: bool                    # a hostile or sceptical customer turn
    hostile_start: bool                # one of the first two customer turns hostile
    de_escalated: bool                 # finding de_escalated present
    handled_in_order: bool             # finding complaint_steps_in_order present
    ends_loyal: bool                   # the last customer turn is loyal
    uncertain_turns: int               # turns the model was unsure of
    issues: tuple[str, ...] = ()       # finding codes of kind issue
    severe_issues: tuple[str, ...] = ()  # issue codes with severity "high"
    strengths: tuple[str, ...] = ()    # finding codes of kind strength

    @property
    def day(self) -> date | None:
        """The day this conversation counts for in a trend: its start, else when it was scored."""
        return parse_day(self.started_at) or parse_day(self.scored_at)


def parse_day(value: str | None) -> date | None:
    """The date of an ISO date or date-time ("2026-11-03", "2026-11-03T14:20:00Z", "2026-11-03 14:20"); None otherwise."""
    if not value or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _started_at(record: Mapping[str, Any]) -> str | None:
    # Many exports only date their turns (a CSV's timestamp column): the first dated turn starts the conversation.
    candidates = [record.get("started_at")] + [t.get("timestamp") for t in record.get("turns", ())]
    return next((str(c) for c in candidates if c is not None and parse_day(str(c)) is not None), None)


def row_from_record(record: Mapping[str, Any], *, report: str | None = None,
                    scored_at: str | None = None) -> ConversationRow:
    """The dashboard's row for one line of ``conversations.jsonl`` (a scored conversation's record).

    ``scored_at`` defaults to the record's own ``scored_at``, else now (UTC).
    """
    cid = str(record["id"])
    view = from_labels(cid, str(record.get("language") or "en"), record.get("turns", ()))
    customer = view.customer
    findings = record.get("findings") or ()
    issues = tuple(f["code"] for f in findings if f.get("kind") == "issue")
    trajectory = record.get("attitude_trajectory") or {}
    end = trajectory.get("end", customer[-1].attitude if customer else None)
    return ConversationRow(
        id=cid, report=report,
        agent_id=_text(record.get("agent_id")), team=_text(record.get("team")), queue=_text(record.get("queue")),
        channel=_text(record.get("channel")), language=_text(record.get("language")),
        started_at=_started_at(record),
        scored_at=scored_at or _text(record.get("scored_at")) or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        score=int(record["score"]) if record.get("score") is not None else None,
        complaint=bool(view.complaint_turns()),
        hostile_start=any(t.attitude == "hostile" for t in customer[:2]),
        de_escalated=any(f["code"] == "de_escalated" for f in findings),
        handled_in_order=any(f["code"] == "complaint_steps_in_order" for f in findings),
        ends_loyal=end == "loyal",
        uncertain_turns=sum(1 for t in record.get("turns", ()) if t.get("uncertain")),
        issues=issues,
        severe_issues=tuple(f["code"] for f in findings if f.get("kind") == "issue" and f.get("severity") == "high"),
        strengths=tuple(f["code"] for f in findings if f.get("kind") == "strength"),
    )
