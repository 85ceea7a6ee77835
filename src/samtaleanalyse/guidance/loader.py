"""Loading and checking guidance entries, with team overrides."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..conversation import LANGUAGES
from ..errors import ConfigError

ENTRIES_DIR = Path(__file__).parent / "entries"

# The five guidance documents in ../shared/seeds/ the coaching is grounded in.
SEED_FILES: Mapping[str, str] = {
    "000_90ca2f873017bc32.txt": "Forståelse og håndtering av kundeholdninger (nb, training module)",
    "001_cdcbb1fedeaa4bd5.txt": "Service: medarbetare, ledarskap, mätning, klagomålshantering (sv, article)",
    "002_c8ab33c82f834543.txt": "Konflikthåndtering i kundeservice (da, podcast summary)",
    "003_ee0a0b0871c23396.txt": "Kundefokus i kulturen i fem trin (da, article)",
    "004_5c6da2bf7e2077c4.txt": "Opplæring i beste praksis for kundeservice (nb, article)",
}


@dataclass(frozen=True)
class GuidanceEntry:
    id: str
    source: str
    section: str
    topics: tuple[str, ...]
    title: Mapping[str, str]
    text: Mapping[str, str]
    origin: str  # the file it was read from

    def in_language(self, language: str) -> tuple[str, str]:
        """(title, text) in ``language``, falling back to English."""
        lang = language if language in self.text else "en"
        return self.title[lang], self.text[lang]


def _parse(data: Mapping[str, Any], origin: str, base: GuidanceEntry | None) -> GuidanceEntry:
    def need(key: str) -> Any:
        if key in data:
            return data[key]
        if base is not None:
            return getattr(base, key)
        raise ConfigError(f"guidance entry {origin} has no {key!r}.")

    title = {**(dict(base.title) if base else {}), **data.get("title", {})}
    text = {**(dict(base.text) if base else {}), **data.get("text", {})}
    entry = GuidanceEntry(id=str(need("id")), source=str(need("source")), section=str(need("section")),
                          topics=tuple(need("topics")), title=title, text=text, origin=origin)
    if entry.source not in SEED_FILES:
        raise ConfigError(f"guidance entry {entry.id} ({origin}) cites {entry.source!r}, which is not a seed document.",
                          hint=f"use one of {', '.join(SEED_FILES)}.")
    missing = [l for l in LANGUAGES if not entry.title.get(l) or not entry.text.get(l)]
    if missing:
        raise ConfigError(f"guidance entry {entry.id} ({origin}) lacks title or text in {', '.join(missing)}.")
    return entry


def _read_dir(folder: Path, known: dict[str, GuidanceEntry]) -> dict[str, GuidanceEntry]:
    out = dict(known)
    for path in sorted(folder.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"guidance file {path} is not valid TOML: {exc}.") from None
        entry_id = data.get("id")
        out[str(entry_id)] = _parse(data, str(path), out.get(str(entry_id)))
    return out


def load_guidance(*override_dirs: str | Path) -> dict[str, GuidanceEntry]:
    """The package's entries, then each override folder in turn (an entry with a known id replaces
    the fields it sets; a new id adds an entry)."""
    entries = _read_dir(ENTRIES_DIR, {})
    for d in override_dirs:
        folder = Path(d)
        if not folder.is_dir():
            raise ConfigError(f"guidance folder {folder} does not exist.")
        entries = _read_dir(folder, entries)
    return entries
