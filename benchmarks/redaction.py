"""Precision, recall and F1 of redaction per kind and per language, and its speed.

Run:  PYTHONPATH=src .venv/bin/python benchmarks/redaction.py [FILE] [--out benchmarks/REDACTION.md]

FILE (default benchmarks/data/redaction_eval.jsonl) holds one JSON object per line, either a text
    {"id", "language", "text", "pii": [{"kind", "text"}]}
or a conversation
    {"id", "language", "turns": [{"speaker", "role", "text"}], "pii": [{"turn", "kind", "text"}]}
where each pii "text" is the exact substring; everything not listed must stay. A listed substring counts
wherever it stands as a whole word in its text or turn (names in any case and with a possessive, "Karis").
Conversations are redacted as the package does it: names_in_conversation over all turns, then find_pii per
turn with those names.

A found span counts when it overlaps an expected substring of the same kind. False positives are split in
two: "other kind" (it overlaps personal data of another kind, which was still redacted) and "near misses
redacted" (it overlaps no personal data at all: an order number, a date, a product name...).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from samtaleanalyse.redact import KINDS, PiiSpan, find_pii, names_in_conversation

ROOT = Path(__file__).resolve().parent
DEFAULT_FILE = ROOT / "data" / "redaction_eval.jsonl"
DEFAULT_OUT = ROOT / "REDACTION.md"


@dataclass(frozen=True)
class Unit:
    """One text to redact: a text record, or one turn of a conversation."""

    record: str
    turn: int | None
    language: str
    text: str
    speaker: str
    role: str
    expected: tuple[tuple[int, int, str], ...]  # (start, end, kind)
    field: str = "text"  # "speaker": the unit is a turn's speaker label, redacted like its text


def load(path: Path) -> tuple[list[list[Unit]], list[str]]:
    """The records of the file, each as its list of texts (one for a text record, one per turn)."""
    records: list[list[Unit]] = []
    problems: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg})")
            continue
        rid = str(rec.get("id", f"line {number}"))
        language = rec.get("language") or "en"
        pii = rec.get("pii") or []
        if "turns" in rec:
            turns = rec["turns"]
            units = []
            for i, turn in enumerate(turns):
                text, label = turn.get("text", ""), turn.get("speaker", "")
                lang = turn.get("language") or language
                items = [p for p in pii if p.get("turn") == i and p.get("field", "text") == "text"]
                units.append(Unit(rid, i, lang, text, label, turn.get("role", ""),
                                  _locate(text, items, f"{rid} turn {i}", problems)))
                on_label = [p for p in pii if p.get("turn") == i and p.get("field") == "speaker"]
                if label:
                    units.append(Unit(rid, i, lang, label, label, turn.get("role", ""),
                                      _locate(label, on_label, f"{rid} turn {i} speaker", problems), field="speaker"))
            for p in pii:
                if not isinstance(p.get("turn"), int) or not 0 <= p["turn"] < len(turns):
                    problems.append(f"{rid}: pii {p!r} names no turn of the conversation")
            records.append(units)
        else:
            text = rec.get("text", "")
            records.append([Unit(rid, None, language, text, "", "", _locate(text, pii, rid, problems))])
    return records, problems


def _locate(text: str, items: list[dict], where: str, problems: list[str]) -> tuple[tuple[int, int, str], ...]:
    found: set[tuple[int, int, str]] = set()
    for item in items:
        kind, piece = item.get("kind"), item.get("text", "")
        if kind not in KINDS:
            problems.append(f"{where}: unknown kind {kind!r}")
            continue
        tail = r"(?=(?:['’]s|['’]|s)?(?!\w))" if kind == "name" else r"(?!\w)"
        flags = re.IGNORECASE if kind == "name" else 0
        spans = [m.span() for m in re.finditer(r"(?<!\w)" + re.escape(piece) + tail, text, flags)]
        if not spans:  # not a whole word: take it where it stands
            spans = [m.span() for m in re.finditer(re.escape(piece), text)] if piece else []
        if not spans:
            problems.append(f"{where}: expected {kind} not in the text")
        found.update((s, e, kind) for s, e in spans)
    return tuple(sorted(found))


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@dataclass
class Tally:
    expected: int = 0
    found_expected: int = 0  # expected spans overlapped by a span of the same kind
    redacted_any: int = 0    # expected spans overlapped by any span
    predicted: int = 0
    predicted_right: int = 0
    other_kind: int = 0
    near_miss: int = 0

    def add(self, other: "Tally") -> None:
        for k, v in vars(other).items():
            setattr(self, k, getattr(self, k) + v)

    @property
    def precision(self) -> float | None:
        return self.predicted_right / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.found_expected / self.expected if self.expected else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


def score(units: list[Unit], predictions: list[list[PiiSpan]]):
    by_kind: dict[str, Tally] = defaultdict(Tally)
    by_language: dict[str, Tally] = defaultdict(Tally)
    near_misses: list[tuple[Unit, PiiSpan]] = []
    misses: list[tuple[Unit, int, int, str, list[str]]] = []  # ..., the kinds it was redacted as instead
    for unit, spans in zip(units, predictions):
        for start, end, kind in unit.expected:
            t = Tally(expected=1)
            same = any(s.kind == kind and _overlaps((s.start, s.end), (start, end)) for s in spans)
            t.found_expected = int(same)
            t.redacted_any = int(any(_overlaps((s.start, s.end), (start, end)) for s in spans))
            if not same:
                other = [s.kind for s in spans if _overlaps((s.start, s.end), (start, end))]
                misses.append((unit, start, end, kind, other))
            by_kind[kind].add(t)
            by_language[unit.language].add(t)
        for s in spans:
            t = Tally(predicted=1)
            if any(k == s.kind and _overlaps((s.start, s.end), (a, b)) for a, b, k in unit.expected):
                t.predicted_right = 1
            elif any(_overlaps((s.start, s.end), (a, b)) for a, b, _ in unit.expected):
                t.other_kind = 1
            else:
                t.near_miss = 1
                near_misses.append((unit, s))
            by_kind[s.kind].add(t)
            by_language[unit.language].add(t)
    return by_kind, by_language, near_misses, misses


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def table(rows: dict[str, Tally], keys: list[str], head: str) -> list[str]:
    lines = [f"| {head} | expected | found | P | R | F1 | redacted at all | other kind | near misses redacted |",
             "|---|---|---|---|---|---|---|---|---|"]
    total = Tally()
    for key in keys:
        t = rows.get(key, Tally())
        total.add(t)
        lines.append(f"| {key} | {t.expected} | {t.predicted} | {_fmt(t.precision)} | {_fmt(t.recall)} | "
                     f"{_fmt(t.f1)} | {t.redacted_any}/{t.expected} | {t.other_kind} | {t.near_miss} |")
    lines.append(f"| **all** | {total.expected} | {total.predicted} | {_fmt(total.precision)} | "
                 f"{_fmt(total.recall)} | {_fmt(total.f1)} | {total.redacted_any}/{total.expected} | "
                 f"{total.other_kind} | {total.near_miss} |")
    return lines


def redact_record(units: list[Unit]) -> list[list[PiiSpan]]:
    """What the package finds in one record: a conversation's names first, then each turn with them."""
    names: frozenset[str] = frozenset()
    if units[0].turn is not None:
        names = names_in_conversation([(u.speaker, u.role, u.text) for u in units if u.field == "text"])
    return [find_pii(u.text, language=u.language, names=names) for u in units]


