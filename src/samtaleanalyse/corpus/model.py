"""The annotated corpus: conversations with a label on every customer and agent turn."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..conversation import Conversation, Metadata, Turn


@dataclass(frozen=True)
class LabelledTurn:
    turn: Turn
    attitude: str | None = None          # customer turns
    behaviours: tuple[str, ...] = ()     # agent turns


@dataclass(frozen=True)
class LabelledConversation:
    id: str
    language: str
    channel: str
    domain: str
    turns: tuple[LabelledTurn, ...]
    split: str | None = None
    augmented: bool = False
    findings: tuple[str, ...] = ()
    file: str = ""
    line: int = 0
    extra: tuple[tuple[str, Any], ...] = field(default=())

    def to_conversation(self) -> Conversation:
        """The conversation as the pipeline sees it: text only, no labels."""
        return Conversation(id=self.id, turns=tuple(t.turn for t in self.turns), language=self.language,
                            channel=self.channel,  # type: ignore[arg-type]
                            meta=Metadata(extra=(("domain", self.domain),)), source=f"{self.file}:{self.line}")

    def to_dict(self) -> dict[str, Any]:
        turns = []
        for lt in self.turns:
            d: dict[str, Any] = {"speaker": lt.turn.role, "text": lt.turn.text}
            if lt.turn.language:
                d["language"] = lt.turn.language
            if lt.turn.role == "customer":
                d["attitude"] = lt.attitude
            elif lt.turn.role == "agent":
                d["behaviours"] = list(lt.behaviours)
            turns.append(d)
        out: dict[str, Any] = {"id": self.id, "language": self.language, "channel": self.channel,
                               "domain": self.domain}
        if self.split:
            out["split"] = self.split
        if self.augmented:
            out["augmented"] = True
        out.update(dict(self.extra))
        out["turns"] = turns
        out["findings"] = list(self.findings)
        return out


def parse_record(data: dict[str, Any], file: str, line: int) -> LabelledConversation:
    """Build a labelled conversation; raises KeyError/TypeError/ValueError on a broken record."""
    turns = []
    for i, t in enumerate(data["turns"]):
        role = t["speaker"]
        if role not in ("customer", "agent", "system"):
            raise ValueError(f"turn {i}: speaker must be customer, agent or system, not {role!r}")
        turn = Turn(index=i, role=role, text=str(t["text"]), speaker=role, language=t.get("language"))
        behaviours = t.get("behaviours") or []
        if not isinstance(behaviours, list):
            raise ValueError(f"turn {i}: behaviours must be a list")
        turns.append(LabelledTurn(turn=turn, attitude=t.get("attitude"), behaviours=tuple(behaviours)))
    known = {"id", "language", "channel", "domain", "turns", "split", "augmented", "findings"}
    findings = tuple(f if isinstance(f, str) else f.get("code", "") for f in data.get("findings", []))
    return LabelledConversation(
        id=str(data["id"]), language=data["language"], channel=data["channel"], domain=data.get("domain", ""),
        turns=tuple(turns), split=data.get("split"), augmented=bool(data.get("augmented", False)),
        findings=findings, file=file, line=line,
        extra=tuple((k, v) for k, v in data.items() if k not in known),
    )


def corpus_files(root: str | Path) -> list[Path]:
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(p for p in root.glob("*.jsonl"))


def iter_corpus(root: str | Path) -> Iterator[LabelledConversation | tuple[str, int, str]]:
    """Labelled conversations, or ``(file, line, problem)`` for a line that cannot be parsed."""
    for path in corpus_files(root):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                yield parse_record(json.loads(line), str(path), lineno)
            except json.JSONDecodeError as exc:
                yield (str(path), lineno, f"broken JSON: {exc.msg}")
            except (KeyError, TypeError, ValueError) as exc:
                yield (str(path), lineno, f"broken record: {exc}")


def load_corpus(root: str | Path) -> list[LabelledConversation]:
    """All conversations; raises ValueError naming the first broken line."""
    out = []
    for item in iter_corpus(root):
        if isinstance(item, tuple):
            raise ValueError(f"{item[0]}, line {item[1]}: {item[2]}")
        out.append(item)
    return out
