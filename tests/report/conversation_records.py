"""Report records built in the tests, without the model: labelled turns coached by the rules.

The conversations (our own texts, one per language, with evidence offsets and uncertain turns)
are in tests/data/report_conversation/conversations.jsonl.
"""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from samtaleanalyse.coaching import Coach, from_labels

CASES = Path(__file__).resolve().parents[1] / "data" / "report_conversation" / "conversations.jsonl"


def load_cases() -> dict[str, dict[str, Any]]:
    """Conversation id -> case, keyed also by language (one case per language)."""
    cases = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {**{c["id"]: c for c in cases}, **{c["language"]: c for c in cases}}


def build_record(case: dict[str, Any]) -> dict[str, Any]:
    """One line of conversations.jsonl as `score` would write it, from a labelled case."""
    turns = [{"index": i, **t} for i, t in enumerate(case["turns"])]
    coaching = Coach()(from_labels(case["id"], case["language"], turns))
    meta = {k: v for k, v in case.items() if k != "turns"}
    return {**meta, "turns": turns, "model": "unit-test-model", **coaching.to_dict()}


class Page(HTMLParser):
    """What a reader of the page gets: its text nodes, the titles and labels, and the highlights per turn."""

    SILENT = ("style", "script")

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []              # visible text nodes, in order
        self.attributes: list[str] = []          # title and aria-label values (read out or shown on hover)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.turn_text: dict[str, str] = {}      # turn anchor -> its text as shown (without the label tags)
        self.marked: dict[str, set[int]] = {}    # turn anchor -> character positions inside <mark>
        self.mark_titles: dict[str, list[str]] = {}
        self._stack: list[tuple[str, dict[str, str]]] = []
        self._turn: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        for key in ("title", "aria-label"):
            if a.get(key):
                self.attributes.append(a[key])
        if tag == "li" and a.get("id", "").startswith("turn-"):
            self._turn = a["id"]
        if tag in ("meta", "br", "link", "img", "input"):
            return
        self._stack.append((tag, a))
        if tag == "mark" and self._turn:
            self.mark_titles.setdefault(self._turn, []).append(a.get("title", ""))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            open_tag, _ = self._stack.pop()
            if open_tag == tag:
                break
        if tag == "li":
            self._turn = None

    def _inside(self, tag: str, cls: str | None = None) -> bool:
        return any(t == tag and (cls is None or cls in a.get("class", "").split()) for t, a in self._stack)

    def handle_data(self, data: str) -> None:
        if any(t in self.SILENT for t, _ in self._stack):
            return
        if data.strip():
            self.texts.append(data)
        if self._turn and self._inside("p", "turn-text") and not self._inside("span", "ev-tag"):
            shown = self.turn_text.get(self._turn, "")
            if self._inside("mark"):
                self.marked.setdefault(self._turn, set()).update(range(len(shown), len(shown) + len(data)))
            self.turn_text[self._turn] = shown + data

    def words(self) -> set[str]:
        import re

        # Tokens with digits (file names, times, scores) are not words.
        tokens = [tok for s in self.texts + self.attributes for tok in s.split() if not re.search(r"\d", tok)]
        return {w.casefold() for tok in tokens for w in re.findall(r"[^\W\d_]+", tok)}
