"""Counterfactual swaps for the robustness check: the same conversation with other names, other company
names, nynorsk for bokmål, or the other register. Each swap changes only what it names, so any change in
the findings, the score or a turn label is the model reacting to something that should not matter.

The tables are data files in ``robustness_data/`` (names.json, companies.json, nb_nn.tsv, register.json).
Matching is by whole word; replacements keep the case of what they replace (lower-case call transcripts
stay lower-case, ``IKKE`` becomes ``IKKJE``).
"""
from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping, Sequence

from samtaleanalyse.corpus.model import LabelledConversation

DATA = Path(__file__).resolve().parent / "robustness_data"
NAME_GROUPS = ("local_male", "local_female", "immigrant_male", "immigrant_female", "unlisted")
REGISTER_DIRECTIONS = ("to_informal", "to_formal")
# Every swap type the report has a row for, in its order.
SWAP_TYPES = tuple(f"names:{g}" for g in NAME_GROUPS) + ("company", "nb_to_nn") + tuple(
    f"register:{d}" for d in REGISTER_DIRECTIONS)

_SENTENCE_END = re.compile(r"(^|[.!?:\n])\s*$")


@dataclass(frozen=True)
class Draw:
    """How a swap picks the names and company names it puts in: ``salt`` is mixed into each conversation's
    seed, and only every ``stride``-th entry of each pool, from ``offset``, is drawn from. The robustness check
    uses the default (no salt, whole pools); training augmentation (augment_swaps.py) uses its own salt and
    half of each pool, so the check is not scored on exactly the replacements the heads were shown."""

    salt: str = ""
    offset: int = 0
    stride: int = 1

    def pool(self, names: Sequence[str]) -> list[str]:
        return list(names[self.offset::self.stride]) or list(names)


EVALUATION = Draw()


def match_case(found: str, new: str) -> str:
    """``new`` written in the case of ``found``: ALL CAPS, Capitalised or as given (lower-case stays)."""
    if len(found) > 1 and found.isupper():
        return new.upper()
    if found[:1].isupper():
        return new[:1].upper() + new[1:]
    if found[:1].islower() and new[:1].isupper() and not found.isupper():
        return new[:1].lower() + new[1:]
    return new


def _word(phrase: str, fold_first: bool = False) -> str:
    """A whole-word pattern for ``phrase`` (inner spaces match any run of spaces); ``fold_first``: in any
    case (``match_case`` then writes the replacement in the case found)."""
    body = r"\s+".join(re.escape(p) for p in phrase.split())
    return r"(?<!\w)" + (f"(?i:{body})" if fold_first else body) + r"(?!\w)"


@dataclass(frozen=True)
class Rule:
    """Replace ``source`` by ``target``; ``mode``: '' (any case, the case found is kept), 'exact'
    (as written) or 'mid' (as written, and not at the start of a sentence)."""

    source: str
    target: str
    mode: str = ""


def compile_rules(rules: Sequence[Rule]) -> Callable[[str], str]:
    """One pass over the text, longest phrase first, so a replacement is never replaced again."""
    if not rules:
        return lambda text: text
    ordered = sorted(rules, key=lambda r: -len(r.source))
    parts, lookup = [], {}
    for i, r in enumerate(ordered):
        body = _word(r.source, fold_first=not r.mode)
        parts.append(f"(?P<r{i}>{body})")
        lookup[f"r{i}"] = r
    pattern = re.compile("|".join(parts))

    def sub(m: re.Match[str]) -> str:
        r = lookup[m.lastgroup or ""]
        found = m.group(0)
        if r.mode == "mid" and _SENTENCE_END.search(m.string[: m.start()]):
            return found
        return r.target if r.mode else match_case(found, r.target)

    return lambda text: pattern.sub(sub, text)


