"""Bank accounts: IBAN (checked by stdnum.iban), Norwegian 11-digit kontonummer (mod 11,
stdnum.no.kontonr), and any account number that a context word introduces (Danish reg.nr + kontonr,
Swedish clearing + kontonummer, UK account numbers): those formats carry no check digit of their own."""
from __future__ import annotations

import re

from stdnum import iban
from stdnum.no import kontonr

from .context import NEUTRAL
from .numbers import Scan, prefixes
from .spans import Candidate

_IBAN = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){10,32}")
_IBAN_HINT = re.compile(r"[A-Za-z]{2}\d{2}")
_NO_ACCOUNT = re.compile(r"(?<!\d)\d{4}(?P<sep>[. ]?)\d{2}(?P=sep)\d{5}(?!\d)")


def find_ibans(text: str) -> list[Candidate]:
    if not _IBAN_HINT.search(text):
        return []
    found = []
    for m in _IBAN.finditer(text):
        start = m.start()
        # The pattern runs on into the next words ("NO93 8601 1117 947 takk"): the longest valid cut wins.
        for end in range(m.end(), start + 14, -1):
            if end < len(text) and text[end].isalnum():
                continue
            compact = text[start:end].replace(" ", "").upper()
            if len(compact) >= 15 and iban.is_valid(compact):
                found.append(Candidate(start, end, "iban"))
                break
    return found


def find_accounts(scan: Scan) -> list[Candidate]:
    found = []
    for m in _NO_ACCOUNT.finditer(scan.text):
        start, end = m.span()
        if not scan.plain_number(start, end):
            continue
        near = scan.context.nearest(start, end)
        if near == "bank_account":
            found.append(Candidate(start, end, "bank_account", True))
        elif near in (None, NEUTRAL) and m.group("sep") and kontonr.is_valid(m.group(0)):
            # "1234.56.78903" / "1234 56 78903" is the way account numbers are written; a bare 11-digit run
            # is as often an order number or a fødselsnummer, so it needs a context word.
            found.append(Candidate(start, end, "bank_account"))
    # Account numbers without a check digit of their own, when a context word says what they are.
    for run in scan.runs:
        for start, end, _ in prefixes(scan.text, run.start(), run.end(), 7, 18):
            if scan.plain_number(start, end) and scan.context.nearest(start, end) == "bank_account":
                found.append(Candidate(start, end, "bank_account", True))
                break
    return found
