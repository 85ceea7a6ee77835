"""Personal data out of everything a batch writes for people, on by default.

The classifiers read the conversation as it was written; what is written afterwards (the JSON line,
the Markdown and HTML feedback, the tables, the store) carries the redacted text unless the run was asked
for raw text (``--no-redact``, for the data team's own raw store). Names found anywhere in the conversation
(greetings, sign-offs, speaker labels) are redacted everywhere in it, quotes in findings included, and the
highlight offsets are moved to the redacted text.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..redact import names_in_conversation, redact_text

# Fields QA numbers are grouped by: identifiers of the agent and the organisation, not of the customer.
KEPT_META = frozenset({"id", "language", "channel", "source", "agent_id", "team", "queue", "started_at", "model",
                       "feedback_language", "content_hash", "scored_at", "score", "score_breakdown",
                       "attitude_trajectory", "warnings", "feedback", "platform", "platform_id", "platform_channel"})


def record_names(record: Mapping[str, Any]) -> frozenset[str]:
    """The people's names a conversation gives (read before anything in it is redacted)."""
    return names_in_conversation([(str(t.get("speaker_label", "")), str(t.get("speaker", "")), str(t.get("text", "")))
                                  for t in record.get("turns") or []])


def _language(record: Mapping[str, Any]) -> str:
    return str(record.get("feedback_language") or record.get("language") or "en")


def redact_record(record: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """``record`` (one line of conversations.jsonl) with personal data replaced by placeholders, in place."""
    language = _language(record)
    turns = record.get("turns") or []

    def clean(text: str) -> str:
        return redact_text(text, language=language, names=names).text

    for turn in turns:
        done = redact_text(turn.get("text", ""), language=language, names=names)
        turn["text"] = done.text
        if turn.get("evidence"):
            turn["evidence"] = _moved(turn["evidence"], done)
        if turn.get("speaker_label"):
            turn["speaker_label"] = clean(turn["speaker_label"])
    for finding in record.get("findings") or []:
        for key in ("message", "suggestion"):
            if isinstance(finding.get(key), str):
                finding[key] = clean(finding[key])
    if isinstance(record.get("summary"), str):
        record["summary"] = clean(record["summary"])
    for key, value in list(record.items()):
        if key not in KEPT_META and key not in ("turns", "findings", "summary") and isinstance(value, str):
            record[key] = clean(value)
    record["redacted"] = True
    return record


def redact_document(text: str, record: Mapping[str, Any], names: frozenset[str]) -> str:
    """A whole rendered document (the Markdown feedback) redacted with the conversation's names."""
    return redact_text(text, language=_language(record), names=names).text


def _moved(evidence: list[dict[str, Any]], done: Any) -> list[dict[str, Any]]:
    """Highlight spans moved to the redacted text; a span that touches redacted text is dropped."""
    if not done.spans:
        return evidence
    out = []
    for e in evidence:
        start, end = int(e["start"]), int(e["end"])
        if any(s.start < end and start < s.end for s in done.spans):
            continue
        out.append({**e, "start": done.map_offset(start), "end": done.map_offset(end)})
    return out
