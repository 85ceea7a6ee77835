"""Readers for the JSON exports of contact-centre platforms (Zendesk, Genesys, Intercom, ...).

Each platform is a pure function from one parsed JSON object to conversations; the streaming JSON reader
(``ingest.jsonstream``) finds the objects and hands them here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from ...conversation import Conversation
from ...errors import InputError
from ..build import ReadOptions


@dataclass(frozen=True)
class Place:
    """Where a record came from, for errors and ``source``."""

    file: str
    line: int | None = None
    record: str | int | None = None


@dataclass(frozen=True)
class Platform:
    name: str
    matches: Callable[[Mapping[str, Any]], bool]
    read: Callable[[Mapping[str, Any], Place, ReadOptions], Iterator[Conversation | InputError]]
    list_keys: tuple[str, ...] = ()
    description: str = ""


PLATFORMS: tuple[Platform, ...] = ()


def match_platform(obj: Mapping[str, Any]) -> Platform | None:
    return next((p for p in PLATFORMS if p.matches(obj)), None)
