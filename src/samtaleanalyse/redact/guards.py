"""Numbers that look like personal data but are not: dates, times, amounts, percentages and version numbers,
and digit runs glued to letters (product codes, flight numbers, "#ticket")."""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

# Currency codes only in capitals: "nok" is also Norwegian for "probably".
_CURRENCY = r"(?:kr\.?|kroner|kronor|(?-i:NOK|SEK|DKK|EUR|USD|GBP)|euro|€|\$|£)"
_AMOUNT_NUM = r"\d{1,3}(?:[ \u00a0.]\d{3})+(?:[.,]\d{1,2}|,-)?|\d+(?:[.,]\d{1,2}|,-)?"
_PROTECTED = re.compile(
    "|".join((
        # ISO dates and timestamps: 2026-11-04, 2026-11-04T10:15
        r"(?P<iso>\b\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)?\b)",
        # Nordic and English dates: 04.11.2026, 4. 11. 26, 04/11/2026, 04-11-2026
        r"(?P<date>\b(?P<d>\d{1,2})(?:\.\s?|/|-)(?P<m>\d{1,2})(?:\.\s?|/|-)(?:\d{4}|\d{2})\b)",
        # Times: 14:30, kl. 14.30
        r"\b\d{1,2}:\d{2}(?::\d{2})?\b",
        r"\b(?:kl|klokka|klokken|kloka|klockan|at)\.?\s?\d{1,2}[.:]\d{2}\b",
        # Amounts and percentages: kr 499,-  1 299,00 kr  NOK 12 500  12,5 %
        rf"(?<!\w){_CURRENCY}\s?(?:{_AMOUNT_NUM})",
        rf"(?<![\d.,])(?:{_AMOUNT_NUM})\s?(?:{_CURRENCY}(?!\w)|%|prosent|procent|percent|øre|öre)",
        # Version and build numbers: v2.14.3, 10.0.19045.3803
        r"\bv(?:ersion|ersjon)?\.?\s?\d+(?:\.\d+)+\b",
        r"\b\d+(?:\.\d+){3,}\b",
    )),
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Protected:
    """The stretches of one text where numbers are dates, times, amounts or versions."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> "Protected":
        starts, ends = [], []
        for m in _PROTECTED.finditer(text):
            if m.group("date") and not (1 <= int(m.group("d")) <= 31 and 1 <= int(m.group("m")) <= 12):
                continue  # "91.23.45" is no date
            starts.append(m.start())
            ends.append(m.end())
        return cls(tuple(starts), tuple(ends))

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect_left(self.ends, start + 1)
        return i < len(self.starts) and self.starts[i] < end


def clean_edges(text: str, start: int, end: int) -> bool:
    """False when the digits are part of a code: glued to a letter ("SKU48213377", "AB-12345678-X"), after a
    "#" or "/" ("#48213377", "3/48213377"), or running on into more digits after a separator."""
    if start > 0:
        before = text[start - 1]
        if before.isalnum() or before in "#_/+":
            return False
        if before in "-." and start > 1 and text[start - 2].isalnum():
            return False
    if end < len(text):
        after = text[end]
        if after.isalnum() or after == "_":
            return False
        if after in "-/.," and end + 1 < len(text) and text[end + 1].isalnum():
            return False
    return True
