"""Redaction of personal data in Nordic customer-service transcripts.

``find_pii`` finds e-mail addresses, phone numbers, payment cards, IBANs and bank accounts, national ID
numbers (Norwegian fødselsnummer and D-number, Swedish personnummer and samordningsnummer, Danish CPR),
numbers read out in words, and people's names where the words around them say a name follows.
``redact_text`` replaces them by short placeholders in the report's language; ``names_in_conversation``
collects the names a whole conversation gives, so that later mentions are found too; ``excerpt`` quotes
untrusted input safely in error records.
"""
from .api import find_pii, redact_text
from .version import REDACTION_VERSION
from .excerpts import excerpt
from .names import names_in_conversation
from .placeholder_table import placeholders
from .spans import KINDS, PiiSpan, Redacted

__all__ = ["KINDS", "REDACTION_VERSION", "PiiSpan", "Redacted", "excerpt", "find_pii", "names_in_conversation", "placeholders",
           "redact_text"]