def speed(records: list[list[Unit]], seconds: float = 3.0) -> tuple[float, int]:
    """Texts per second over the whole file (conversations with their names), repeated for ``seconds``."""
    done = 0
    start = time.perf_counter()
    while True:
        for units in records:
            redact_record(units)
            done += len(units)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed, done


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", nargs="?", default=str(DEFAULT_FILE))
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="Markdown report to write")
    ap.add_argument("--seconds", type=float, default=3.0, help="how long to measure speed")
    args = ap.parse_args(argv)
    path = Path(args.file)
    if not path.is_file():
        print(f"no evaluation file {path}. Fix: name a JSONL file (see this script's docstring).", file=sys.stderr)
        return 2
    records, problems = load(path)
    if not records:
        print(f"{path} holds no records.", file=sys.stderr)
        return 2
    units = [u for units in records for u in units]
    predictions = [spans for units in records for spans in redact_record(units)]
    by_kind, by_language, near_misses, misses = score(units, predictions)
    per_second, measured = speed(records, args.seconds)
    languages = sorted({u.language for u in units})
    try:
        shown_path = path.resolve().relative_to(Path.cwd())
    except ValueError:
        shown_path = path.resolve()

    lines = [
        "# Redaction: precision and recall",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {machine()}",
        f"- file: `{shown_path}` ({len(records)} records, {len(units)} texts)",
        f"- command: `PYTHONPATH=src python benchmarks/redaction.py {shown_path}`",
        f"- speed: {per_second:,.0f} texts per second, one process ({measured} texts redacted)",
        "",
        "A found span counts when it overlaps an expected substring of the same kind. *redacted at all*: "
        "expected spans covered by a span of any kind. *other kind*: found spans on personal data of "
        "another kind. *near misses redacted*: found spans on text that is no personal data.",
        "",
        "## Per kind",
        "",
        *table(by_kind, list(KINDS), "kind"),
        "",
        "## Per language",
        "",
        *table(by_language, languages, "language"),
        "",
        "## Near misses redacted (false positives on text that is no personal data)",
        "",
    ]
    if near_misses:
        counts = Counter(s.kind for _, s in near_misses)
        lines.append(", ".join(f"{k}: {n}" for k, n in counts.most_common()))
        lines += ["", "| record | language | kind | redacted text |", "|---|---|---|---|"]
        for unit, s in near_misses[:40]:
            where = unit.record if unit.turn is None else f"{unit.record} turn {unit.turn}"
            lines.append(f"| {where} | {unit.language} | {s.kind} | `{s.text.replace('|', '/')}` |")
        if len(near_misses) > 40:
            lines.append(f"| … | | | {len(near_misses) - 40} more |")
    else:
        lines.append("none")
    lines += ["", "## Missed (expected, not found as its kind)", ""]
    if misses:
        lines.append(", ".join(f"{k}: {n}" for k, n in Counter(m[3] for m in misses).most_common()))
        lines += ["", "| record | language | kind | redacted as |", "|---|---|---|---|"]
        for unit, start, end, kind, other in misses[:40]:
            where = unit.record if unit.turn is None else f"{unit.record} turn {unit.turn}"
            lines.append(f"| {where} | {unit.language} | {kind} | {', '.join(other) or 'not redacted'} |")
        if len(misses) > 40:
            lines.append(f"| … | | | {len(misses) - 40} more |")
    else:
        lines.append("none")
    if problems:
        lines += ["", "## Problems in the file", "", *[f"- {p}" for p in problems[:40]]]
    report = "\n".join(lines) + "\n"
    print(report)
    Path(args.out).write_text(report, encoding="utf-8")
    print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
