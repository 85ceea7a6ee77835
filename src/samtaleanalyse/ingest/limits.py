"""Every bound on what one input may cost, in one place, checked before the work it guards.

Exports come from systems nobody here controls, and an unattended nightly batch must survive a
200 MB turn, a million-column header or a conversation of 100,000 turns. Each limit is checked at the
earliest point where it can be: file sizes before a file is opened for reading, line sizes before a line
is decoded or parsed, turn counts and lengths before whitespace is collapsed, and metadata before it is
copied. A breach costs only the input it concerns and becomes a coded error (or, for metadata, a warning
that names the field dropped).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import ConfigError

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    # Formats read as a stream (JSONL, CSV, JSON lists): memory does not grow with the file.
    max_file_bytes: int = 1024 * MiB
    # Formats read whole (one JSON object, TXT, VTT, SRT): the whole text is held at once.
    max_document_bytes: int = 32 * MiB
    # One JSONL line or CSV record: one conversation at most.
    max_line_bytes: int = 16 * MiB
    max_turns: int = 2000
    max_turn_chars: int = 5000
    max_id_chars: int = 256
    # Metadata: a longer value or more fields are dropped with a warning naming them.
    max_meta_chars: int = 2000
    max_meta_fields: int = 64
    # JSON nesting; a canonical conversation needs 3 levels, platform exports about 8.
    max_json_depth: int = 64

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"limit {f.name} must be a positive whole number, not {value!r}.")


DEFAULT_LIMITS = Limits()


def json_depth_exceeds(value: object, limit: int) -> bool:
    """True when ``value`` nests deeper than ``limit`` (iterative: a hostile depth cannot overflow the stack)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in item)
    return False
