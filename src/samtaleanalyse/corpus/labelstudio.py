"""Round trip with Label Studio: one task per customer or agent turn, with the turns before it as context.

A task per turn keeps the labelling view small and the import unambiguous; current labels go
out as predictions, so annotators correct rather than start from nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

from ..labels import ATTITUDES, BEHAVIOURS
from .model import LabelledConversation

CONTEXT_TURNS = 4
MODEL_VERSION = "corpus-labels"


def labelling_config() -> str:
    """The Label Studio labelling interface for these tasks."""
    att = "\n".join(f'      <Choice value="{a}"/>' for a in ATTITUDES)
    beh = "\n".join(f'      <Choice value="{b}"/>' for b in BEHAVIOURS)
    return f"""<View>
  <Header value="$conversation_id ($language, $channel), turn $turn_index: $role"/>
  <Text name="context" value="$context"/>
  <Text name="text" value="$text"/>
  <View visibleWhen="choice-selected" whenTagName="role" whenChoiceValue="customer">
    <Choices name="attitude" toName="text" choice="single" showInLine="true">
{att}
    </Choices>
  </View>
  <View visibleWhen="choice-selected" whenTagName="role" whenChoiceValue="agent">
    <Choices name="behaviours" toName="text" choice="multiple" showInLine="true">
{beh}
    </Choices>
  </View>
  <Choices name="role" toName="text" choice="single" readonly="true">
    <Choice value="customer"/>
    <Choice value="agent"/>
  </Choices>
</View>
"""


def export_tasks(convs: Iterable[LabelledConversation],
                 only: set[tuple[str, int]] | None = None) -> list[dict[str, Any]]:
    """Tasks for every labelled turn (or only the ``(conversation_id, turn_index)`` pairs given)."""
    tasks = []
    for c in convs:
        for lt in c.turns:
            role = lt.turn.role
            if role == "system" or (only is not None and (c.id, lt.turn.index) not in only):
                continue
            before = c.turns[max(0, lt.turn.index - CONTEXT_TURNS):lt.turn.index]
            context = "\n".join(f"{b.turn.role}: {b.turn.text}" for b in before)
            result: list[dict[str, Any]] = [
                {"from_name": "role", "to_name": "text", "type": "choices", "value": {"choices": [role]}}]
            if role == "customer" and lt.attitude:
                result.append({"from_name": "attitude", "to_name": "text", "type": "choices",
                               "value": {"choices": [lt.attitude]}})
            if role == "agent" and lt.behaviours:
                result.append({"from_name": "behaviours", "to_name": "text", "type": "choices",
                               "value": {"choices": list(lt.behaviours)}})
            tasks.append({
                "data": {"conversation_id": c.id, "turn_index": lt.turn.index, "role": role,
                         "language": lt.turn.language or c.language, "channel": c.channel, "domain": c.domain,
                         "text": lt.turn.text, "context": context or "(start of conversation)"},
                "predictions": [{"model_version": MODEL_VERSION, "result": result}],
            })
    return tasks


@dataclass(frozen=True)
class ImportReport:
    updated: int
    unchanged: int
    skipped: tuple[str, ...]


def _choices(result: Sequence[dict[str, Any]], name: str) -> list[str] | None:
    for r in result:
        if r.get("from_name") == name:
            return list(r.get("value", {}).get("choices", []))
    return None


def import_annotations(tasks: Sequence[dict[str, Any]],
                       convs: Sequence[LabelledConversation]) -> tuple[list[LabelledConversation], ImportReport]:
    """Apply the latest non-cancelled annotation of each exported task; problems are reported, not guessed."""
    by_id = {c.id: c for c in convs}
    changes: dict[str, dict[int, tuple[str | None, tuple[str, ...]]]] = {}
    skipped: list[str] = []
    unchanged = 0
    for pos, task in enumerate(tasks):
        data = task.get("data", {})
        cid, idx = data.get("conversation_id"), data.get("turn_index")
        where = f"task {task.get('id', pos)} ({cid}, turn {idx})"
        anns = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
        if not anns:
            skipped.append(f"{where}: no annotation")
            continue
        ann = max(anns, key=lambda a: (a.get("updated_at") or a.get("created_at") or "", a.get("id", 0)))
        conv = by_id.get(cid)
        if conv is None or not isinstance(idx, int) or not 0 <= idx < len(conv.turns):
            skipped.append(f"{where}: no such conversation or turn in the corpus")
            continue
        lt = conv.turns[idx]
        if lt.turn.text != data.get("text"):
            skipped.append(f"{where}: the turn's text changed since export")
            continue
        result = ann.get("result", [])
        if lt.turn.role == "customer":
            chosen = _choices(result, "attitude")
            if not chosen or len(chosen) != 1 or chosen[0] not in ATTITUDES:
                skipped.append(f"{where}: attitude must be exactly one of {', '.join(ATTITUDES)}, got {chosen}")
                continue
            new: tuple[str | None, tuple[str, ...]] = (chosen[0], ())
        else:
            chosen = _choices(result, "behaviours") or []
            bad = [b for b in chosen if b not in BEHAVIOURS]
            if bad:
                skipped.append(f"{where}: unknown behaviour(s) {bad}")
                continue
            new = (None, tuple(b for b in BEHAVIOURS if b in chosen))
        old = (lt.attitude, tuple(b for b in BEHAVIOURS if b in lt.behaviours))
        if new == old:
            unchanged += 1
            continue
        changes.setdefault(cid, {})[idx] = new
    out = []
    updated = 0
    for c in convs:
        if c.id in changes:
            turns = list(c.turns)
            for idx, (attitude, behaviours) in changes[c.id].items():
                turns[idx] = replace(turns[idx], attitude=attitude, behaviours=behaviours)
                updated += 1
            c = replace(c, turns=tuple(turns))
        out.append(c)
    return out, ImportReport(updated=updated, unchanged=unchanged, skipped=tuple(skipped))
