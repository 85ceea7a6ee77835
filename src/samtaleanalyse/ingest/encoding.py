"""Turning the bytes of an export into text so that æøåäö survive.

Older Nordic systems export Windows-1252 or Latin-1; newer ones UTF-8 (sometimes with a
BOM) or UTF-16 (Excel's "Unicode text"). We decide by BOM first, then strict UTF-8, then
Windows-1252, and refuse files that look binary rather than guess at garbage.
"""
from __future__ import annotations

import codecs
import unicodedata

from ..errors import E_BINARY, E_DECODE, E_EMPTY_FILE, InputError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13, 12))
    return controls > max(4, len(sample) // 50)


def decode_bytes(data: bytes, file: str) -> tuple[str, str]:
    """Return ``(text, encoding)``; newlines normalised to ``\\n`` and text to NFC."""
    if not data.strip():
        raise InputError("the file is empty.", file=file, code=E_EMPTY_FILE)
    encoding = None
    for bom, name in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom):], name
            break
    if encoding is None:
        if _looks_binary(data):
            raise InputError(
                "the file looks binary (NUL or control bytes), not a text transcript.",
                file=file, code=E_BINARY,
                hint="export the transcript as JSON, JSONL, CSV, TXT, VTT or SRT; UTF-16 needs a byte-order mark.",
            )
        try:
            data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "cp1252":
            raise InputError(f"the file claims {encoding} by its byte-order mark but does not decode as it.",
                             file=file, code=E_DECODE) from None
        # Bytes undefined in Windows-1252 (0x81, 0x8D, ...) mean Latin-1.
        text, encoding = data.decode("latin-1"), "latin-1"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Mac exports write å as a + ring; NFC makes one character of it again.
    text = unicodedata.normalize("NFC", text)
    if not text.strip():
        raise InputError("the file is empty.", file=file, code=E_EMPTY_FILE)
    return text, encoding
