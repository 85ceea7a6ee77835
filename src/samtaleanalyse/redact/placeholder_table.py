"""The placeholder of each kind of personal data in each language (``placeholders.toml``)."""
from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from ..conversation import LANGUAGES
from ..errors import ConfigError
from .spans import KINDS


@cache
def _table() -> dict[str, dict[str, str]]:
    data = tomllib.loads(resources.files(__package__).joinpath("placeholders.toml").read_text(encoding="utf-8"))
    for kind in KINDS:
        missing = [lang for lang in LANGUAGES if lang not in data.get(kind, {})]
        if missing:
            raise ConfigError(f"placeholders.toml has no placeholder for {kind!r} in {', '.join(missing)}.")
    return data


@cache
def placeholders(language: str) -> dict[str, str]:
    """``{kind: placeholder}`` for one language."""
    check_language(language)
    return {kind: _table()[kind][language] for kind in KINDS}


def check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ConfigError(f"unknown language {language!r} for redaction.", hint=f"use one of {', '.join(LANGUAGES)}.")
