"""Bytes of an export to numbered lines of text, line by line, so that æøåäö survive and memory stays flat.

Older Nordic systems export Windows-1252 or Latin-1; newer ones UTF-8 (sometimes with a BOM) or UTF-16
(Excel's "Unicode text"). A byte-order mark decides for the whole file. Without one, each line is decided
on its own: valid UTF-8 is read as UTF-8, anything else as Windows-1252. A file whose first 64 KiB show
UTF-8 text is a UTF-8 file, and a line in it that is not valid UTF-8 is reported (a warning naming the line
and the byte) rather than turning every other line into mojibake. Lines over the line limit are skipped
without being held in memory and reported.
"""
from __future__ import annotations

import codecs
import io
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from ..errors import E_BINARY, E_DECODE, E_EMPTY_FILE, E_TOO_LARGE, InputError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
SAMPLE_BYTES = 1 << 16
_SKIP_CHUNK = 1 << 20


@dataclass(frozen=True)
class Line:
    number: int           # 1-based, as an editor shows it
    text: str | None      # without its line end; None when the line was over the limit (not read)
    size: int             # bytes in the file
    note: str | None = None  # a decoding problem on this line, for a warning


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample[:8192] if b < 32 and b not in (9, 10, 13, 12))
    return controls > max(4, min(len(sample), 8192) // 50)


class TextSource:
    """Numbered, decoded lines of one binary file (or standard input)."""

    def __init__(self, fh: BinaryIO, file: str, max_line_bytes: int) -> None:
        self.file = file
        self.max_line_bytes = max_line_bytes
        self._fh = fh if hasattr(fh, "peek") else io.BufferedReader(fh)  # type: ignore[arg-type]
        head = self._fh.peek(SAMPLE_BYTES)[:SAMPLE_BYTES]  # type: ignore[attr-defined]
        self.bom_encoding: str | None = None
        for bom, name in _BOMS:
            if head.startswith(bom):
                self._fh.read(len(bom))
                self.bom_encoding = name
                break
        if self.bom_encoding is None:
            if not head.strip():
                raise InputError("the file is empty.", file=file, code=E_EMPTY_FILE)
            if _looks_binary(head):
                raise InputError(
                    "the file looks binary (NUL or control bytes), not a text transcript.", file=file, code=E_BINARY,
                    hint="export the transcript as JSON, JSONL, CSV, TXT, VTT or SRT; UTF-16 needs a byte-order mark.")
        self.encoding = self.bom_encoding or _guess(head)
        self.notes: dict[int, str] = {}
        self.sample = head

    def lines(self) -> Iterator[Line]:
        if self.bom_encoding is not None and self.bom_encoding != "utf-8":
            yield from self._wide_lines()
            return
        number = 0
        while True:
            raw = self._fh.readline(self.max_line_bytes + 1)
            if not raw:
                return
            number += 1
            if len(raw) > self.max_line_bytes and not raw.endswith(b"\n"):
                yield Line(number, None, len(raw) + self._skip_rest())
                continue
            body = raw.rstrip(b"\n").rstrip(b"\r")
            parts = body.split(b"\r") if b"\r" in body else [body]  # classic Mac line ends
            for pos, part in enumerate(parts):
                if pos:
                    number += 1
                text, note = self._decode(part, number)
                if note:
                    self.notes[number] = note
                yield Line(number, _normal(text), len(part), note)

    def _skip_rest(self) -> int:
        skipped = 0
        while True:
            chunk = self._fh.readline(_SKIP_CHUNK)
            skipped += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                return skipped

    def _decode(self, data: bytes, number: int) -> tuple[str, str | None]:
        if self.bom_encoding == "utf-8":
            try:
                return data.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                raise InputError(f"line {number} is not UTF-8, although the file starts with a UTF-8 byte-order mark "
                                 f"(byte 0x{data[exc.start]:02X} at column {exc.start + 1}).", file=self.file,
                                 line=number, code=E_DECODE) from None
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            text = _legacy(data)
            if self.encoding == "utf-8":
                return text, (f"line {number} is not valid UTF-8 (byte 0x{data[exc.start]:02X} at column "
                              f"{exc.start + 1}); read as Windows-1252")
            return text, None

    def _wide_lines(self) -> Iterator[Line]:
        text = io.TextIOWrapper(self._fh, encoding=self.bom_encoding, errors="strict", newline=None)
        limit = self.max_line_bytes // 2
        number = 0
        while True:
            try:
                raw = text.readline(limit + 1)
                if not raw:
                    return
                number += 1
                if len(raw) > limit and not raw.endswith("\n"):
                    size = len(raw)
                    while (chunk := text.readline(_SKIP_CHUNK)) and not chunk.endswith("\n"):
                        size += len(chunk)
                    yield Line(number, None, 2 * (size + len(chunk)))
                    continue
            except UnicodeDecodeError:
                raise InputError(f"the file claims {self.bom_encoding} by its byte-order mark but line {number} does "
                                 "not decode as it.", file=self.file, line=number, code=E_DECODE) from None
            yield Line(number, _normal(raw.rstrip("\n")), 2 * len(raw))

    def read_text(self) -> str:
        """The whole file as one string ("\\n" line ends), for formats read whole; over-long lines are errors."""
        out: list[str] = []
        for line in self.lines():
            if line.text is None:
                raise InputError(f"line {line.number} is {line.size:,} bytes, over the limit of "
                                 f"{self.max_line_bytes:,}.", file=self.file, line=line.number, code=E_TOO_LARGE,
                                 hint="check that the export has line breaks.")
            out.append(line.text)
        text = "\n".join(out)
        if not text.strip():
            raise InputError("the file is empty.", file=self.file, code=E_EMPTY_FILE)
        return text


def _guess(head: bytes) -> str:
    """UTF-8 when the sample's non-ASCII lines include valid UTF-8 (or there are none); else Windows-1252."""
    cut = head.rfind(b"\n")
    sample = head if cut < 0 or len(head) < SAMPLE_BYTES else head[:cut]
    saw_legacy = False
    for line in sample.split(b"\n"):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError as exc:
            if exc.start >= len(line) - 3 and len(line) >= SAMPLE_BYTES // 2:
                continue  # a multi-byte character cut by the sample's end
            saw_legacy = True
    return "cp1252" if saw_legacy else "utf-8"


def _legacy(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        # Bytes undefined in Windows-1252 (0x81, 0x8D, ...) mean Latin-1.
        return data.decode("latin-1")


def _normal(text: str) -> str:
    # Mac exports write å as a + ring; NFC makes one character of it again.
    return text if text.isascii() else unicodedata.normalize("NFC", text)
