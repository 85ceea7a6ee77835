"""What the classifiers read of a turn: real exports' surface noise taken out, the original kept.

Real exports carry things the corpus never shows: HTML entities (``&amp;``), links, e-mail addresses,
@handles heading every tweet, hashtags ("#AdobeSucks"), agents' initials after a sign-off ("Thanks.^KM"),
part markers of split messages ("(1/2)"), and in e-mail the quoted history, the signature and a
confidentiality disclaimer. The model should judge what the speaker said in this turn, not these, so
``normalise_turn`` gives the text the model reads, while reports and quotes keep the original: every
character of the normalised text knows the span of the original it came from (``original_span``).

Regular expressions here meet untrusted text of up to a turn's length limit, so none has nested or
adjacent overlapping quantifiers: a run that a pattern starts with is anchored by a negative lookbehind
of the same class (so a 100,000-character run is tried once, not from each of its characters), lazy
scans are bounded, and the line-based steps use string operations.
"""
from __future__ import annotations

import bisect
import html
import html.entities
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .nynorsk import nynorsk_edits
from .register import polite_edits

# Bumped when a step changes what the model reads: results scored with another version are not mixed.
NORMALISATION_VERSION = "6"

LINK = "[link]"
EMAIL = "[email]"
USER = "@user"
NAME = "[name]"

# Step names, as explanations and the report list them.
STEPS = ("html_entities", "quoted_history", "disclaimer", "signature", "links", "email_addresses",
         "reply_handles", "handles", "hashtags", "signature_tag", "part_marker", "names", "register", "nynorsk")


@dataclass(frozen=True)
class Normalised:
    """A turn's text as the model reads it, with the original and the way back to it.

    ``starts[i]``/``ends[i]`` are the original span of ``text[i]`` (a placeholder's characters all
    point at the whole link or address it stands for).
    """

    text: str
    original: str
    starts: tuple[int, ...] = field(repr=False)
    ends: tuple[int, ...] = field(repr=False)
    steps: tuple[str, ...] = ()

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``original`` that ``text[start:end]`` came from."""
        if not self.text:
            return 0, len(self.original)
        start = min(max(start, 0), len(self.text) - 1)
        end = min(max(end, start + 1), len(self.text))
        return self.starts[start], self.ends[end - 1]


class _Draft:
    """The text being normalised and, for each of its characters, its span in the original."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.text = text
        self.starts = list(range(len(text)))
        self.ends = list(range(1, len(text) + 1))
        self.steps: list[str] = []

    def apply(self, step: str, edits: Iterable[tuple[int, int, str]]) -> None:
        """Replace ``text[a:b]`` by ``rep`` for each edit (sorted, not overlapping); ``a == b`` inserts."""
        edits = list(edits)
        if not edits:
            return
        text, starts, ends = self.text, self.starts, self.ends
        out: list[str] = []
        new_starts: list[int] = []
        new_ends: list[int] = []
        pos = 0
        for a, b, rep in edits:
            if a < pos:  # overlapping edit: keep the first
                continue
            out.append(text[pos:a])
            new_starts.extend(starts[pos:a])
            new_ends.extend(ends[pos:a])
            if rep:
                if b > a:
                    o_start, o_end = starts[a], ends[b - 1]
                else:  # an insertion sits where the previous character ends
                    o_start = o_end = ends[a - 1] if a > 0 else 0
                out.append(rep)
                new_starts.extend([o_start] * len(rep))
                new_ends.extend([o_end] * len(rep))
            pos = b
        out.append(text[pos:])
        new_starts.extend(starts[pos:])
        new_ends.extend(ends[pos:])
        self.text, self.starts, self.ends = "".join(out), new_starts, new_ends
        self.steps.append(step)

    def cut_from(self, step: str, start: int) -> None:
        """Drop everything from ``start`` on, when something with letters is left before it."""
        if 0 <= start < len(self.text) and _has_content(self.text[:start]):
            self.apply(step, [(start, len(self.text), "")])

    def done(self) -> Normalised:
        return Normalised(self.text, self.original, tuple(self.starts), tuple(self.ends), tuple(dict.fromkeys(self.steps)))


