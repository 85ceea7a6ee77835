"""What redaction finds (``PiiSpan``) and what it returns (``Redacted``), and how overlapping finds are settled."""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Iterable

KINDS: tuple[str, ...] = (
    "email", "phone", "payment_card", "iban", "bank_account", "national_id", "spoken_number", "name",
)

# When two finds overlap, the more specific format wins: an e-mail or a checked IBAN cannot be anything else,
# while a run of digits may be read as a phone number by phonenumbers and as an ID by its checksum.
_PRIORITY = {kind: -i for i, kind in enumerate((
    "email", "iban", "payment_card", "national_id", "bank_account", "phone", "spoken_number", "name"))}


@dataclass(frozen=True)
class PiiSpan:
    """One piece of personal data: ``text == original[start:end]``."""

    start: int
    end: int
    kind: str
    text: str


@dataclass(frozen=True)
class Candidate:
    """A detector's find before overlaps are settled; ``confirmed`` when a context word names its kind."""

    start: int
    end: int
    kind: str
    confirmed: bool = False

    def rank(self) -> tuple[bool, int, int]:
        return (self.confirmed, _PRIORITY[self.kind], self.end - self.start)


def settle(text: str, candidates: Iterable[Candidate]) -> list[PiiSpan]:
    """Non-overlapping spans in text order: a context-confirmed find first, then the more specific kind, then
    the longer one. Names split only by a space ("Kari" + "Nordmann") become one span, so the redacted text
    reads "[navn]", not "[navn] [navn]"."""
    chosen: list[Candidate] = []
    for cand in sorted(candidates, key=Candidate.rank, reverse=True):
        if cand.end > cand.start and all(cand.end <= c.start or cand.start >= c.end for c in chosen):
            chosen.append(cand)
    chosen.sort(key=lambda c: c.start)
    merged: list[Candidate] = []
    for cand in chosen:
        prev = merged[-1] if merged else None
        if (prev is not None and prev.kind == cand.kind == "name"
                and text[prev.end:cand.start] in (" ", "-")):
            merged[-1] = Candidate(prev.start, cand.end, "name", prev.confirmed or cand.confirmed)
        else:
            merged.append(cand)
    return [PiiSpan(c.start, c.end, c.kind, text[c.start:c.end]) for c in merged]


@dataclass(frozen=True)
class Redacted:
    """A text with each span replaced by its placeholder.

    ``map_offset`` turns an offset into the original into one into ``text`` (so highlights computed on the
    original can be drawn on the redacted text); an offset inside a replaced span maps to the span's start.
    """

    text: str
    spans: tuple[PiiSpan, ...]
    original_length: int = field(repr=False, compare=False, default=0)
    # Start of each span's placeholder in ``text``, in span order.
    _new_starts: tuple[int, ...] = field(repr=False, compare=False, default=())
    _new_ends: tuple[int, ...] = field(repr=False, compare=False, default=())

    def placeholder_spans(self) -> tuple[tuple[int, int], ...]:
        """(start, end) of each placeholder in ``text``, in the order of ``spans``."""
        return tuple(zip(self._new_starts, self._new_ends))

    def map_offset(self, offset: int) -> int:
        if not 0 <= offset <= self.original_length:
            raise ValueError(f"offset {offset} is outside the original text (0..{self.original_length}).")
        i = bisect_right(self.spans, offset, key=lambda s: s.start) - 1
        if i < 0:
            return offset
        span = self.spans[i]
        if offset == span.start or offset < span.end:
            return self._new_starts[i]
        return self._new_ends[i] + (offset - span.end)


def apply(text: str, spans: list[PiiSpan], placeholders: dict[str, str]) -> Redacted:
    """Replace each span (in text order, not overlapping) by the placeholder of its kind."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    size = 0
    for span in spans:
        parts.append(text[pos:span.start])
        size += span.start - pos
        holder = placeholders[span.kind]
        starts.append(size)
        parts.append(holder)
        size += len(holder)
        ends.append(size)
        pos = span.end
    parts.append(text[pos:])
    return Redacted("".join(parts), tuple(spans), len(text), tuple(starts), tuple(ends))
