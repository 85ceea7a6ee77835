"""Context words: what a number's neighbours say it is (``context.toml``)."""
from __future__ import annotations

import re
import tomllib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from .patterns import phrase_pattern

NEGATIVE = "negative"
NEUTRAL = "neutral"

# How far a context word may stand from the number, in characters. A word after the number counts double
# the distance: "Ring meg på 91234567, det er ordrenummeret ..." belongs to what came before.
_BEFORE = 60
_AFTER = 40
# A sentence end between the word and the number makes the word count as this much further away.
_SENTENCE_PENALTY = 45
_SENTENCE_END = re.compile(r"[.!?\n]\s+(?=[^\W\d_])")
# A word after the number counts only within the same clause: in "CPR-nummer 020285-1234, reg.nr. 1234" the
# "reg.nr." speaks of what follows it.
_CLAUSE_BREAK = re.compile(r"[,;:.!?\n()]")


@cache
def _matcher() -> tuple[re.Pattern[str], dict[str, tuple[str, bool]]]:
    """The pattern of all context words, and for each word its kind and whether it is a prefix."""
    data = tomllib.loads(resources.files(__package__).joinpath("context.toml").read_text(encoding="utf-8"))
    table: dict[str, tuple[str, bool]] = {}
    for kind, entries in data.items():
        for term in entries.get("prefixes", ()):
            table[_norm(term)] = (kind, True)
        for term in entries.get("words", ()):
            table[_norm(term)] = (kind, False)
    return re.compile(r"(?<!\w)" + phrase_pattern(table), re.IGNORECASE), table


def _norm(term: str) -> str:
    return " ".join(term.casefold().split())


@dataclass(frozen=True)
class Context:
    """The context words of one text, found once and asked for each candidate number."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    kinds: tuple[str, ...]
    sentence_ends: tuple[int, ...]
    text: str = field(repr=False)

    @classmethod
    def of(cls, text: str) -> "Context":
        pattern, table = _matcher()
        starts, ends, kinds = [], [], []
        for m in pattern.finditer(text):
            kind, prefix = table[_norm(m.group(0))]
            end = m.end()
            if prefix:
                # The rest of the word belongs to it, so that distances count from the word's end.
                while end < len(text) and text[end].isalnum():
                    end += 1
            elif end < len(text) and m.group(0)[-1].isalnum() and (text[end].isalnum() or text[end] == "_"):
                continue  # "sak" is a word of its own, "sakte" is not a case
            starts.append(m.start())
            ends.append(end)
            kinds.append(kind)
        sentence_ends = tuple(m.start() for m in _SENTENCE_END.finditer(text)) if starts else ()
        return cls(tuple(starts), tuple(ends), tuple(kinds), sentence_ends, text)

    def nearest(self, start: int, end: int) -> str | None:
        """The kind ("phone", "negative", ...) of the context word nearest to ``text[start:end]``, or None."""
        if not self.kinds:
            return None
        best: tuple[float, str] | None = None
        # Words ending before the number, nearest first.
        i = bisect_right(self.ends, start) - 1
        if i >= 0 and start - self.ends[i] <= _BEFORE:
            dist = start - self.ends[i]
            if self._sentence_between(self.ends[i], start):
                dist += _SENTENCE_PENALTY
            best = (dist, self.kinds[i])
        j = bisect_left(self.starts, end)
        if (j < len(self.starts) and self.starts[j] - end <= _AFTER
                and not _CLAUSE_BREAK.search(self.text, end, self.starts[j])):
            dist = 2 * (self.starts[j] - end) + 1
            if best is None or dist < best[0]:
                best = (dist, self.kinds[j])
        return best[1] if best else None

    def _sentence_between(self, a: int, b: int) -> bool:
        k = bisect_left(self.sentence_ends, a)
        return k < len(self.sentence_ends) and self.sentence_ends[k] < b
