"""Digit runs as people write them ("1234 5678 9012 3456", "020285-1234"), found once per text and shared by
the detectors of cards, IDs and accounts, with the ways to cut a run short when it goes on into digits that
belong to something else ("4526 0181 5908 3012 12/27")."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

from .context import Context
from .guards import Protected, clean_edges

# Groups of digits joined by one space, dot or dash.
RUN = re.compile(r"(?<!\d)\d+(?:[ .\-\u00a0]\d+)*")


@dataclass(frozen=True)
class Scan:
    """One text with what every number detector asks of it."""

    text: str = field(repr=False)
    runs: tuple[re.Match[str], ...]
    context: Context
    protected: Protected

    @classmethod
    def of(cls, text: str) -> "Scan":
        return cls(text, tuple(RUN.finditer(text)), Context.of(text), Protected.of(text))

    def plain_number(self, start: int, end: int) -> bool:
        """Not glued to a code and not inside a date, time, amount or version."""
        return clean_edges(self.text, start, end) and not self.protected.overlaps(start, end)


def digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


def prefixes(text: str, start: int, end: int, min_digits: int, max_digits: int) -> Iterator[tuple[int, int, str]]:
    """(start, end, digits) of the run and of each shorter run cut at a separator, longest first, holding
    between ``min_digits`` and ``max_digits`` digits."""
    cut = end
    while cut > start:
        d = digits(text[start:cut])
        if len(d) < min_digits:
            return
        if len(d) <= max_digits:
            yield start, cut, d
        j = cut - 1
        while j > start and text[j - 1].isdigit():
            j -= 1
        cut = j - 1  # drop the last group with its separator
