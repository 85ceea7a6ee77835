"""People's names, where the words around them say a name follows (``names.toml``): greetings ("Hei Kari,"),
thanks ("Tack Anna!"), sign-offs ("Mvh Ola Nordmann"), self-introductions ("jeg heter", "du snakker med",
"this is Tom from ...") and speaker labels ("Agent Kari", "Kari Nordmann (Kundeservice)"). A capitalised
word is never taken for a name without such evidence, so product and company names stay."""
from __future__ import annotations

import bisect
import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Iterable, Sequence

from ..ingest.speakers import DEFAULT_LABELS, SpeakerMap
from .patterns import phrase_pattern
from .spans import Candidate

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_INNER_CAPITAL_OK = re.compile(r"^(?:Mc|Mac|O['’]|D['’])")
_GREETING_END = re.compile(r"[ \t]*(?:$|[,.!?:;)\r\n—–-]|[\u2600-\u27bf\U0001f300-\U0001faff])")
_SEPARATORS = {
    # What may stand between a trigger and the name.
    "greeting": re.compile(r"[ \t]*,[ \t]*|[ \t]+"),
    "thanks": re.compile(r"[ \t]*,[ \t]*|[ \t]+"),
    "signoff": re.compile(r"[ \t]*[,:.!-]?[ \t]*\r?\n\s*|[ \t]*[,:.][ \t]*|[ \t]+"),
    "signoff_punct": re.compile(r"[ \t]*,?[ \t]*\r?\n\s*|[ \t]*,[ \t]*"),
    "introduction": re.compile(r"[ \t]*:[ \t]*|[ \t]+"),
    "presentation": re.compile(r"[ \t]+"),
    "self_presentation": re.compile(r"[ \t]+"),
}
_FROM = re.compile(r"(?:fra|frå|från|from)[ \t]+", re.IGNORECASE)
_AND = re.compile(r"[ \t]+(?:og|och|and|&)[ \t]+", re.IGNORECASE)
_AFTER_TITLE = re.compile(r"\.?[ \t]+")
_LOWER_WORD = re.compile(r"[ \t]+[^\W\d_A-ZÆØÅÄÖÜ]")
# The rest of a short clause, up to a comma before the name: "for svar, " in "Takk for svar, Kari!".
_VOCATIVE = re.compile(r"[^.!?,\n]{0,40},[ \t]*")
_LABEL_SPLIT = re.compile(r"\s*(?:[()\[\]|/:]|\s[-–]\s)\s*")


@dataclass(frozen=True)
class _Config:
    trigger: re.Pattern[str]
    categories: dict[str, tuple[str, ...]]
    after_presentation: frozenset[str]
    self_markers: frozenset[str]
    greeting_words: frozenset[str]
    titles: frozenset[str]
    particles: frozenset[str]
    stopwords: frozenset[str]
    organisation: frozenset[str]
    common_word_names: frozenset[str]
    brands: frozenset[str]
    role_words: frozenset[str]
    colleague_words: frozenset[str]
    possessives: frozenset[str]
    noun_followers: frozenset[str]
    subject_verbs: frozenset[str]


def _norm(s: str) -> str:
    return " ".join(s.casefold().split())


