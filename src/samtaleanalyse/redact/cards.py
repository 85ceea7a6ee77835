"""Payment card numbers: 13-19 digits, Luhn-checked (stdnum.luhn), with a card network's first digit."""
from __future__ import annotations

from stdnum import luhn

from .numbers import Scan, prefixes
from .spans import Candidate

# (first digits, lengths) of the card networks: Visa, Mastercard, Amex, Diners, Discover, JCB, Maestro
# (with Dankort 5019), UnionPay. A Luhn-valid run of another shape (an IMEI, a 15-digit JCB-looking serial)
# is no card.
_NETWORKS: tuple[tuple[tuple[str, ...], tuple[int, ...]], ...] = (
    (("4",), (13, 16, 19)),
    (("51", "52", "53", "54", "55", *(str(n) for n in range(2221, 2721))), (16,)),
    (("34", "37"), (15,)),
    (("300", "301", "302", "303", "304", "305", "36", "38", "39"), (14, 15, 16, 17, 18, 19)),
    (("6011", "65", "644", "645", "646", "647", "648", "649"), (16, 17, 18, 19)),
    (tuple(str(n) for n in range(3528, 3590)), (16, 17, 18, 19)),
    (("50", "56", "57", "58", "6"), (13, 14, 15, 16, 17, 18, 19)),
)


def _network(d: str) -> bool:
    return any(len(d) in lengths and d.startswith(prefixes) for prefixes, lengths in _NETWORKS)

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
            if _network(d) and luhn.is_valid(d):
                found.append(Candidate(start, end, "payment_card", near == "payment_card"))
                break
            if near == "payment_card" and fallback is None:
                fallback = Candidate(start, end, "payment_card", True)  # mistyped, but said to be a card
        else:
            if fallback is not None:
                found.append(fallback)
    return found
