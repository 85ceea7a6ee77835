"""Readers for the JSON exports contact-centre platforms produce.

Each ``Platform`` says whether a parsed JSON object is one of its records (``matches``) and reads
it into conversations (``read``), through ``build_conversation`` like every other format. The
streaming JSON reader tries ``match_platform`` on the document, then on the items of the arrays
named in the platforms' ``list_keys``.

Roles come from the platform's own fields, never from guessing at names; the label the export
gave stays in ``Turn.speaker``. Internal notes (Zendesk ``public: false``, Intercom notes, Puzzel
``privacy = 1``, Salesforce supervisor whispers) are left out without a warning: the customer never
saw them, so they are not part of the conversation being judged.
"""
from __future__ import annotations

from typing import Any, Mapping

from .base import Place, Platform
from .genesys import GENESYS_MESSAGING, GENESYS_TRANSCRIPT
from .intercom import INTERCOM
from .mapping import JsonMapping, mapping_platform
from .puzzel import PUZZEL
from .salesforce import SALESFORCE_LIVEAGENT, SALESFORCE_MESSAGING, parse_liveagent_body
from .text import html_to_text, iso_time
from .zendesk import ZENDESK_CHAT, ZENDESK_MESSAGING, ZENDESK_TICKET

# Most specific first: a record matching an earlier platform is never offered to a later one.
PLATFORMS: tuple[Platform, ...] = (
    ZENDESK_TICKET, ZENDESK_CHAT, ZENDESK_MESSAGING, GENESYS_TRANSCRIPT, GENESYS_MESSAGING, INTERCOM,
    SALESFORCE_LIVEAGENT, SALESFORCE_MESSAGING, PUZZEL,
)


def match_platform(obj: Mapping[str, Any]) -> Platform | None:
    """The platform whose record ``obj`` is, or None (then it may be the canonical format).

    A record with a ``turns`` list is the canonical format, whatever else it holds.
    """
    if not isinstance(obj, Mapping) or isinstance(obj.get("turns"), list):
        return None
    return next((p for p in PLATFORMS if p.matches(obj)), None)


__all__ = ["JsonMapping", "PLATFORMS", "Place", "Platform", "html_to_text", "iso_time", "mapping_platform",
           "match_platform", "parse_liveagent_body"]
