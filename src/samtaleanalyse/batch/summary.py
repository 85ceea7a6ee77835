"""What a batch run did, counted: the numbers of ``summary.json`` and of the command's last lines."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

# Exit statuses of `samtaleanalyse score` (documented in the README).
EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_NOTHING_READ = 3
EXIT_INTERNAL = 4


@dataclass
class BatchSummary:
    # This run
    read: int = 0                  # conversations read from the inputs
    scored: int = 0                # scored in this run
    already_scored: int = 0        # in the output folder from an earlier run, skipped
    duplicates: int = 0            # the same id and content met again, scored once
    errors: int = 0
    internal_errors: int = 0
    warnings: int = 0
    wall_seconds: float = 0.0
    error_codes: Counter[str] = field(default_factory=Counter)
    # The whole output folder (every conversation of its ledger)
    conversations: int = 0
    uncertain_turns: int = 0
    scores: list[int] = field(default_factory=list)
    findings: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    settings: Mapping[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    stored: int | None = None      # results added to the store (None: no store)

    @property
    def exit_status(self) -> int:
        if self.internal_errors:
            return EXIT_INTERNAL
        if self.conversations == 0:
            return EXIT_NOTHING_READ
        return EXIT_SOME_FAILED if self.errors else EXIT_OK

    @property
    def rate(self) -> float | None:
        return round(self.scored / self.wall_seconds, 2) if self.wall_seconds > 0 else None

    def add_record(self, record: Mapping[str, Any]) -> None:
        """Count one line of the ledger."""
        self.conversations += 1
        turns = record.get("turns") or []
        self.uncertain_turns += sum(1 for t in turns if t.get("uncertain"))
        if isinstance(record.get("score"), int):
            self.scores.append(record["score"])
        self.findings.update(f.get("code", "?") for f in record.get("findings") or [])
        self.languages[record.get("language") or "unknown"] += 1
        self.channels[record.get("channel") or "unknown"] += 1

    def to_dict(self) -> dict[str, object]:
        return {
            "conversations": self.conversations, "read": self.read, "scored": self.scored,
            "already_scored": self.already_scored, "duplicates": self.duplicates, "errors": self.errors,
            "internal_errors": self.internal_errors, "warnings": self.warnings,
            "wall_seconds": round(self.wall_seconds, 2), "conversations_per_second": self.rate,
            "uncertain_turns": self.uncertain_turns, "coached": len(self.scores),
            "mean_score": round(sum(self.scores) / len(self.scores), 1) if self.scores else None,
            "findings": dict(sorted(self.findings.items())),
            "languages": dict(sorted(self.languages.items())), "channels": dict(sorted(self.channels.items())),
            "error_codes": dict(sorted(self.error_codes.items())), "settings": dict(self.settings),
            "stored": self.stored, "interrupted": self.interrupted, "exit_status": self.exit_status,
        }
