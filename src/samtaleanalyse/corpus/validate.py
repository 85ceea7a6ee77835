"""Checks that keep the corpus consistent: schema, label vocabulary, duplicates, leaks across splits."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from ..conversation import CHANNELS, LANGUAGES
from ..labels import ATTITUDES, BEHAVIOURS, SPLITS
from .model import LabelledConversation, iter_corpus
from .similarity import NEAR_DUPLICATE_JACCARD, near_duplicate_pairs

MIN_TURNS, MAX_TURNS = 4, 20


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" or "warning"
    file: str
    line: int
    conversation: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.file}, line {self.line} ({self.conversation}): {self.message}"


def _check_conversation(c: LabelledConversation, require_split: bool) -> list[Problem]:
    out: list[Problem] = []

    def err(msg: str, severity: str = "error") -> None:
        out.append(Problem(severity, c.file, c.line, c.id, msg))

    if c.language not in LANGUAGES:
        err(f"language {c.language!r} is not one of {', '.join(LANGUAGES)}")
    if c.channel not in CHANNELS:
        err(f"channel {c.channel!r} is not one of {', '.join(CHANNELS)}")
    if not c.domain:
        err("no domain")
    if require_split and c.split is None:
        err("no split (run `samtaleanalyse data split`)")
    if c.split is not None and c.split not in SPLITS:
        err(f"split {c.split!r} is not one of {', '.join(SPLITS)}")
    if c.augmented and c.split in ("dev", "test"):
        err(f"augmented conversation in {c.split}: augmented data may only train")
    if not MIN_TURNS <= len(c.turns) <= MAX_TURNS:
        err(f"{len(c.turns)} turns (the corpus asks for {MIN_TURNS} to {MAX_TURNS})", "warning")
    roles = {t.turn.role for t in c.turns}
    for role in ("customer", "agent"):
        if role not in roles:
            err(f"no {role} turn")
    for lt in c.turns:
        i, role = lt.turn.index, lt.turn.role
        if not lt.turn.text.strip():
            err(f"turn {i}: empty text")
        if lt.turn.language is not None and lt.turn.language not in LANGUAGES:
            err(f"turn {i}: language {lt.turn.language!r} is not one of {', '.join(LANGUAGES)}")
        if role == "customer":
            if lt.attitude not in ATTITUDES:
                err(f"turn {i}: customer turn needs an attitude from {', '.join(ATTITUDES)}, has {lt.attitude!r}")
            if lt.behaviours:
                err(f"turn {i}: customer turn has behaviours")
        elif role == "agent":
            unknown = [b for b in lt.behaviours if b not in BEHAVIOURS]
            if unknown:
                err(f"turn {i}: unknown behaviour(s) {', '.join(unknown)}; use {', '.join(BEHAVIOURS)}")
            if len(set(lt.behaviours)) != len(lt.behaviours):
                err(f"turn {i}: a behaviour is listed twice")
            if lt.attitude is not None:
                err(f"turn {i}: agent turn has an attitude")
        elif lt.attitude is not None or lt.behaviours:
            err(f"turn {i}: system turns carry no labels")
    return out


def validate_corpus(root: str | Path, *, require_split: bool = True) -> tuple[list[LabelledConversation], list[Problem]]:
    convs: list[LabelledConversation] = []
    problems: list[Problem] = []
    for item in iter_corpus(root):
        if isinstance(item, tuple):
            problems.append(Problem("error", item[0], item[1], "?", item[2]))
            continue
        convs.append(item)
        problems += _check_conversation(item, require_split)
    seen: dict[str, LabelledConversation] = {}
    texts: dict[tuple[str, ...], LabelledConversation] = {}
    for c in convs:
        if c.id in seen:
            problems.append(Problem("error", c.file, c.line, c.id,
                                    f"duplicate id (also {seen[c.id].file}, line {seen[c.id].line})"))
        seen.setdefault(c.id, c)
        key = tuple(t.turn.text for t in c.turns)
        if key in texts:
            problems.append(Problem("error", c.file, c.line, c.id, f"same text as {texts[key].id}"))
        texts.setdefault(key, c)
    by_split: dict[str | None, list[int]] = defaultdict(list)
    for i, c in enumerate(convs):
        by_split[c.split].append(i)
    cross = [(i, j) for a, b in (("train", "dev"), ("train", "test"), ("dev", "test"))
             for i, j in product(by_split.get(a, []), by_split.get(b, []))]
    for i, j, score in near_duplicate_pairs(convs, NEAR_DUPLICATE_JACCARD, cross):
        a, b = convs[i], convs[j]
        problems.append(Problem("error", b.file, b.line, b.id,
                                f"near-duplicate of {a.id} ({a.split}) across splits (trigram Jaccard {score:.2f})"))
    return convs, problems