@cache
def _config() -> _Config:
    data = tomllib.loads(resources.files(__package__).joinpath("names.toml").read_text(encoding="utf-8"))
    triggers = data["triggers"]
    categories: dict[str, list[str]] = {}
    for category in _SEPARATORS:
        for phrase in triggers[category]:
            categories.setdefault(_norm(phrase), []).append(category)
    pattern = re.compile(r"(?<!\w)" + phrase_pattern(categories) + r"(?!\w)", re.IGNORECASE)
    words = data["words"]
    return _Config(
        trigger=pattern,
        categories={k: tuple(v) for k, v in categories.items()},
        after_presentation=frozenset(map(_norm, triggers["after_presentation"])),
        self_markers=frozenset(map(_norm, triggers["self_markers"])),
        greeting_words=frozenset(_norm(p) for p in triggers["greeting"]),
        titles=frozenset(map(_norm, words["titles"])),
        particles=frozenset(map(_norm, words["particles"])),
        stopwords=frozenset(map(_norm, words["stopwords"])),
        organisation=frozenset(map(_norm, words["organisation"])),
        common_word_names=frozenset(map(_norm, words["common_word_names"])),
        brands=frozenset(map(_norm, words["brands"])),
        role_words=frozenset(_norm(k) for k in DEFAULT_LABELS),
        colleague_words=frozenset(map(_norm, words["colleague_words"])),
        possessives=frozenset(map(_norm, words["possessives"])),
        noun_followers=frozenset(map(_norm, words["noun_followers"])),
        subject_verbs=frozenset(map(_norm, words["subject_verbs"])),
    )


def _is_name_word(word: str, cfg: _Config) -> bool:
    """Capitalised like a name ("Kari", "Anne-Marie", "McDonald", "O'Brien"), and not a word that follows
    greetings without being a name ("Hei Alle", "Hi There")."""
    if len(word) < 2 or not word[0].isupper() or not any(ch.islower() for ch in word):
        return False
    low = word.casefold()
    if low in cfg.stopwords or low in cfg.organisation or low in cfg.role_words or low in cfg.brands:
        return False
    for part in re.split(r"[-'’]", word):  # "Anne-Marie", "O'Brien"; a one-letter tail ("Kari's") may be lower
        if not part or (len(part) > 1 and not part[0].isupper()):
            return False
        inner = part[1:]
        if any(ch.isupper() for ch in inner) and not _INNER_CAPITAL_OK.match(word):
            return False
    return True


def _read_name(text: str, pos: int, cfg: _Config, allow_lower: bool) -> tuple[int, int] | None:
    """The span of up to three name words starting at ``pos``, or None."""
    m = _WORD.match(text, pos)
    if m and m.group(0).casefold() in cfg.titles:  # "Kjære fru Hansen", "Dear Mr. Smith"
        after = _AFTER_TITLE.match(text, m.end())
        if after:
            pos = after.end()
            m = _WORD.match(text, pos)
    if not m:
        return None
    if not _is_name_word(m.group(0), cfg):
        word = m.group(0)
        if allow_lower and _lower_name_word(word, cfg):
            # A speech recogniser's "jeg heter kari nordmann og ...": the second word counts when a stopword,
            # punctuation or the end follows it ("my name is john calling about" keeps "calling").
            after = _NEXT_WORD.match(text, m.end())
            if after and _lower_name_word(after.group(1), cfg):
                then = _NEXT_WORD.match(text, after.end())
                if _GREETING_END.match(text, after.end()) or (then and then.group(1).casefold() in cfg.stopwords):
                    return m.start(), after.end()
            return m.span()
        return None
    start, end = m.span()
    count = 1
    p = end
    while count < 3 and text.startswith(" ", p):
        nxt = _WORD.match(text, p + 1)
        if nxt is None:
            break
        word = nxt.group(0)
        if _is_name_word(word, cfg):
            end = p = nxt.end()
            count += 1
        elif word.casefold() in cfg.particles and text.startswith(" ", nxt.end()):
            after = _WORD.match(text, nxt.end() + 1)
            if after is None or not _is_name_word(after.group(0), cfg):
                break
            end = p = after.end()
            count += 1
        else:
            # "Hilsen Elkjøp Kundeservice": a company signing, not a person.
            if word.casefold() in cfg.organisation:
                return None
            break
    return start, end


def _lower_name_word(word: str, cfg: _Config) -> bool:
    low = word.casefold()
    return (word.isalpha() and word.islower() and len(word) >= 2 and low not in cfg.stopwords
            and low not in cfg.organisation and low not in cfg.particles and low not in cfg.brands)


