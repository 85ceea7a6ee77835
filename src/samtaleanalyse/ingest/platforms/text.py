"""Message bodies and times as the platforms write them, made plain.

Bodies come as HTML (Zendesk ``html_body``, Intercom ``body``, Salesforce ``Body``); times as ISO
strings, epoch seconds (Intercom) or epoch milliseconds (Genesys, Zendesk Chat's live feed).
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from ...conversation import LANGUAGES

# Elements that end a line of text when rendered; their content stays, the tag goes.
_BLOCK = frozenset({"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
                    "blockquote", "pre", "hr", "section", "article", "header", "footer", "dt", "dd"})
# Elements whose content is never text a reader sees.
_HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _Plain(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>")


def maybe_html(text: str) -> str:
    """``html_to_text`` for a field that is plain text in most exports but HTML in some."""
    return html_to_text(text) if _TAG.search(text) else text.strip()


def html_to_text(html: str) -> str:
    """Text of an HTML fragment: tags dropped, entities decoded, block ends and ``<br>`` as line breaks.

    Spaces inside a line are collapsed and empty lines dropped, so that a message reads as it was
    shown, not as its markup was indented.
    """
    if "<" not in html and "&" not in html:
        return html.strip()
    parser = _Plain()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).replace("\xa0", " ").split("\n"))
    # Block ends and <br> give line breaks; runs of them (</p><p>, </li><li>) give one.
    return "\n".join(line for line in lines if line)


# Day-first times as Nordic systems write them ("08.05.2026 10:12:13").
_DAY_FIRST = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y")

# Epoch numbers above this are milliseconds: 1e11 s is the year 5138, 1e11 ms is 1973.
_MS_FROM = 1e11


def iso_time(value: Any, unit: str = "auto") -> str | None:
    """An ISO 8601 string for an export's time, or None when ``value`` is no time.

    Numbers are epoch seconds or milliseconds (``unit`` "s", "ms", or "auto": by size); strings
    are ISO 8601 (``Z`` and ``+0000`` offsets included) or a number written as a string. UTC is
    written ``Z``; a time without an offset stays without one.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        s = value.strip()
        if not s:
            return None
        if re.fullmatch(r"-?\d+(\.\d+)?", s):
            return iso_time(float(s), unit)
        try:
            return _write(datetime.fromisoformat(s))
        except ValueError:
            pass
        for fmt in _DAY_FIRST:
            try:
                return _write(datetime.strptime(s, fmt))
            except ValueError:
                continue
        return None
    if isinstance(value, (int, float, Decimal)):  # Decimal: what ijson gives for numbers with a fraction
        try:
            number = float(value)
            if not math.isfinite(number):
                return None
            seconds = number / 1000 if unit == "ms" or (unit == "auto" and abs(number) >= _MS_FROM) else number
            return _write(datetime.fromtimestamp(seconds, tz=timezone.utc))
        except (OverflowError, OSError, ValueError):
            return None
    return None


def epoch_seconds(iso: str | None) -> float | None:
    """Seconds since the epoch of an ISO string from ``iso_time`` (naive times read as UTC)."""
    if iso is None:
        return None
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _write(dt: datetime) -> str:
    spec = "milliseconds" if dt.microsecond else "seconds"
    out = dt.isoformat(timespec=spec)
    return out[:-6] + "Z" if out.endswith("+00:00") else out


# Locale codes platforms write ("nb-NO", "sv_SE", "da", "en-GB") to the pipeline's languages.
# "no" is written for Norwegian by systems that do not tell the written standards apart; bokmål
# is what nearly all such text is.
_LANG_ALIASES = {"no": "nb", "nob": "nb", "nno": "nn", "dan": "da", "swe": "sv", "eng": "en"}


def language_code(value: Any) -> str | None:
    """One of the pipeline's languages for a locale code, or None (the language step decides)."""
    if not isinstance(value, str):
        return None
    head = re.split(r"[-_]", value.strip().casefold(), maxsplit=1)[0]
    head = _LANG_ALIASES.get(head, head)
    return head if head in LANGUAGES else None
