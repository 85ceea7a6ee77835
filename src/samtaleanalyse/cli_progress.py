"""Progress of a long `score` run: a bar with counts, rate and time left on a terminal, log lines elsewhere.

Time left comes from how much of the input's bytes have been read (the only total known before a
streamed batch ends); counts come from the batch's events.
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import Iterable

from .ingest import ReadOptions
from .ingest.reader import ReadProgress, input_size

LOG_EVERY_SECONDS = 30.0


class ProgressReporter:
    def __init__(self, paths: Iterable[str | Path], options: ReadOptions, *, enabled: bool = True,
                 stream=None) -> None:  # type: ignore[no-untyped-def]
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.reading = ReadProgress(total_bytes=input_size(paths, options) if enabled else 0)
        self.counts: Counter[str] = Counter()
        self._started = time.monotonic()
        self._last_log = self._started
        self._bar = None
        self._task = None

    def __enter__(self) -> "ProgressReporter":
        if self.enabled and self.stream.isatty():
            from rich.console import Console
            from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self._bar = Progress(TextColumn("scoring"), BarColumn(), TaskProgressColumn(),
                                 TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), TextColumn("left"),
                                 TimeRemainingColumn(), console=Console(file=self.stream), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("scoring", total=max(self.reading.total_bytes, 1), counts="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def _text(self) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = self.counts["scored"] / elapsed
        parts = [f"{self.counts['scored']} scored ({rate:.1f}/s)"]
        for key, word in (("skipped", "skipped"), ("error", "failed")):
            if self.counts[key]:
                parts.append(f"{self.counts[key]} {word}")
        return ", ".join(parts)

    def event(self, kind: str, n: int) -> None:
        if not self.enabled:
            return
        self.counts[kind] += n
        now = time.monotonic()
        if self._bar is not None:
            self._bar.update(self._task, completed=self.reading.position, counts=self._text())  # type: ignore[arg-type]
        elif now - self._last_log >= LOG_EVERY_SECONDS:
            self._last_log = now
            done = self.reading.position
            share = done / self.reading.total_bytes if self.reading.total_bytes else 0.0
            left = (now - self._started) * (1 - share) / share if share > 0.001 else None
            left_text = f", about {left / 60:.0f} min left" if left is not None else ""
            print(f"{time.strftime('%H:%M:%S')} {self._text()}, {share:.0%} of the input read{left_text}",
                  file=self.stream, flush=True)
