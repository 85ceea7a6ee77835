"""Payment card numbers: 13-19 digits, Luhn-checked (stdnum.luhn), with a card network's first digit."""
from __future__ import annotations

from stdnum import luhn

from .numbers import Scan, prefixes
from .spans import Candidate

# Visa 4, Mastercard 2/5, Amex/Diners/JCB 3, Discover/Maestro/UnionPay 6, Dankort 5019.
_NETWORK_FIRST_DIGITS = "23456"
_OTHER_KINDS = ("negative", "phone", "bank_account", "national_id")


def find_cards(scan: Scan) -> list[Candidate]:
    found = []
    for run in scan.runs:
        if run.end() - run.start() < 13:
            continue
        fallback = None
        for start, end, d in prefixes(scan.text, run.start(), run.end(), 13, 19):
            raw = scan.text[start:end]
            if "." in raw or len({ch for ch in raw if not ch.isdigit()}) > 1:
                continue  # "1234.5678..." is no card; nor is a run mixing spaces and dashes
            if not scan.plain_number(start, end):
                continue
            near = scan.context.nearest(start, end)
            if near in _OTHER_KINDS:
                continue
            if d[0] in _NETWORK_FIRST_DIGITS and luhn.is_valid(d):
                found.append(Candidate(start, end, "payment_card", near == "payment_card"))
                break
            if near == "payment_card" and fallback is None:
                fallback = Candidate(start, end, "payment_card", True)  # mistyped, but said to be a card
        else:
            if fallback is not None:
                found.append(fallback)
    return found