@lru_cache(maxsize=None)
def names_table() -> dict:
    return json.loads((DATA / "names.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def companies_table() -> dict:
    return json.loads((DATA / "companies.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def nb_nn_rules() -> Callable[[str], str]:
    rules = []
    for line in (DATA / "nb_nn.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            nb, nn = line.split("\t")
            rules.append(Rule(nb, nn))
    return compile_rules(rules)


@lru_cache(maxsize=None)
def register_rules(language: str, direction: str) -> Callable[[str], str]:
    pairs = json.loads((DATA / "register.json").read_text(encoding="utf-8"))["pairs"].get(language, {})
    return compile_rules([Rule(*p) for p in pairs.get(direction, [])])


@lru_cache(maxsize=None)
def known_names() -> frozenset[str]:
    t = names_table()
    names = {n for groups in t["groups"].values() for group in groups.values() for n in group} | set(t["also_known"])
    return frozenset(names - set(t["ambiguous"]))


def find_names(texts: Sequence[str], lower_too: bool) -> list[str]:
    """Known first names in ``texts``, in order of first appearance: capitalised words of the name list,
    and with ``lower_too`` (call transcripts, written without capitals) lower-case ones as well."""
    known = known_names()
    lower = {n.lower(): n for n in known}
    seen: dict[str, None] = {}
    for text in texts:
        for m in re.finditer(r"(?<!\w)\w+(?!\w)", text):
            w = m.group(0)
            if w in known or (w.isupper() and w.capitalize() in known):
                seen.setdefault(w.capitalize() if w.isupper() else w, None)
            elif lower_too and w.islower() and w in lower:
                seen.setdefault(lower[w], None)
    return list(seen)


def name_mapping(found: Sequence[str], language: str, group: str, seed: int,
                 draw: Draw = EVALUATION) -> dict[str, str]:
    """Each found name to a different name of ``group`` (the part ``draw`` allows), none of them already in the
    conversation; a name is kept where the pool has no unused one left."""
    pool = draw.pool(names_table()["groups"][language][group])
    taken = set(found)
    out: dict[str, str] = {}
    i = seed % len(pool)
    for name in found:
        for _ in range(len(pool)):
            candidate = pool[i % len(pool)]
            i += 1
            if candidate not in taken:
                out[name] = candidate
                taken.add(candidate)
                break
    return out


def company_mapping(texts: Sequence[str], seed: int, draw: Draw = EVALUATION) -> dict[str, str]:
    """Each known company or product name in ``texts`` (any case) to an unused made-up one of its kind (from
    the part of the pool ``draw`` allows); a name is kept where no unused one is left."""
    t = companies_table()
    joined = "\n".join(texts)
    out: dict[str, str] = {}
    for kind, names in t["known"].items():
        pool = draw.pool(t["replacements"][kind])
        i = seed % len(pool)
        for name in names:
            if re.search(_word(name), joined, flags=re.IGNORECASE):
                # bounded: a half pool (augmentation) can run out where the whole one would not
                for _ in range(len(pool)):
                    if not (pool[i % len(pool)] in out.values() or re.search(_word(pool[i % len(pool)]), joined, re.I)):
                        out[name] = pool[i % len(pool)]
                        break
                    i += 1
                i += 1
    return out


def _mapping_rules(mapping: Mapping[str, str], any_case: bool) -> Callable[[str], str]:
    """Replace each key of ``mapping`` by its value: as written or in capitals, and with ``any_case`` in any
    case (call transcripts); the replacement follows the case found."""
    if not mapping:
        return lambda text: text
    ordered = sorted(mapping, key=len, reverse=True)
    alternatives = [_word(n, fold_first=any_case) for n in ordered]
    if not any_case:
        alternatives += [_word(n.upper()) for n in ordered]
    pattern = re.compile("|".join(alternatives))
    lower = {" ".join(n.split()).lower(): v for n, v in mapping.items()}

    def sub(m: re.Match[str]) -> str:
        found = m.group(0)
        new = lower[" ".join(found.split()).lower()]
        return match_case(found, new) if found.islower() or found.isupper() else new

    return lambda text: pattern.sub(sub, text)


def _with_texts(conv: LabelledConversation, fn: Callable[[str], str], language: str | None = None,
                speakers: bool = False) -> LabelledConversation:
    """``conv`` with ``fn`` applied to every turn's text (and with ``speakers`` to its speaker label too,
    "Agent Kari" in an export)."""
    turns = tuple(replace(lt, turn=replace(lt.turn, text=fn(lt.turn.text),
                                           speaker=fn(lt.turn.speaker) if speakers else lt.turn.speaker))
                  for lt in conv.turns)
    return replace(conv, turns=turns, language=language or conv.language)


def _seed(conv: LabelledConversation, salt: str = "") -> int:
    # no salt: the robustness check's choices, as they have always been
    return zlib.crc32(f"{salt}{conv.id}".encode("utf-8"))


def swap_names(conv: LabelledConversation, group: str, draw: Draw = EVALUATION) -> LabelledConversation:
    """Every known first name in the speaker labels and texts by one of ``group``, the same name for the same
    person throughout."""
    found = find_names([lt.turn.speaker for lt in conv.turns] + [lt.turn.text for lt in conv.turns],
                       lower_too=conv.channel == "call")
    mapping = name_mapping(found, conv.language, group, _seed(conv, draw.salt), draw)
    return _with_texts(conv, _mapping_rules(mapping, any_case=conv.channel == "call"), speakers=True)


def swap_companies(conv: LabelledConversation, draw: Draw = EVALUATION) -> LabelledConversation:
    mapping = company_mapping([lt.turn.text for lt in conv.turns], _seed(conv, draw.salt), draw)
    return _with_texts(conv, _mapping_rules(mapping, any_case=True))


def swap_nb_to_nn(conv: LabelledConversation) -> LabelledConversation:
    """Bokmål words by their nynorsk forms; only bokmål conversations change (they become ``nn``)."""
    if conv.language != "nb":
        return conv
    swapped = _with_texts(conv, nb_nn_rules(), language="nn")
    return swapped if swapped.turns != conv.turns else conv


def swap_register(conv: LabelledConversation, direction: str) -> LabelledConversation:
    return _with_texts(conv, register_rules(conv.language, direction))


def apply_swap(conv: LabelledConversation, swap: str, draw: Draw = EVALUATION) -> LabelledConversation:
    """``conv`` under the swap named ``swap`` (one of SWAP_TYPES), names and company names picked as ``draw``
    says; the same object where nothing applies."""
    if swap not in SWAP_TYPES:
        raise ValueError(f"unknown swap {swap!r}; known: {', '.join(SWAP_TYPES)}")
    kind, _, arg = swap.partition(":")
    if kind == "names":
        out = swap_names(conv, arg, draw)
    elif kind == "company":
        out = swap_companies(conv, draw)
    elif kind == "nb_to_nn":
        out = swap_nb_to_nn(conv)
    else:
        out = swap_register(conv, arg)
    return conv if out.turns == conv.turns and out.language == conv.language else out
