"""The public functions: find personal data in a text, and replace it by placeholders."""
from __future__ import annotations

import re
from typing import Iterable

from .accounts import find_accounts, find_ibans
from .cards import find_cards
from .context import Context
from .emails import find_emails
from .names import find_names
from .national_ids import find_national_ids
from .numbers import Scan
from .phones import find_phones
from .placeholder_table import check_language, placeholders
from .spans import Candidate, PiiSpan, Redacted, apply, settle
from .spoken import find_spoken_numbers

_DIGIT = re.compile(r"\d")


def find_pii(text: str, *, language: str | None = None, names: Iterable[str] = ()) -> list[PiiSpan]:
    """The personal data in ``text``, in text order, without overlaps.

    ``language`` (nb, nn, da, sv, en) puts its country first when reading phone numbers; None tries all.
    ``names`` are people's names known from elsewhere in the conversation (``names_in_conversation``):
    each mention of them is found too (whole words, any case, possessives such as "Karis", "Kari's").
    """
    if language is not None:
        check_language(language)
    candidates: list[Candidate] = []
    candidates += find_emails(text)
    has_digits = _DIGIT.search(text) is not None
    context = None
    if has_digits:
        scan = Scan.of(text)
        context = scan.context
        candidates += find_ibans(text)
        candidates += find_cards(scan)
        candidates += find_national_ids(scan)
        candidates += find_accounts(scan)
        candidates += find_phones(scan, language, candidates)
    spoken = find_spoken_numbers(text)
    if spoken:
        context = context or Context.of(text)
        spoken = [c for c in spoken if context.nearest(c.start, c.end) != "negative"]
        candidates += spoken
    candidates += find_names(text, names)
    return settle(text, candidates)


def redact_text(text: str, *, language: str = "en", names: Iterable[str] = ()) -> Redacted:
    """``text`` with each piece of personal data replaced by its placeholder in ``language``
    ("Ring meg på [telefonnummer]")."""
    check_language(language)
    return apply(text, find_pii(text, language=language, names=names), placeholders(language))
