"""Loading and checking guidance entries, with team overrides."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..conversation import LANGUAGES
from ..errors import ConfigError

ENTRIES_DIR = Path(__file__).parent / "entries"
SEEDS_FILE = Path(__file__).parent / "seeds.toml"


@dataclass(frozen=True)
class SeedDocument:
    """One of the guidance documents in ../shared/seeds/, with a title a reader recognises."""

    file: str
    language: str
    kind: str
    original: str                  # the document's own title, in its own language
    title: Mapping[str, str]       # feedback language -> title

    def title_in(self, language: str) -> str:
        return self.title.get(language) or self.title["en"]


def _load_seeds() -> dict[str, SeedDocument]:
    data = tomllib.loads(SEEDS_FILE.read_text(encoding="utf-8"))
    seeds = {name: SeedDocument(name, v["language"], v["kind"], v["original"], dict(v["title"]))
             for name, v in data.items()}
    for seed in seeds.values():
        missing = [l for l in LANGUAGES if not seed.title.get(l)]
        if missing:
            raise ConfigError(f"{SEEDS_FILE} gives seed {seed.file} no title in {', '.join(missing)}.")
    return seeds


# The five guidance documents the coaching is grounded in (file name -> document).
SEEDS: Mapping[str, SeedDocument] = _load_seeds()
SEED_FILES: Mapping[str, str] = {s.file: f"{s.original} ({s.language}, {s.kind})" for s in SEEDS.values()}


def seed_title(source: str, language: str) -> str:
    """A seed document's title in ``language``; an unknown file name is returned as it is."""
    seed = SEEDS.get(source)
    return seed.title_in(language) if seed else source


@dataclass(frozen=True)
class GuidanceEntry:
    id: str
    source: str
    section: str                   # the seed's own heading, kept for the citation
    topics: tuple[str, ...]
    title: Mapping[str, str]
    text: Mapping[str, str]
    origin: str  # the file it was read from
    # The section as readers see it, per language: translated, and respectful where the seed's
    # heading is not. Optional for a team's own entries, whose `section` is shown instead.
    section_title: Mapping[str, str] = field(default_factory=dict)

    def in_language(self, language: str) -> tuple[str, str]:
        """(title, text) in ``language``, falling back to English."""
        lang = language if language in self.text else "en"
        return self.title[lang], self.text[lang]

    def section_in(self, language: str) -> str:
        """The section heading to show a reader of ``language``."""
        return self.section_title.get(language) or self.section_title.get("en") or self.section


def _parse(data: Mapping[str, Any], origin: str, base: GuidanceEntry | None) -> GuidanceEntry:
    def need(key: str) -> Any:
        if key in data:
            return data[key]
        if base is not None:
            return getattr(base, key)
        raise ConfigError(f"guidance entry {origin} has no {key!r}.")

    title = {**(dict(base.title) if base else {}), **data.get("title", {})}
    text = {**(dict(base.text) if base else {}), **data.get("text", {})}
    # An override that cites another section without titling it must not keep the old section's titles.
    keep_titles = base is not None and "section" not in data
    section_title = {**(dict(base.section_title) if keep_titles else {}), **data.get("section_title", {})}
    entry = GuidanceEntry(id=str(need("id")), source=str(need("source")), section=str(need("section")),
                          topics=tuple(need("topics")), title=title, text=text, origin=origin,
                          section_title=section_title)
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
