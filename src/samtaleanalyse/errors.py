"""One exception tree for the package.

Every error carries a stable code (so QA teams can count and grep them), says what was
wrong, where (file, line or record) and, where we know it, how to fix it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    """A model folder is missing, of the wrong format or incompatible."""

    code = "E200"


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
        self.file = file
        self.line = line
        self.record = record
        if code is not None:
            self.code = code
        super().__init__(message, hint=hint)

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