# The company's welcome just before a presentation, in one run without punctuation as speech recognisers
# write it: "velkommen til Nordbank det er Jonas", "thank you for calling Acme this is Tom".
_WELCOME = re.compile(r"\b(?:velkommen|velkomen|välkommen|welcome|takk for at du ringer|tak fordi du ringer|"
                      r"tack för att du ringer|thank you for calling|thanks for calling)\b[^.!?\n]{0,60}$", re.I)


def _sentence_start(text: str, pos: int, cfg: _Config) -> bool:
    before = text[:pos].rstrip(" \t")
    if not before or before[-1] in ".!?,:;\n-–—":
        return True
    last = re.search(r"(\w+)\W*$", before)
    return (last is not None and last.group(1).casefold() in cfg.greeting_words) or _after_welcome(text, pos)


def _after_welcome(text: str, pos: int) -> bool:
    return _WELCOME.search(text[:pos].rstrip(" \t")) is not None


_NEXT_WORD = re.compile(r"[ \t]+(\w+)")


def _followed_by(text: str, end: int, words: frozenset[str]) -> bool:
    m = _NEXT_WORD.match(text, end)
    return m is not None and m.group(1).casefold() in words


def _followed_by_presentation_end(text: str, end: int, cfg: _Config) -> bool:
    return _GREETING_END.match(text, end) is not None or _followed_by(text, end, cfg.after_presentation)


def find_name_spans(text: str, *, mentioned: bool = True) -> tuple[tuple[int, int], ...]:
    """Spans of the names the text itself introduces; with ``mentioned`` also the listed first names written
    with a capital inside a sentence, with a capitalised surname after them ("your colleague Jonas", "medarbejder
    Lone Berg"), which no greeting or presentation introduces."""
    # Scoring reads each turn's names three times (the model's reading, the evidence, the redaction) within one
    # chunk of conversations: the answer depends on the text and the fixed lists only, so it is kept for a few
    # recent texts. Only short ones, so the customers' words held stay a few megabytes (NAME_CACHE_*).
    if len(text) <= NAME_CACHE_MAX_CHARS:
        return _cached_name_spans(text, mentioned)
    return _name_spans(text, mentioned)


NAME_CACHE_TEXTS = 2048
NAME_CACHE_MAX_CHARS = 2000


def _name_spans(text: str, mentioned: bool) -> tuple[tuple[int, int], ...]:
    cfg = _config()
    found: list[tuple[int, int]] = []
    for m in cfg.trigger.finditer(text):
        for category in cfg.categories[_norm(m.group(0))]:
            spans = _names_after(text, m, category, cfg)
            if spans:
                found.extend(spans)
                break
    if mentioned:
        found.extend(_mentioned_names(text, cfg, found))
    return tuple(found)


_cached_name_spans = lru_cache(maxsize=NAME_CACHE_TEXTS)(_name_spans)


