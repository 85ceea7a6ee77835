"""Guidance the coaching points to: entries in the project's own words, citing the seed documents.

The entries are data (``entries/*.toml``); a QA team adds or overrides entries with a folder of
its own TOML files (same format, same ids to override), without touching the package.
"""
from .loader import SEED_FILES, SEEDS, GuidanceEntry, SeedDocument, load_guidance, seed_title

__all__ = ["SEED_FILES", "SEEDS", "GuidanceEntry", "SeedDocument", "load_guidance", "seed_title"]
