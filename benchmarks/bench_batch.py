"""Realistic batches for the benchmarks: the annotated corpus's test split, every copy perturbed.

A copy gets other names (one per copy, in place of every known first name), other digits (order, phone and
case numbers), and light word-order changes (a sentence moved to the end, two neighbouring words swapped),
so that no copy is the text of another and an exact-text cache gains only what a real batch would give it
(the agents' stock phrases).

Within a batch, a copy of a turn of four words or more never repeats an earlier copy of the same turn: with
only names, digits and an occasional change, 47 % of the turn texts of 900 copies had been seen before, and a
cache would have timed itself. Turns of the test split that repeat each other (one conversation's stock
phrase in another) and short turns ("Takk!") may repeat, as they do in a real batch.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "annotated" / "conversations"
# First names that occur in the test split, and those put in their place.
NAMES = ["Kari", "Ola", "Ingrid", "Lars", "Mette", "Jonas", "Sara", "Erik", "Aisha", "Mohammed", "Li", "Tom",
         "Birthe", "Anders", "Fatima", "Nils", "Daniel", "Sanne", "Priya", "Peter", "Kristian", "Maja", "Cecilia",
         "Patrik", "Gunnhild", "Vegard", "Hanne", "Rasmus", "Emil", "Sofia", "Magnus", "Rune", "Hilde", "Atle",
         "Selma", "Nadia", "Kasia", "Eirik", "Espen", "Linn", "Megan", "Nanna"]
_NAME = re.compile(r"\b(" + "|".join(NAMES) + r")\b")


def test_split(corpus: Path = CORPUS) -> list[dict]:
    """The test split's conversations, as the corpus files hold them (split set by `samtaleanalyse data split`)."""
    convs = []
    for path in sorted(corpus.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                if rec.get("split") == "test":
                    convs.append(rec)
    return convs


def perturb_text(text: str, name: str, rng: random.Random) -> str:
    text = _NAME.sub(name, text)
    text = "".join(str(rng.randrange(10)) if ch.isdigit() else ch for ch in text)
    if rng.random() < 0.15 and ". " in text:
        head, _, tail = text.partition(". ")
        text = f"{tail} {head}." if tail else text
    words = text.split(" ")
    if rng.random() < 0.3 and len(words) > 4:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
        text = " ".join(words)
    return text


# A turn this long or longer is not a stock phrase: its copies differ (module note).
DISTINCT_WORDS = 4
_TRIES = 20


def _distinct(text: str, key: tuple[str, int], seen: set[tuple[str, int, str]], rng: random.Random) -> str:
    """``text``, or it with neighbouring words swapped until no earlier copy of turn ``key`` had it."""
    words = text.split(" ")
    if len(words) < DISTINCT_WORDS:
        return text
    for _ in range(_TRIES):
        if (*key, text) not in seen:
            break
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
        text = " ".join(words)
    return text


def perturb(rec: dict, n: int, rng: random.Random, *, labels: bool = False, max_turns: int | None = None,
            seen: set[tuple[str, int, str]] | None = None) -> dict:
    """A unique copy: another id, names, numbers, word order, agent and team; labels dropped unless asked.
    ``seen`` (kept by the caller over one batch): the texts earlier copies gave each turn, which this copy's
    turns of ``DISTINCT_WORDS`` or more words do not repeat."""
    name = rng.choice(NAMES)
    turns = []
    for k, t in enumerate(rec["turns"][:max_turns]):
        text = perturb_text(t["text"], name, rng)
        if seen is not None:
            key = (str(rec.get("id")), k)
            text = _distinct(text, key, seen, rng)
            seen.add((*key, text))
        turn = {"speaker": t["speaker"], "text": text}
        if labels:
            turn.update({k: t[k] for k in ("attitude", "behaviours") if k in t})
        turns.append(turn)
    return {"id": f"{rec['id']}-{n:06d}", "channel": rec.get("channel"), "agent_id": f"A{rng.randrange(40):03d}",
            "team": f"Team {rng.choice('ABCDEFG')}", "started_at": f"2026-11-{1 + n % 28:02d}T09:00:00Z",
            "turns": turns}


def batch(size: int, seed: int = 7, source: list[dict] | None = None) -> list[dict]:
    """``size`` perturbed copies, cycling through the test split."""
    rng = random.Random(seed)
    source = source if source is not None else test_split()
    seen: set[tuple[str, int, str]] = set()
    return [perturb(source[n % len(source)], n, rng, seen=seen) for n in range(size)]


def write_jsonl(records: list[dict], folder: Path, per_file: int = 1000) -> int:
    """Write ``records`` as JSONL files of ``per_file`` lines; returns the number of turns."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(0, len(records), per_file):
        lines = [json.dumps(r, ensure_ascii=False) for r in records[f:f + per_file]]
        (folder / f"batch_{f // per_file:04d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sum(len(r["turns"]) for r in records)