def _has_content(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


# --- HTML entities ---------------------------------------------------------------------------------------
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _entity(ref: str) -> str:
    """The character ``ref`` ("&amp;", "&#39;") stands for; an unknown name stays as written."""
    if ref[1] == "#":
        return html.unescape(ref)
    return html.entities.html5.get(ref[1:], ref)


def _entities(d: _Draft) -> None:
    # Twice, for the doubly escaped "&amp;gt;" that some exports write.
    for _ in range(2):
        edits = [(m.start(), m.end(), _entity(m.group())) for m in _ENTITY.finditer(d.text)]
        d.apply("html_entities", [e for e in edits if e[2] != d.text[e[0]:e[1]]])


# --- e-mail: quoted history, disclaimers, signatures -------------------------------------------------------
_QUOTE_HEADERS = (
    re.compile(r"(?<!\w)On\s.{1,200}?\swrote:", re.S),
    re.compile(r"(?<!\w)(?:Den|Am|Le)\s.{1,200}?\s(?:skrev|schrieb)(?:\s[^:]{0,160})?:", re.S),
    re.compile(r"(?<!-)-{2,}\s?(?:Original Message|Opprinnelig melding|Opprinneleg melding|Oprindelig meddelelse|"
               r"Ursprungligt meddelande|Forwarded message|Videresendt melding|Vidaresendt melding|"
               r"Videresendt meddelelse|Vidarebefordrat meddelande)\s?-{2,}", re.I),
    re.compile(r"(?<!\w)(?:From|Fra|Från|Frå):\s.{1,300}?(?<!\w)(?:Sent|Sendt|Skickat|Date|Dato|Datum|To|Til|Till|"
               r"Subject|Emne|Ämne):", re.S),
)
_DISCLAIMER_KEY = re.compile(r"(?i)(?<!\w)(?:confidential|privileged|intended (?:solely |only )?for|"
                             r"konfidensiell|konfidensiel|konfidentiell|fortrolig|taushetsbelagt|teieplikt|"
                             r"sekretessbelagd|tiltenkt|tiltænkt|avsedd (?:endast )?för)")
_DISCLAIMER_TOPIC = re.compile(r"(?i)e-?mail|e-?post|message|melding|meddelelse|meddelande|recipient|mottaker|"
                               r"mottakar|modtager|mottagare|attachment|vedlegg|bilag|adressat")
_CLOSING = re.compile(
    r"(?i)(?<![\w-])(?:med vennlig hilsen|vennlig hilsen|med venleg helsing|med vennleg helsing|venleg helsing|vennleg helsing|"
    r"med venlig hilsen|venlig hilsen|de bedste hilsner|bedste hilsner|med venlig hilsen|"
    r"med vänliga hälsningar|med vänlig hälsning|vänliga hälsningar|vänlig hälsning|bästa hälsningar|"
    r"mvh|hilsen|helsing|hälsningar|best regards|kind regards|warm regards|many thanks and regards|regards|"
    r"best wishes|yours sincerely|sincerely)(?![\w-])|(?<![\w-])--(?=\s)")
# Informal closings, from normalisation 6: only alone on their line ("Cheers,"), since "best" and "take care"
# are also words of a message.
_INFORMAL_CLOSING = re.compile(
    r"(?im)^[ \t]*+(?:cheers|best|all the best|take care|ha det bra|ha det godt|ha det fint|hav det godt|"
    r"hav det fint|ha det så bra|allt gott|ha det gott)[ \t]*+(?:[,!.][ \t]*+)?\r?$")
# After an informal closing only a signature: nothing, or a name on the next line and then short lines
# (a title, a company, a phone number), none of them a sentence; so neither "take care\nof the refund" nor
# "Cheers!\nOne more thing: the refund has not arrived." is cut.
_SIGNATURE_NAME = re.compile(r"[-–—~ \t]*+[A-ZÆØÅÄÖÉ][\w.'’-]*(?:[ \t]+(?:[A-ZÆØÅÄÖÉ][\w.'’-]*|&|og|och|and))"
                             r"{0,3}[ \t]*+\r?")
_SIGNATURE_LINE_WORDS = 6
# What may follow a closing: a name, a title, a company, a phone number; not a paragraph.
_SIGNATURE_MAX_WORDS = 30
_SIGNATURE_MAX_CHARS = 300


def _quoted_lines(d: _Draft) -> None:
    """Lines quoted with ">" (only where the turn kept its line breaks)."""
    if "\n" not in d.text:
        return
    edits = []
    pos = 0
    for line in d.text.split("\n"):
        if line.lstrip(" ").startswith(">"):
            edits.append((pos, min(pos + len(line) + 1, len(d.text)), ""))
        pos += len(line) + 1
    kept = "".join(d.text[a:b] for a, b in _gaps(edits, len(d.text)))
    if _has_content(kept):
        d.apply("quoted_history", edits)


def _gaps(edits: Sequence[tuple[int, int, str]], n: int) -> list[tuple[int, int]]:
    out, pos = [], 0
    for a, b, _ in edits:
        out.append((pos, a))
        pos = b
    out.append((pos, n))
    return out


def _quoted_history(d: _Draft) -> None:
    _quoted_lines(d)
    first = min((m.start() for p in _QUOTE_HEADERS if (m := p.search(d.text))), default=-1)
    d.cut_from("quoted_history", first)


def _disclaimer(d: _Draft) -> None:
    # The topic words are found once; each key word then looks them up (one scan, however many keys).
    topics = [m.start() for m in _DISCLAIMER_TOPIC.finditer(d.text)]
    if not topics:
        return
    for m in _DISCLAIMER_KEY.finditer(d.text):
        window_start = max(0, m.start() - 300)
        before = d.text[window_start:m.start()]
        # The disclaimer starts at its sentence (or line) start.
        cut = max(before.rfind(". "), before.rfind("\n"), before.rfind("! "), before.rfind("? "))
        start = window_start + cut + 1 if cut >= 0 else window_start
        while start < m.start() and d.text[start].isspace():
            start += 1
        i = bisect.bisect_left(topics, start)
        if i < len(topics) and topics[i] <= m.end() + 300:
            before_len = len(d.text)
            d.cut_from("disclaimer", start)
            if len(d.text) < before_len:
                return


def _informal_closing_ends_message(text: str, end: int) -> bool:
    lines = [line for line in text[end:].split("\n") if line.strip()]
    if not lines:
        return True
    if _SIGNATURE_NAME.fullmatch(lines[0]) is None:
        return False
    return all(_signature_line(line) for line in lines[1:])


def _signature_line(line: str) -> bool:
    """A title, a company or a phone number rather than a sentence: a few words, no question, no sentence
    ending in a full stop ("Acme Inc." is a company, "It never arrived." a sentence)."""
    words = line.split()
    stripped = line.rstrip()
    return (len(words) <= _SIGNATURE_LINE_WORDS and not stripped.endswith(("?", "!", ":"))
            and not (len(words) >= 3 and stripped.endswith(".")))


def _signature(d: _Draft, informal: bool = True) -> None:
    informal_closings = [m for m in _INFORMAL_CLOSING.finditer(d.text)
                         if _informal_closing_ends_message(d.text, m.end())] if informal else []
    closings = sorted([*_CLOSING.finditer(d.text), *informal_closings], key=lambda m: m.start())
    for m in closings:
        tail = d.text[m.end():]
        if len(tail) <= _SIGNATURE_MAX_CHARS and len(tail.split()) <= _SIGNATURE_MAX_WORDS:
            before = len(d.text)
            d.cut_from("signature", m.start())
            if len(d.text) < before:
                return


# --- links, addresses, handles, hashtags -------------------------------------------------------------------
_URL = re.compile(r"(?<![\w./@-])(?:(?:https?|ftp)://|www\.)[^\s<>\"]+|"
                  r"(?<![\w./@-])(?:[a-z0-9-]{1,63}\.){1,4}(?:com|net|org|no|se|dk|io|ly|co|me|gl|be|uk|us|eu|info|"
                  r"app|help)/[^\s<>\"]*", re.I)
_URL_TRAILING = ".,;:!?)]}'\"»”’"
_EMAIL_ADDRESS = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
# Possessive: "@oslomet.no" is a domain, and the handle must not give back letters to make it one.
_HANDLE = re.compile(r"(?<![\w@])@\w++(?!\.\w)")
_HASHTAG = re.compile(r"(?<![\w#&])#(\w{1,100})")


def _links(d: _Draft) -> None:
    edits = []
    for m in _URL.finditer(d.text):
        end = m.end()
        while end > m.start() + 1 and d.text[end - 1] in _URL_TRAILING:
            end -= 1
        if end > m.start():
            edits.append((m.start(), end, LINK))
    d.apply("links", edits)


def _email_addresses(d: _Draft) -> None:
    d.apply("email_addresses", [(m.start(), m.end(), EMAIL) for m in _EMAIL_ADDRESS.finditer(d.text)])


# What separates a reply chain from the message: "@AskX: ...", "@AskX - ...", "@AskX. ..."
_CHAIN_GAP = " \t\n,:;.-–—"


def _handles(d: _Draft) -> None:
    """Handles heading a turn are the reply chain and handles ending it address it (both dropped); others name
    someone (``@user``)."""
    text = d.text
    edits = []
    lead_pos = len(text) - len(text.lstrip())
    head = _PART_HEAD.match(text)  # "(1/2) @AskX ...": the marker goes later, the chain after it is still the head
    if head and head.end() > lead_pos:
        lead_pos = head.end()
        while lead_pos < len(text) and text[lead_pos].isspace():
            lead_pos += 1
    matches = list(_HANDLE.finditer(text))
    dot = text.startswith(".@", lead_pos)
    if dot:
        lead_pos += 1  # ".@brand ...": the dot makes a reply public, it is no part of the message
    k = 0
    while k < len(matches) and matches[k].start() == lead_pos:
        end = matches[k].end()
        while end < len(text) and text[end] in _CHAIN_GAP:
            end += 1
        edits.append((matches[k].start(), end, ""))
        lead_pos = end
        k += 1
    if dot and edits:
        edits[0] = (edits[0][0] - 1, edits[0][1], "")
    # Trailing: the handles after the last words, only whitespace between them.
    tail: list[tuple[int, int, str]] = []
    end = len(text.rstrip())
    j = len(matches) - 1
    while j >= k and matches[j].end() == end:
        tail.insert(0, (matches[j].start(), matches[j].end(), ""))
        end = matches[j].start()
        while end > 0 and text[end - 1].isspace():
            end -= 1
        j -= 1
    kept = "".join(text[a:b] for a, b in _gaps(edits + tail, len(text)))
    if (edits or tail) and _has_content(kept):
        d.apply("reply_handles", edits + tail)
    # Nothing but handles: they stay, as @user, so the turn is not empty.
    d.apply("handles", [(m.start(), m.end(), USER) for m in _HANDLE.finditer(d.text)])


def split_words(tag: str) -> str:
    """"AdobeSucks" -> "Adobe Sucks", "HPSupport" -> "HP Support", "not_happy" -> "not happy"; "iPhone" kept."""
    d = _Draft(tag)
    d.apply("hashtags", _tag_edits(tag, 0))
    _whitespace(d)
    return d.text


def _tag_edits(tag: str, pos: int) -> list[tuple[int, int, str]]:
    """Edits that turn the hashtag body ``tag`` (at ``pos``) into words: a space at each case change, "_" as space."""
    edits: list[tuple[int, int, str]] = []
    start = 0  # where the current word began
    for i in range(1, len(tag)):
        prev, ch = tag[i - 1], tag[i]
        nxt = tag[i + 1] if i + 1 < len(tag) else ""
        if ch == "_":
            edits.append((pos + i, pos + i + 1, " "))
            start = i + 1
            continue
        if prev == "_":
            continue
        run = i - start
        boundary = ((prev.islower() and ch.isupper() and not (run == 1 and start == 0))  # fooBar, not iPhone
                    or (prev.isupper() and ch.isupper() and nxt.islower() and run >= 2)  # HPSupport
                    or (prev.isalpha() and ch.isdigit() and run >= 2) or (prev.isdigit() and ch.isalpha()))
        if boundary:
            edits.append((pos + i, pos + i, " "))
            start = i
    if tag.startswith("_"):
        edits.insert(0, (pos, pos + 1, " "))
    return edits


def _hashtags(d: _Draft) -> None:
    edits: list[tuple[int, int, str]] = []
    for m in _HASHTAG.finditer(d.text):
        tag = m.group(1)
        if not any(ch.isalpha() for ch in tag):
            continue  # "#12345" is a ticket number, not a hashtag
        edits.append((m.start(), m.start() + 1, ""))
        edits.extend(_tag_edits(tag, m.start(1)))
    d.apply("hashtags", edits)


# --- sign-off tags and part markers -----------------------------------------------------------------------
# Initials or a first name after a sign-off, at the very end: "Thanks.^KM", "*TB", "/SQ", "-Anna", "~Sam".
_TAG_TAIL = re.compile(r"(?:[\^*~]\s?(?:[A-ZÆØÅÄÖ]{1,3}|[A-ZÆØÅÄÖ][a-zæøåäöéü]{1,15})|"
                       r"(?<=[\s.!?,)])(?:/|-|–|—|~)\s?(?:[A-ZÆØÅÄÖ]{2,3}|[A-ZÆØÅÄÖ][a-zæøåäöéü]{1,15}))\s*$")
_PART_HEAD = re.compile(r"\s*[(\[]?([1-9][0-9]?)\s?/\s?([1-9][0-9]?)[)\]]?[:.]?(?=\s|$)")
_PART_TAIL = re.compile(r"(?<![\w/])[(\[]?([1-9][0-9]?)\s?/\s?([1-9][0-9]?)[)\]]?\s*$")
_TAIL_WINDOW = 24


def _signature_tag(d: _Draft) -> None:
    end = len(d.text.rstrip())
    window = max(0, end - _TAIL_WINDOW)
    m = _TAG_TAIL.search(d.text[window:end])
    if m and _has_content(d.text[:window + m.start()]):
        d.apply("signature_tag", [(window + m.start(), end, "")])


def part_marker(text: str) -> tuple[int, int] | None:
    """``(k, n)`` when ``text`` starts or ends with a part marker ("(1/2)", "[2/3]", "1/2"), else None.

    Handles heading the text (a tweet's reply chain, "@bob (1/2) ...") come before the marker.
    """
    text = _without_leading_handles(text)
    m = _PART_HEAD.match(text)
    if m is None:
        end = len(text.rstrip())
        window = max(0, end - _TAIL_WINDOW)
        m = _PART_TAIL.search(text[window:end])
    if m is None:
        return None
    k, n = int(m.group(1)), int(m.group(2))
    return (k, n) if 1 <= k <= n <= 20 and n >= 2 else None


_TOKEN_AND_SPACE = re.compile(r"\S*\s*")


def _without_leading_handles(text: str) -> str:
    pos = len(text) - len(text.lstrip())
    while text.startswith("@", pos):
        pos = _TOKEN_AND_SPACE.match(text, pos).end()  # type: ignore[union-attr]
    return text[pos:]


# A marker inside the text is where a merged split message's next part began ("... (2/2) ...").
_PART_INNER = re.compile(r"(?<!\S)[(\[]([1-9][0-9]?)/([1-9][0-9]?)[)\]](?!\S)")


def _part_marker(d: _Draft) -> None:
    edits = []
    m = _PART_HEAD.match(d.text)
    head = bool(m and 1 <= int(m.group(1)) <= int(m.group(2)) and int(m.group(2)) >= 2)
    if m and head:
        edits.append((m.start(), m.end(), ""))
    end = len(d.text.rstrip())
    window = max(0, end - _TAIL_WINDOW)
    t = _PART_TAIL.search(d.text[window:end])
    if t and 1 <= int(t.group(1)) <= int(t.group(2)) and int(t.group(2)) >= 2 and (not edits or window + t.start() >= edits[0][1]):
        edits.append((window + t.start(), end, ""))
    ends = list(edits)  # the head and tail markers, at most two
    floor = edits[0][1] if head else 0  # never back into an earlier edit
    # Inner markers only in a message that starts as one of parts (a merged split message): "(4/5)" in a
    # sentence is a rating.
    for m in _PART_INNER.finditer(d.text) if head else ():
        k, n = int(m.group(1)), int(m.group(2))
        if not (2 <= k <= n) or any(a <= m.start() < b or a < m.end() <= b for a, b, _ in ends):
            continue
        # The next part's reply chain (already "@user") goes with its marker.
        start = m.start()
        while start - len(USER) - 1 >= floor and d.text.endswith(USER + " ", 0, start):
            start -= len(USER) + 1
        edits.append((start, m.end(), ""))
        floor = m.end()
    edits.sort()
    if edits and _has_content("".join(d.text[a:b] for a, b in _gaps(edits, len(d.text)))):
        d.apply("part_marker", edits)


# --- whitespace -------------------------------------------------------------------------------------------
_SPACE = re.compile(r"\s+")


def _whitespace(d: _Draft) -> None:
    edits = []
    n = len(d.text)
    for m in _SPACE.finditer(d.text):
        if m.start() == 0 or m.end() == n:
            edits.append((m.start(), m.end(), ""))
        elif m.group() != " ":
            edits.append((m.start(), m.end(), " "))
    steps = list(d.steps)
    d.apply("whitespace", edits)
    d.steps = steps  # tidying is not a step worth explaining


def _names(d: _Draft, names: frozenset[str], mentioned: bool = True) -> None:
    """People's names as one placeholder: a finding must not depend on whether the customer is called Kari
    or Fatima (issue 13's name swaps), and a name carries nothing about attitude or behaviour."""
    # Imported here: redact reads speaker labels through ingest, and ingest imports this module.
    from ..redact.names import find_names

    spans = sorted((c.start, c.end) for c in find_names(d.text, names, mentioned=mentioned))
    edits: list[tuple[int, int, str]] = []
    for a, b in spans:
        if edits and a < edits[-1][1]:  # "Kari Nordmann" found whole and as "Kari": keep the first, longest
            if b > edits[-1][1]:
                edits[-1] = (edits[-1][0], b, NAME)
            continue
        edits.append((a, b, NAME))
    d.apply("names", edits)


def normalise_turn(text: str, channel: str | None = None, names: frozenset[str] | None = None,
                   language: str | None = None, plural_address: bool = True, nynorsk: bool = True,
                   mentioned_names: bool = True, polite_start: bool = True, polite_writer: bool = False,
                   informal_closings: bool = True) -> Normalised:
    """The text the classifiers read of one turn of ``channel`` ("chat", "call", "email" or None).

    With ``names`` (the people's names its conversation gives: ``redact.names_in_conversation``; an empty set
    still finds the names the turn introduces itself), people's names become ``[name]``; None leaves them.
    With ``language`` (the turn's), polite forms of address read as the plain ones (``text.register``); without
    ``plural_address`` only the capitalised polite forms ("De" inside a sentence), not "ni" or "dykk", which
    may also address many (a customer's "ni" addresses the company). With ``language`` nb or nn and ``nynorsk``,
    nynorsk word forms read as bokmål (``text.nynorsk``). ``mentioned_names``: also the listed first names a turn
    writes with a capital inside a sentence ("your colleague Jonas"; ``redact.names.find_name_spans``).
    ``polite_start`` (with ``language``): a polite "De" starting a sentence reads as "du" where the writer is
    polite (this turn, or ``polite_writer``: ``text.register``). ``informal_closings``: an e-mail's signature
    also starts at "Cheers," or "Ha det bra!" alone on a line.
    """
    d = _Draft(text)
    _entities(d)
    if channel == "email":
        _quoted_history(d)
        _disclaimer(d)
        _signature(d, informal_closings)
    _links(d)
    _email_addresses(d)
    _handles(d)
    _hashtags(d)
    _part_marker(d)
    _signature_tag(d)
    if names is not None:
        _names(d, names, mentioned_names)
    if language is not None:
        d.apply("register", polite_edits(d.text, language, capitals_only=not plural_address,
                                         polite_start=polite_start, polite_writer=polite_writer))
        if nynorsk:
            d.apply("nynorsk", nynorsk_edits(d.text, language))
    _whitespace(d)
    if not d.text and _has_content(text):
        return _fallback(text)
    return d.done()


_PLACEHOLDER = re.compile(r"\[link\]|\[email\]|\[name\]|(?<!\w)@user(?!\w)")


def message_text(text: str, channel: str | None = None) -> str:
    """What the writer of ``text`` wrote in it: HTML entities decoded and, in an e-mail, quoted history,
    disclaimer and signature cut (as ``normalise_turn`` does), nothing else changed."""
    d = _Draft(text)
    _entities(d)
    if channel == "email":
        _quoted_history(d)
        _disclaimer(d)
        _signature(d)
    return d.text


def language_text(text: str, channel: str | None = None) -> str:
    """What language identification reads of a turn: the normalised text without the placeholders (links and
    handles are no language's words; "[link]" would count as English). Informal closings stay, as before
    normalisation 6: a turn's language does not depend on the model's normalisation version."""
    normalised = normalise_turn(text, channel, informal_closings=False).text
    bare = " ".join(_PLACEHOLDER.sub(" ", normalised).split())
    return bare if any(ch.isalpha() for ch in bare) else normalised


def _fallback(text: str) -> Normalised:
    """The original with only whitespace tidied: for a turn that the steps would have emptied."""
    d = _Draft(text)
    _whitespace(d)
    if not d.text:
        return Normalised(text, text, tuple(range(len(text))), tuple(range(1, len(text) + 1)), ())
    return d.done()
