"""Feedback wording per language (texts/<lang>.toml): what happened and what to try, for each finding."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError

TEXTS_DIR = Path(__file__).parent / "texts"
FALLBACK = "en"


@dataclass(frozen=True)
class FindingText:
    title: str
    message: str        # placeholders {turn} and {quote}
    suggestion: str
    # Wordings for a finding's variants ([findings.<code>.<variant>]), e.g. blame_shifting's "customer".
    variants: Mapping[str, "FindingText"] = field(default_factory=dict, hash=False)

    def variant(self, name: str | None) -> "FindingText":
        """The wording of variant ``name``; this one where it has none."""
        return self.variants.get(name, self) if name else self


def _finding_text(values: Mapping[str, Any]) -> FindingText:
    plain = {k: v for k, v in values.items() if not isinstance(v, Mapping)}
    variants = {k: FindingText(**v) for k, v in values.items() if isinstance(v, Mapping)}
    return FindingText(**plain, variants=variants)


@dataclass(frozen=True)
class Texts:
    language: str
    attitudes: Mapping[str, str]
    trajectory: Mapping[str, str]
    labels: Mapping[str, str]
    summary: Mapping[str, str]
    severity: Mapping[str, str]
    findings: Mapping[str, FindingText]
    behaviours: Mapping[str, str]
    format: Mapping[str, str]          # decimal sign, percent pattern
    score: Mapping[str, str]           # the score's breakdown in words

    def finding(self, code: str, variant: str | None = None) -> FindingText:
        if code not in self.findings:
            raise ConfigError(f"feedback texts for {self.language!r} have no entry for finding {code!r}.",
                              hint=f"add [findings.{code}] with title, message and suggestion to texts/{self.language}.toml.")
        return self.findings[code].variant(variant)

    def attitude(self, label: str | None) -> str:
        return self.attitudes.get(label or "unknown", self.attitudes.get("unknown", "?"))

    def behaviour(self, label: str) -> str:
        return self.behaviours.get(label, label)

    def number(self, value: float) -> str:
        """``value`` as this language writes it: 7.5 -> "7,5" in the Nordic languages."""
        return f"{value:g}".replace(".", self.format["decimal"])

    def signed(self, value: float) -> str:
        """Points taken off or won back: "−15", "+5" (a real minus sign, which reads better than a hyphen)."""
        return ("+" if value >= 0 else "\u2212") + self.number(abs(value))

    def percent(self, share: float) -> str:
        return self.format["percent"].format(value=self.number(round(share * 100)))


def _parse(data: Mapping[str, Any], origin: str) -> Texts:
    try:
        findings = {code: _finding_text(values) for code, values in data["findings"].items()}
        return Texts(language=data["language"], attitudes=data["attitudes"], trajectory=data["trajectory"],
                     labels=data["labels"], summary=data["summary"], severity=data["severity"],
                     findings=findings, behaviours=data["behaviours"], format=data["format"], score=data["score"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"feedback texts {origin} are incomplete or malformed ({exc}).",
                          hint="compare with texts/en.toml: every section and key must be there.") from None


def available_languages() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in TEXTS_DIR.glob("*.toml")))


@lru_cache(maxsize=None)
def load_texts(language: str) -> Texts:
    """The texts of ``language``; English where a language has no file."""
    path = TEXTS_DIR / f"{language}.toml"
    if not path.exists():
        path = TEXTS_DIR / f"{FALLBACK}.toml"
    return _parse(tomllib.loads(path.read_text(encoding="utf-8")), str(path))
