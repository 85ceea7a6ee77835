"""Phone numbers, found by phonenumbers' matcher for the Nordic regions (and GB/US for English), then judged by
how they are written and what stands beside them: an 8-digit Norwegian or Danish number without spaces is an
order number as often as a phone number, so it needs a word such as "mobil" or "ring meg på"."""
from __future__ import annotations

import re

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from .context import NEUTRAL, Context
from .guards import Protected, clean_edges
from .numbers import Scan
from .spans import Candidate

_HOME_REGIONS = {"nb": ("NO",), "nn": ("NO",), "da": ("DK",), "sv": ("SE",), "en": ("GB", "US")}
# Seven digits with at most two separators between each: the least a phone number can be. Texts without such
# a run never reach phonenumbers, which is by far the slowest step.
_PREFILTER = re.compile(r"\d(?:[\s().-]{0,2}\d){6,}")
_GROUPS = re.compile(r"\d+")
# Freephone, premium, shared-cost and company numbers ("800 12 345", "0771-123 456", "0800 ...") belong to
# companies, not to people: they stay.
_SERVICE_TYPES = frozenset((
    phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST, phonenumbers.PhoneNumberType.UAN,
))
# North-American grouping: (212) 555-0123, 212-555-0123
_US_FORM = re.compile(r"^(?:\(\d{3}\)\s?|\d{3}[-.\s])\d{3}[-.\s]\d{4}$")


def regions_for(digits: str, international: bool, language: str | None) -> tuple[str, ...]:
    """The regions worth asking phonenumbers about, from the shape of the digits: any one region reads an
    international number; a leading 0 is the trunk prefix of Sweden and Britain; eight digits are Norway's
    and Denmark's numbering; ten digits may be North American in English text."""
    home = _HOME_REGIONS.get(language or "", ())
    if international:
        return home[:1] or ("NO",)
    if digits.startswith("0"):
        shaped: tuple[str, ...] = ("SE", "GB")
    elif language in (None, "en") and len(digits) == 10:
        shaped = ("US", "NO", "DK")
    else:
        shaped = ("NO", "DK")
    return tuple(sorted(shaped, key=lambda r: r not in home))


def find_phones(scan: Scan, language: str | None, claimed: list[Candidate] = ()) -> list[Candidate]:
    """Phone numbers in the scanned text. ``claimed``: what other detectors found already; a run of digits
    inside one of them is read as a phone number only when a context word says so."""
    text, context, protected = scan.text, scan.context, scan.protected
    matches: list[tuple[int, int, str, str]] = []  # start, end, raw, region
    for hit in _PREFILTER.finditer(text):
        # phonenumbers is the slowest step of redaction: it reads a small window around each run of digits,
        # not the whole text, only for the regions the run's shape allows, and not at all for runs that
        # could not become a phone number anyway.
        lo = max(0, hit.start() - 6)
        hi = min(len(text), hit.end() + 2)
        before = text[lo:hit.start()].rstrip(" (")
        international = before.endswith("+") or hit.group(0).startswith("00")
        if not international:
            near = context.nearest(hit.start(), hit.end())
            if near not in (None, NEUTRAL, "phone"):
                continue
            if near != "phone" and any(c.start <= hit.start() and hit.end() <= c.end for c in claimed):
                continue
            if _inside(protected, hit.start(), hit.end()):
                continue
        digits = "".join(ch for ch in hit.group(0) if ch.isdigit())
        before_hit = len(matches)
        for region in regions_for(digits, international, language):
            for m in PhoneNumberMatcher(text[lo:hi], region, leniency=Leniency.VALID):
                if phonenumbers.number_type(m.number) not in _SERVICE_TYPES:
                    matches.append((lo + m.start, lo + m.end, m.raw_string, region))
        if len(matches) == before_hit and len(digits) > 12 and not international:
            matches += _split(text, hit, regions_for(digits, False, language))
    # The longest reading wins: SE reads "08-123 456 78" whole where NO stops at "08-123".
    matches.sort(key=lambda m: m[1] - m[0], reverse=True)
    found: list[Candidate] = []
    for start, end, raw, region in matches:
        if any(c.start < end and start < c.end for c in found):
            continue
        verdict = _judge(text, start, end, raw, region, context, protected)
        if verdict is not None:
            found.append(Candidate(start, end, "phone", verdict))
    return found


def _split(text: str, hit: re.Match[str], regions: tuple[str, ...]) -> list[tuple[int, int, str, str]]:
    """Numbers written one after the other ("91 23 45 67 22 33 44 55"), which phonenumbers' matcher reads
    as one overlong number: cut the run at its groups, longest valid number first, left to right."""
    groups = [(m.start() + hit.start(), m.end() + hit.start()) for m in _GROUPS.finditer(hit.group(0))]
    found = []
    i = 0
    while i < len(groups):
        for j in range(min(len(groups), i + 6) - 1, i, -1):
            start, end = groups[i][0], groups[j][1]
            raw = text[start:end]
            region = next((r for r in regions if is_personal_number(raw, r)), None)
            if region is not None:
                found.append((start, end, raw, region))
                i = j + 1
                break
        else:
            i += 1
    return found


def _judge(text: str, start: int, end: int, raw: str, region: str, context: Context,
           protected: Protected) -> bool | None:
    """None to drop the match; else whether a context word confirms it."""
    if raw.startswith("+"):
        return True if _edge_ok(text, start, end) else None
    if not clean_edges(text, start, end) or protected.overlaps(start, end):
        return None
    near = context.nearest(start, end)
    if near == "phone":
        return True
    if near not in (None, NEUTRAL):
        return None  # an order number, or a number the context gives to another kind (account, ID, card)
    if raw.startswith("00"):
        return False
    if region == "US" and not _US_FORM.match(raw):
        return None
    groups = _GROUPS.findall(raw)
    if "." in raw:
        return None  # dotted runs are dates, versions and account numbers far more often than phones
    if len(groups) > 1:
        # Written like a phone number: "91 23 45 67", "912 34 567", "070-123 45 67", "020 7946 0958".
        return False if all(len(g) >= 2 for g in groups[1:]) else None
    # One unbroken run: only a trunk prefix (SE, GB: 0701234567) makes it a phone number without context.
    return False if raw.startswith("0") and len(raw) >= 9 and region in ("SE", "GB") else None


def _inside(protected: Protected, start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in zip(protected.starts, protected.ends))


def _edge_ok(text: str, start: int, end: int) -> bool:
    return (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum())


def is_personal_number(raw: str, region: str) -> bool:
    """Whether ``raw`` parses as a valid number of ``region`` that is not a company's service number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) not in _SERVICE_TYPES
