"""The three tables of results, one row per conversation, turn and finding, with typed columns.

The same rows feed the Parquet files of an output folder (for BI tools, pandas, polars) and the results
store (DuckDB). Every row names the model, the rules' hash and whether its text was redacted, so an old
result is never mistaken for a new one. ``SCHEMA_VERSION`` changes whenever a column does.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Mapping, Sequence

import pyarrow as pa

from ..labels import ATTITUDES, BEHAVIOURS
from ..report.rows import row_from_record

SCHEMA_VERSION = 1
TABLES = ("conversations", "turns", "findings")

_COMMON = [
    pa.field("result_key", pa.string(), nullable=False),
    pa.field("conversation_id", pa.string(), nullable=False),
    pa.field("model", pa.string()),
    pa.field("rules_hash", pa.string()),
    pa.field("redacted", pa.bool_()),
    pa.field("scored_at", pa.timestamp("ms", tz="UTC")),
]

CONVERSATIONS = pa.schema(_COMMON + [
    pa.field("content_hash", pa.string()),
    pa.field("source", pa.string()),
    pa.field("language", pa.string()),
    pa.field("channel", pa.string()),
    pa.field("agent_id", pa.string()),
    pa.field("team", pa.string()),
    pa.field("queue", pa.string()),
    pa.field("started_at", pa.string()),
    pa.field("day", pa.date32()),
    pa.field("score", pa.int32()),
    pa.field("complaint", pa.bool_()),
    pa.field("hostile_start", pa.bool_()),
    pa.field("de_escalated", pa.bool_()),
    pa.field("handled_in_order", pa.bool_()),
    pa.field("ends_loyal", pa.bool_()),
    pa.field("attitude_start", pa.string()),
    pa.field("attitude_end", pa.string()),
    pa.field("course", pa.string()),
    pa.field("n_turns", pa.int32()),
    pa.field("uncertain_turns", pa.int32()),
    pa.field("issues", pa.list_(pa.string())),
    pa.field("severe_issues", pa.list_(pa.string())),
    pa.field("strengths", pa.list_(pa.string())),
    pa.field("report", pa.string()),
    pa.field("samtaleanalyse_version", pa.string()),
])

TURNS = pa.schema(_COMMON + [
    pa.field("turn_index", pa.int32()),
    pa.field("role", pa.string()),
    pa.field("speaker_label", pa.string()),
    pa.field("text", pa.string()),
    pa.field("language", pa.string()),
    pa.field("timestamp", pa.string()),
    pa.field("start_seconds", pa.float64()),
    pa.field("end_seconds", pa.float64()),
    pa.field("attitude", pa.string()),
    *[pa.field(f"p_{a}", pa.float32()) for a in ATTITUDES],
    pa.field("behaviours", pa.list_(pa.string())),
    *[pa.field(f"p_{b}", pa.float32()) for b in BEHAVIOURS],
    pa.field("uncertain", pa.bool_()),
    pa.field("agent_id", pa.string()),
    pa.field("team", pa.string()),
])

FINDINGS = pa.schema(_COMMON + [
    pa.field("code", pa.string()),
    pa.field("kind", pa.string()),
    pa.field("severity", pa.string()),
    pa.field("confidence", pa.float32()),
    pa.field("turns", pa.list_(pa.int32())),
    pa.field("title", pa.string()),
    pa.field("guidance_id", pa.string()),
    pa.field("guidance_source", pa.string()),
    pa.field("agent_id", pa.string()),
    pa.field("team", pa.string()),
])

SCHEMAS: Mapping[str, pa.Schema] = {"conversations": CONVERSATIONS, "turns": TURNS, "findings": FINDINGS}


def result_key(record: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """One result: this conversation (id and content) scored with these settings."""
    blob = "\x1f".join(str(x) for x in (record.get("id"), record.get("content_hash"), settings.get("model"),
                                        settings.get("rules_hash"), settings.get("redact"),
                                        settings.get("feedback_language"), settings.get("samtaleanalyse")))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def rows_of(record: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The record's rows in each table."""
    key = result_key(record, settings)
    common = {"result_key": key, "conversation_id": str(record["id"]), "model": settings.get("model"),
              "rules_hash": settings.get("rules_hash"), "redacted": bool(record.get("redacted", False)),
              "scored_at": _time(record.get("scored_at"))}
    report = (record.get("feedback") or {}).get("html")
    row = row_from_record(record, report=report)
    trajectory = record.get("attitude_trajectory") or {}
    conversation = {
        **common, "content_hash": record.get("content_hash"), "source": record.get("source"),
        "language": record.get("language"), "channel": record.get("channel"), "agent_id": row.agent_id,
        "team": row.team, "queue": row.queue, "started_at": row.started_at, "day": row.day, "score": row.score,
        "complaint": row.complaint, "hostile_start": row.hostile_start, "de_escalated": row.de_escalated,
        "handled_in_order": row.handled_in_order, "ends_loyal": row.ends_loyal,
        "attitude_start": trajectory.get("start"), "attitude_end": trajectory.get("end"),
        "course": trajectory.get("course"), "n_turns": len(record.get("turns") or []),
        "uncertain_turns": row.uncertain_turns, "issues": list(row.issues), "severe_issues": list(row.severe_issues),
        "strengths": list(row.strengths), "report": report, "samtaleanalyse_version": settings.get("samtaleanalyse"),
    }
    who = {"agent_id": row.agent_id, "team": row.team}
    turns = []
    for t in record.get("turns") or []:
        a_scores = t.get("attitude_scores") or {}
        b_scores = t.get("behaviour_scores") or {}
        turns.append({
            **common, "turn_index": t.get("index"), "role": t.get("speaker"), "speaker_label": t.get("speaker_label"),
            "text": t.get("text"), "language": t.get("language"), "timestamp": t.get("timestamp"),
            "start_seconds": t.get("start"), "end_seconds": t.get("end"), "attitude": t.get("attitude"),
            **{f"p_{a}": a_scores.get(a) for a in ATTITUDES}, "behaviours": t.get("behaviours"),
            **{f"p_{b}": b_scores.get(b) for b in BEHAVIOURS}, "uncertain": t.get("uncertain"), **who})
    findings = [{
        **common, "code": f.get("code"), "kind": f.get("kind"), "severity": f.get("severity"),
        "confidence": f.get("confidence"), "turns": f.get("turns"), "title": f.get("title"),
        "guidance_id": (f.get("guidance") or {}).get("id"), "guidance_source": (f.get("guidance") or {}).get("source"),
        **who} for f in record.get("findings") or []]
    return {"conversations": [conversation], "turns": turns, "findings": findings}


def table_batch(records: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> dict[str, pa.Table]:
    """Some records' rows as one Arrow table per table name."""
    pending: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for record in records:
        for name, rows in rows_of(record, settings).items():
            pending[name].extend(rows)
    return {name: pa.Table.from_pylist(rows, schema=SCHEMAS[name]) for name, rows in pending.items()}