def _mentioned_names(text: str, cfg: _Config, found: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Listed first names capitalised inside a sentence, and any capitalised name word right after a role noun for
    a person ("medarbejder Gorm", "your colleague Percival"), with up to two capitalised words after them ("Anne Marie
    Hansen"). At a sentence's, a list item's or a quote's start a capital says nothing, and the list leaves out
    names that are also words ("Per", "May", "Rose", "Finn"), so "in May" or "• Finn ordrenummeret" stay.
    Linear in the text: each candidate looks back a few characters only."""
    if not any(ch.isupper() for ch in text):
        return []
    listed = _first_names()
    taken = sorted(found)
    starts = [a for a, _ in taken]
    out: list[tuple[int, int]] = []
    for m in _WORD.finditer(text):
        word = m.group(0)
        if not _is_name_word(word, cfg) or _opens_sentence(text, m.start()):
            continue
        if word.casefold() not in listed and not _after_colleague(text, m.start(), cfg):
            continue
        if out and m.start() < out[-1][1]:
            continue
        i = bisect.bisect_right(starts, m.start()) - 1
        if i >= 0 and m.start() < taken[i][1]:
            continue
        end = m.end()
        for _ in range(2):  # "Jonas Berg": "Berg" after a first name is no mountain
            after = _SURNAME.match(text, end)
            if after is None or not _is_name_word(after.group(1), cfg):
                break
            end = after.end()
        out.append((m.start(), end))
    return out


# Beside names.toml's Nordic possessives: the ones that stand before a noun in English, and third persons.
_MORE_POSSESSIVES = frozenset({"jeres", "er", "your", "my", "our", "hans", "hennes", "hendes", "hennar", "his", "her"})
_LAST_WORDS = re.compile(r"([^\W\d_]+)(?:[ \t]+([^\W\d_]+))?[ \t]*,?[ \t]*$")


def _after_colleague(text: str, pos: int, cfg: _Config) -> bool:
    """Whether a role noun for a person ("medarbejder", "colleague") stands right before ``pos``, perhaps with a
    possessive between ("kollegaen din", "your colleague")."""
    m = _LAST_WORDS.search(text, max(0, pos - 60), pos)
    if m is None:
        return False
    first, second = m.group(1).casefold(), (m.group(2) or "").casefold()
    if second:
        return second in cfg.colleague_words or f"{first} {second}" in cfg.colleague_words or (
            (second in cfg.possessives or second in _MORE_POSSESSIVES) and first in cfg.colleague_words)
    return first in cfg.colleague_words


# What may open a sentence, a list item, a heading or a quote: a capital after these says nothing.
_OPENERS = frozenset('.!?:;\n\r"«»“”„‘’(\'[{•·→…*#>|/\\-–—')


def _opens_sentence(text: str, pos: int) -> bool:
    i = pos - 1
    stop = max(-1, pos - 200)  # a run of spaces before a word is not searched to its end
    while i > stop and text[i] in " \t":
        i -= 1
    return i <= stop or text[i] in _OPENERS


_SURNAME = re.compile(r"[ \t]+([^\W\d_]+(?:['’-][^\W\d_]+)*)")


def _names_after(text: str, trigger: re.Match[str], category: str, cfg: _Config) -> list[tuple[int, int]]:
    sep = _SEPARATORS[category].match(text, trigger.end())
    if sep is None:
        return []
    pos = sep.end()
    if category == "signoff":  # "Hilsen fra Kari", "Hälsningar från Anna"
        frm = _FROM.match(text, pos)
        pos = frm.end() if frm else pos
    first = _read_name(text, pos, cfg, allow_lower=category == "introduction")
    if first is None and category in _LISTED_LOWER and not any(ch.isupper() for ch in text):
        # A transcript without capitals: "det er eh mikkel", "this is jordan", "tak maja".
        listed = _listed_lower_name(text, pos, cfg)
        if listed is not None:
            return [listed]
    if first is None:
        if category in ("greeting", "thanks"):
            return _vocative(text, sep.end(), cfg)
        return []
    spans = [first]
    if category in ("greeting", "thanks", "signoff"):
        # "Hei Ola og Kari," "Hi Tom and Sarah!"
        conj = _AND.match(text, first[1])
        second = _read_name(text, conj.end(), cfg, allow_lower=False) if conj else None
        if second is not None:
            spans.append(second)
    end = spans[-1][1]
    if category == "greeting":
        # "Hei Kari," — or, opening a message, "Hei Kari jeg lurer på ..." as chats are typed.
        ok = _GREETING_END.match(text, end) is not None or (
            _line_start(text, trigger.start()) and _LOWER_WORD.match(text, end) is not None
            and _addressed(text, end, cfg))
    elif category == "thanks":
        ok = _GREETING_END.match(text, end) is not None
    elif category in ("signoff", "signoff_punct"):
        ok = _followed_by_presentation_end(text, end, cfg)
    elif category == "presentation":
        ok = _followed_by(text, end, cfg.self_markers) or (
            _sentence_start(text, trigger.start(), cfg) and _followed_by_presentation_end(text, end, cfg)) or (
            # Right after the welcome, a capitalised name may run on into the next words (speech recognisers).
            _after_welcome(text, trigger.start()) and _LOWER_WORD.match(text, end) is not None)
    elif category == "self_presentation":  # "I'm Tom from support", not "I am Norwegian"
        ok = _followed_by(text, end, cfg.self_markers | cfg.after_presentation)
    else:
        ok = True
    return spans if ok else []


_LISTED_LOWER = frozenset({"greeting", "thanks", "presentation", "self_presentation"})
_FILLER_WORDS = frozenset({"eh", "ehm", "øh", "øhm", "öh", "öhm", "äh", "uh", "uhm", "um", "ah", "hm"})
_FILLERS = re.compile(r"(?:(?:" + "|".join(sorted(_FILLER_WORDS, key=len, reverse=True)) + r")[ \t]+)*", re.IGNORECASE)


@cache
def _first_names() -> frozenset[str]:
    data = tomllib.loads(resources.files(__package__).joinpath("first_names.toml").read_text(encoding="utf-8"))
    cfg = _config()
    return frozenset(n for names in data["names"].values() for n in map(_norm, names)
                     if n not in cfg.common_word_names and n not in cfg.stopwords and n not in cfg.brands)


def _listed_lower_name(text: str, pos: int, cfg: _Config) -> tuple[int, int] | None:
    """A first name of first_names.toml written in lower case at ``pos`` (fillers skipped), with the
    surname after it when a stopword, punctuation or the end follows that ("det er eh maria pettersen jeg
    var"); None when the word is not a listed name."""
    pos = _FILLERS.match(text, pos).end()
    m = _WORD.match(text, pos)
    if m is None or m.group(0) not in _first_names():
        return None
    after = _NEXT_WORD.match(text, m.end())
    if after and after.group(1).casefold() in _SPELLED_ADDRESS:
        return None  # "it's john dot smith at gmail dot com": an address spelled out, redacted as one
    surname = after is not None and _lower_name_word(after.group(1), cfg) and after.group(1) not in _FILLER_WORDS \
        and after.group(1) not in cfg.self_markers and after.group(1) not in cfg.after_presentation
    if after and surname:
        then = _NEXT_WORD.match(text, after.end())
        if _GREETING_END.match(text, after.end()) or (then and then.group(1).casefold() in cfg.stopwords):
            return m.start(), after.end()
    return m.span()


_SPELLED_ADDRESS = frozenset({"dot", "punktum", "prikk", "punkt", "at", "alfakrøll", "krøllalfa", "snabel",
                              "snabela", "grisehale"})


def _addressed(text: str, end: int, cfg: _Config) -> bool:
    """Whether the words after "Hei <Capitalised>" (no comma) read as a message to that person rather than
    as what the capitalised noun does: "Hei Kari jeg lurer på", "Hei Kari er det mulig", not "Hei Regningen
    min er feil", "Hei Fakturaen for mars", "Hei Fakturaen er feil"."""
    nxt = _NEXT_WORD.match(text, end)
    if nxt is None:
        return True
    word = nxt.group(1).casefold()
    if word in cfg.possessives or word in cfg.noun_followers:
        return False
    if word in cfg.subject_verbs:
        then = _NEXT_WORD.match(text, nxt.end())
        return then is not None and then.group(1).casefold() in cfg.stopwords
    return True


def _line_start(text: str, pos: int) -> bool:
    return not text[:pos].strip(" \t") or text[:pos].rstrip(" \t").endswith("\n")


def _vocative(text: str, pos: int, cfg: _Config) -> list[tuple[int, int]]:
    """A name addressed at the end of a greeting or thanks: "Takk for svar, Kari!", "Thanks a lot, Tom."."""
    m = _VOCATIVE.match(text, pos)
    if m is None:
        return []
    span = _read_name(text, m.end(), cfg, allow_lower=False)
    return [span] if span is not None and _GREETING_END.match(text, span[1]) else []


@lru_cache(maxsize=4096)
def names_from_label(label: str, role: str = "") -> tuple[str, ...]:
    """Names inside a speaker label: "Agent Kari" -> Kari, "Kari Nordmann (Kundeservice)" -> Kari Nordmann,
    "Kundeservice - Ola" -> Ola, "Kari" -> Kari. "Kunde 2", "SPEAKER_00", "Telenor Kundeservice" and the
    labels of system turns hold none."""
    cfg = _config()
    if role == "system" or SpeakerMap.is_diarised_label(label):
        return ()
    pieces = [p for p in _LABEL_SPLIT.split(label.replace("_", " ").strip()) if p.strip()]
    bracketed = len(pieces) > 1
    names = []
    for piece in pieces:
        words = piece.split()
        if _norm(piece) in cfg.role_words or not words:
            continue
        # A role word in front ("Agent Kari") introduces the name; behind it without brackets ("Telenor
        # Kundeservice") it names a company's desk.
        if _norm(words[0]) in cfg.role_words:
            words = words[1:]
        elif not bracketed and any(_norm(w) in cfg.role_words for w in words):
            continue
        if 0 < len(words) <= 3 and all(_is_label_word(w, cfg) for w in words):
            names.append(" ".join(words))
    return tuple(names)


def _is_label_word(word: str, cfg: _Config) -> bool:
    if word.casefold() in cfg.particles:
        return True
    return _WORD.fullmatch(word) is not None and (_is_name_word(word, cfg) or (
        word.islower() and len(word) >= 2 and word not in cfg.stopwords and word not in cfg.role_words
        and word not in cfg.organisation))


def names_in_conversation(turns: Sequence[tuple[str, str, str]], *, mentioned: bool = True) -> frozenset[str]:
    """The people's names that a conversation's speaker labels and turns give reliably; pass them to
    ``find_pii(..., names=...)`` to find every later mention. ``mentioned``: as ``find_name_spans``."""
    found: set[str] = set()
    for label, role, text in turns:
        found.update(names_from_label(label, role))
        found.update(text[s:e] for s, e in find_name_spans(text, mentioned=mentioned))
    return frozenset(found)


def find_names(text: str, names: Iterable[str] = (), *, mentioned: bool = True) -> list[Candidate]:
    """The names the text introduces, and every mention of those and of ``names``."""
    spans = find_name_spans(text, mentioned=mentioned)
    known = frozenset(n for n in (*names, *(text[s:e] for s, e in spans)) if n.strip())
    found = [Candidate(s, e, "name", True) for s, e in spans]
    if known:
        pattern = _mention_pattern(known, cased=any(ch.isupper() for ch in text))
        if pattern is not None:
            found.extend(Candidate(m.start(), m.end(), "name") for m in pattern.finditer(text))
    return found


@lru_cache(maxsize=4096)
def _mention_pattern(names: frozenset[str], cased: bool) -> re.Pattern[str] | None:
    """Mentions of ``names``: the full name and each part, in any case, except that a surname alone and a
    name that is also a word ("Per", "Liv") must be capitalised in a text that uses capitals at all: many
    Nordic surnames are words ("berg", "strand", "nordmann")."""
    cfg = _config()
    forms: set[str] = set()
    for name in names:
        words = name.split()
        if not words:
            continue
        if len(words) > 1:
            forms.add(r"\s+".join(map(re.escape, words)))
        for i, word in enumerate(words):
            low = word.casefold()
            if len(word) < 2 or low in cfg.stopwords or low in cfg.particles or low in cfg.titles:
                continue
            if low in cfg.common_word_names or (i > 0 and cased):
                # "Per" the name, not "per" the preposition.
                forms.add(f"(?-i:{re.escape(word[0].upper() + word[1:].lower())})")
            else:
                forms.add(re.escape(word))
    if not forms:
        return None
    body = "|".join(sorted(forms, key=len, reverse=True))
    # A possessive ("Karis", "Kari's") stays outside the span: "[navn]s bestilling" reads naturally.
    return re.compile(rf"(?<!\w)(?:{body})(?=(?:['’]s|['’]|s)?(?!\w))", re.IGNORECASE)
