"""Numbers read out in words or digit by digit in call transcripts ("null ni åtte syv seks fem fire tre",
"nul otte syv", "zero eight seven", "ni ni 12 34 fem seks"): a run of at least six digits, at least two of
them words, is a number to redact, whatever it is, unless a context word calls it an order or case number
(``api.find_pii`` asks the context)."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .patterns import phrase_pattern
from .spans import Candidate

MIN_DIGITS = 6
_TOKEN = re.compile(r"[^\W_]+")
# What may stand between two tokens of one number: spaces, a comma, a dash.
_GAP = re.compile(r"[ \t,\-–]{1,4}")
_SOFT = frozenset(("oh",))  # "oh" is also an interjection: it counts only between other digits


@dataclass(frozen=True)
class _Words:
    units: frozenset[str]
    two_digit: frozenset[str]
    tens: frozenset[str]
    repeats: dict[str, int]


@cache
def _words() -> _Words:
    data = tomllib.loads(resources.files(__package__).joinpath("spoken_numbers.toml").read_text(encoding="utf-8"))
    units: set[str] = set()
    two: set[str] = set()
    tens: set[str] = set()
    repeats: dict[str, int] = {}
    for table in data.values():
        u = [w.casefold() for w in table["units"]]
        t = [w.casefold() for w in table["tens"]]
        units.update(u)
        tens.update(t)
        two.update(w.casefold() for w in table["teens"])
        two.update(t)
        nonzero = u[1:]
        if table["compound"] == "tens+units":
            two.update(a + b for a in t for b in nonzero)
        elif table["compound"] == "units+og+tens":
            two.update(b + "og" + a for a in t for b in nonzero)
        else:
            raise ValueError(f"spoken_numbers.toml: unknown compound {table['compound']!r}")
        repeats.update({k.casefold(): v for k, v in table.get("repeats", {}).items()})
    return _Words(frozenset(units), frozenset(two), frozenset(tens), repeats)


@cache
def _run_pattern() -> re.Pattern[str]:
    words = _words()
    token = rf"(?:{phrase_pattern(words.units | words.two_digit | words.repeats.keys())}|\d{{1,4}})(?!\w)"
    return re.compile(rf"(?<!\w){token}(?:{_GAP.pattern}{token})+", re.IGNORECASE)


def find_spoken_numbers(text: str) -> list[Candidate]:
    """Runs of number words; the caller drops those a context word calls an order or case number."""
    words = _words()
    found: list[Candidate] = []
    # One regular expression finds the runs of number words and small digit groups; Python reads only those.
    for m in _run_pattern().finditer(text):
        run = []
        for tok in _TOKEN.finditer(text, m.start(), m.end()):
            low = tok.group(0).casefold()
            kind = ("d" if low.isdigit() else "u" if low in words.units else "t" if low in words.two_digit
                    else "r")
            run.append((tok.start(), tok.end(), kind))
        _close(text, run, words, found)
    return found


def _soft_start(text: str, run: list[tuple[int, int, str]]) -> bool:
    """A leading "oh" is a zero only when written in lower case straight before another digit ("oh seven"),
    not as "Oh, one more thing"."""
    s, e, _ = run[0]
    word = text[s:e]
    if word.casefold() not in _SOFT:
        return False
    return not (word.islower() and len(run) > 1 and text[e:run[1][0]].isspace())


def _close(text: str, run: list[tuple[int, int, str]], words: _Words, found: list[Candidate]) -> None:
    while run and (run[0][2] == "r" or _soft_start(text, run)):
        run = run[1:]
    while run and (text[run[-1][0]:run[-1][1]].casefold() in _SOFT or run[-1][2] == "r"):
        run = run[:-1]
    if sum(1 for *_, k in run if k != "d") < 2:
        return
    count = 0
    for i, (s, e, k) in enumerate(run):
        low = text[s:e].casefold()
        nxt = run[i + 1] if i + 1 < len(run) else None
        if k == "d":
            count += e - s
        elif k == "u":
            count += 1
        elif k == "r":
            count += words.repeats[low] - 1  # "double five": the five counts itself
        elif low in words.tens and nxt is not None and nxt[2] == "u":
            count += 1  # "twenty three" is two digits, not three
        else:
            count += 2
    if count < MIN_DIGITS:
        return
    found.append(Candidate(run[0][0], run[-1][1], "spoken_number"))
