"""Scoring a batch of inputs into an output folder, streaming, one conversation at a time."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .classify.predict import TurnClassifier
from .coaching import Coach
from .coaching.render import feedback_filename, render_markdown
from .conversation import Conversation
from .errors import InputError
from .ingest import ReadOptions, iter_conversations
from .pipeline import analyse

CONVERSATIONS_FILE = "conversations.jsonl"
ERRORS_FILE = "errors.jsonl"
SUMMARY_FILE = "summary.json"
FEEDBACK_DIR = "feedback"

# Exit statuses of `samtaleanalyse score` (documented in the README).
EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_NOTHING_READ = 3


@dataclass
class BatchSummary:
    conversations: int = 0
    errors: int = 0
    warnings: int = 0
    uncertain_turns: int = 0
    scores: list[int] = field(default_factory=list)
    findings: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)

    @property
    def exit_status(self) -> int:
        if self.conversations == 0:
            return EXIT_NOTHING_READ
        return EXIT_SOME_FAILED if self.errors else EXIT_OK

    def to_dict(self) -> dict[str, object]:
        return {
            "conversations": self.conversations, "errors": self.errors, "warnings": self.warnings,
            "uncertain_turns": self.uncertain_turns,
            "coached": len(self.scores),
            "mean_score": round(sum(self.scores) / len(self.scores), 1) if self.scores else None,
            "findings": dict(sorted(self.findings.items())),
            "languages": dict(self.languages), "channels": dict(self.channels),
            "error_codes": dict(self.error_codes), "exit_status": self.exit_status,
        }


def score_paths(
    paths: Iterable[str | Path], out_dir: str | Path, options: ReadOptions | None = None,
    *, classifier: TurnClassifier | None = None, coach: Coach | None = None, on_item: Callable[[str], None] | None = None,
) -> BatchSummary:
    """Read, analyse and write ``conversations.jsonl``, ``errors.jsonl`` and ``summary.json``.

    Every input that can be read is written even when others fail; each failure is one
    line of ``errors.jsonl``. With a coach, each conversation's feedback is also written as
    ``feedback/<id>.md``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = BatchSummary()
    with open(out / CONVERSATIONS_FILE, "w", encoding="utf-8") as conv_f, \
            open(out / ERRORS_FILE, "w", encoding="utf-8") as err_f:
        def readable() -> Iterator[Conversation]:
            # Errors are written as they stream past; conversations go on to be analysed.
            for item in iter_conversations(paths, options):
                if isinstance(item, InputError):
                    rec = item.to_record()
                    err_f.write(json.dumps(rec.to_dict(), ensure_ascii=False) + "\n")
                    summary.errors += 1
                    summary.error_codes[rec.code] += 1
                    if on_item:
                        on_item("error")
                else:
                    yield item

        names: Counter[str] = Counter()
        for result in analyse(readable(), classifier, coach):
            conv_f.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
            if result.coaching is not None:
                summary.scores.append(result.coaching.score.value)
                summary.findings.update(f.code for f in result.coaching.findings)
                name = feedback_filename(result.conversation.id)
                names[name] += 1
                if names[name] > 1:  # two conversations whose ids differ only in unsafe characters
                    name = name[:-3] + f"-{names[name]}.md"
                (out / FEEDBACK_DIR).mkdir(exist_ok=True)
                (out / FEEDBACK_DIR / name).write_text(render_markdown(result.conversation.id, result.coaching),
                                                       encoding="utf-8")
            summary.conversations += 1
            summary.warnings += len(result.conversation.warnings)
            summary.languages[result.conversation.language or "unknown"] += 1
            summary.channels[result.conversation.channel or "unknown"] += 1
            summary.uncertain_turns += sum(p.uncertain for p in result.predictions)
            if on_item:
                on_item("ok")
    (out / SUMMARY_FILE).write_text(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2) + "\n",
                                    encoding="utf-8")
    return summary
