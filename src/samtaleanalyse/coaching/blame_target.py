"""Whom an agent's blaming turn puts the fault on: the customer, or someone else.

The classifier's ``blame`` label covers both ("puts the fault on someone else: colleague, department,
partner, courier, system, customer", GUIDELINES.md), and one finding, ``blame_shifting``, reports them.
The advice differs: blaming a colleague or a partner is about owning the company's mistakes, blaming the
customer about solving rather than judging. This module reads which one a turn does, from phrases that put
the fault on the one addressed ("det er nok du som har glemt ...", "you must have entered the wrong ..."), so
that the feedback can say so (``blame_shifting`` with variant ``customer``). It reads only a turn the model
already labelled ``blame``.

The phrases are deliberately narrow: a turn that blames the courier while telling the customer what to do
("du må ta det med Posten", "it's not your fault, the courier lost it", "I'm on your side") must keep the
general wording, and a missed customer blame only costs the more general wording. Every phrase is one line
below, so a miss or a misfire is fixed where it is read; the cases are in tests/data/coaching/blame_target.jsonl.
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence

# "not your fault", "I'm not saying it's your fault": a negation shortly before a phrase turns it round.
_NEGATION = re.compile(r"\b(?:ikke|ikkje|inte|not|aldri|aldrig|never)\b|n't\b", re.IGNORECASE)
_NEGATION_REACH = 25
# "det var du som ringte" is no reproach: contacting or calling is what customers should do.
_NOT_CONTACT = r"(?!,?\s*(?:ringte|ringde|ringede|called|rang|kontakt|contacted|skreiv|skrev|wrote|sendte))"
# "du skulle ha tatt imot et sms": something the customer should have been given, not a fault.
_NOT_RECEIVE = r"(?!\s+(?:imot|imod|emot))"

_PHRASES: Mapping[str, Sequence[str]] = {
    "nb": (
        rf"\bdet (?:er|var) (?:nok |jo |altså |faktisk )?du som\b{_NOT_CONTACT}",
        r"\bdu må (?:nok )?ha (?:glemt|tastet feil|skrevet feil|valgt feil|oppgitt feil|misforstått|oversett|trykket feil|"
        r"bestilt feil|brukt feil|slått av|skrudd av)\b",
        r"\b(?:er|var|blir) (?:nok |jo |altså |faktisk )?din (?:egen )?(?:feil|skyld)\b",
        r"\b(?:er|var|blir) (?:nok |jo |altså |faktisk )?ditt (?:eget )?ansvar\b",
        rf"\bdu (?:burde|skulle) (?:ha )?(?:sjekket|lest|meldt|varslet|passet|tatt|låst|fulgt)\b{_NOT_RECEIVE}",
        r"\b(?:at|som) du selv (?:oppga|skrev|valgte|bestilte|godtok|glemte)\b",
        r"\bdu (?:har|hadde) (?:selv |jo |nok |altså )?(?:glemt|oversett|misforstått|tastet feil|skrevet feil|valgt feil|"
        r"godtatt|skrudd av|slått av|ikke lest|ikke fulgt|ikke betalt)\b",
        r"\bdu glemte\b",
        r"\b(?:valgte|gjorde|bestemte|godtok) du (?:jo )?selv\b",
        r"\b(?:feilen|problemet|årsaken|det) (?:ligger|er|sitter) (?:nok |jo |altså )?(?:hos deg|på din side)\b",
        r"\bkunden (?:har selv|har glemt|har ikke (?:lest|fulgt|betalt|meldt))\b",
    ),
    "nn": (
        rf"\bdet (?:er|var) (?:nok |jo |altså |faktisk )?du som\b{_NOT_CONTACT}",
        r"\bdu må (?:nok )?ha (?:gløymt|tasta feil|skrive feil|valt feil|oppgitt feil|misforstått|oversett|trykt feil|"
        r"bestilt feil|brukt feil|slått av|skrudd av)\b",
        r"\b(?:er|var|blir) (?:nok |jo |altså |faktisk )?(?:din (?:eigen )?feil|di (?:eiga )?skuld)\b",
        r"\b(?:er|var|blir) (?:nok |jo |altså |faktisk )?ditt (?:eige )?ansvar\b",
        rf"\bdu (?:burde|skulle) (?:ha )?(?:sjekka|lese|lest|meldt|varsla|passa|teke|tatt|låst|følgt)\b{_NOT_RECEIVE}",
        r"\b(?:at|som) du sjølv (?:oppgav|skreiv|valde|bestilte|godtok|gløymde)\b",
        r"\bdu (?:har|hadde) (?:sjølv |jo |nok |altså )?(?:gløymt|oversett|misforstått|tasta feil|skrive feil|valt feil|"
        r"godteke|skrudd av|slått av|ikkje lese|ikkje lest|ikkje følgt|ikkje betalt)\b",
        r"\bdu gløymde\b",
        r"\b(?:valde|gjorde|bestemte|godtok) du (?:jo )?sjølv\b",
        r"\b(?:feilen|problemet|årsaka|det) (?:ligg|er|sit) (?:nok |jo |altså )?(?:hos deg|på di side)\b",
        r"\bkunden (?:har sjølv|har gløymt|har ikkje (?:lese|lest|følgt|betalt|meldt))\b",
    ),
    "da": (
        rf"\bdet (?:er|var) (?:nok |jo |altså |faktisk )?dig,? der\b{_NOT_CONTACT}",
        r"\bdu må (?:nok )?have (?:glemt|tastet forkert|skrevet forkert|valgt forkert|angivet forkert|misforstået|"
        r"overset|trykket forkert|bestilt forkert|brugt forkert|slået fra|slukket for)\b",
        r"\b(?:er|var|bliver) (?:nok |jo |altså |faktisk )?din (?:egen )?(?:fejl|skyld)\b",
        r"\b(?:er|var|bliver) (?:nok |jo |altså |faktisk )?dit (?:eget )?ansvar\b",
        rf"\bdu (?:burde|skulle) (?:have )?(?:tjekket|læst|meldt|passet|taget|låst|fulgt)\b{_NOT_RECEIVE}",
        r"\b(?:at|som) du selv (?:oplyste|skrev|valgte|bestilte|accepterede|glemte)\b",
        r"\bdu (?:har|havde) (?:selv |jo |nok |altså )?(?:glemt|overset|misforstået|tastet forkert|skrevet forkert|"
        r"valgt forkert|accepteret|slået fra|slukket for|ikke læst|ikke fulgt|ikke betalt)\b",
        r"\bdu glemte\b",
        r"\b(?:valgte|gjorde|besluttede|accepterede) du (?:jo )?selv\b",
        r"\b(?:fejlen|problemet|årsagen|det) (?:ligger|er|sidder) (?:nok |jo |altså )?(?:hos dig|på din side)\b",
        r"\bkunden (?:har selv|har glemt|har ikke (?:læst|fulgt|betalt|meldt))\b",
    ),
    "sv": (
        rf"\bdet (?:är|var) (?:nog |ju |alltså |faktiskt )?du som\b{_NOT_CONTACT}",
        r"\bdu måste (?:nog )?ha (?:glömt|skrivit fel|valt fel|angett fel|missförstått|missat|tryckt fel|beställt fel|"
        r"använt fel|stängt av|förbrukat)\b",
        r"\b(?:är|var|blir) (?:nog |ju |alltså |faktiskt )?(?:ditt (?:eget )?(?:fel|ansvar)|din (?:egen )?skuld)\b",
        rf"\bdu (?:borde|skulle) (?:ha )?(?:kollat|läst|anmält|passat|tagit|låst|följt)\b{_NOT_RECEIVE}",
        r"\b(?:att|som) du själv (?:angav|skrev|valde|beställde|godkände|glömde)\b",
        r"\bdu (?:har|hade) (?:själv |ju |nog |alltså )?(?:glömt|missat|missförstått|skrivit fel|angett fel|valt fel|"
        r"godkänt|stängt av|förbrukat|inte läst|inte följt|inte betalat)\b",
        r"\bdu glömde\b",
        r"\b(?:valde|gjorde|bestämde|godkände) du (?:ju )?själv\b",
        r"\b(?:felet|problemet|orsaken|det) (?:ligger|är|sitter) (?:nog |ju |alltså )?(?:hos dig|på din sida)\b",
        r"\bkunden (?:har själv|har glömt|har inte (?:läst|följt|betalat|anmält))\b",
    ),
    "en": (
        rf"\b(?:it|that) (?:was|is|'s) (?:probably |actually |really )?you who\b{_NOT_CONTACT}",
        r"\byou must(?: have|'ve) (?:forgotten|entered the wrong|typed the wrong|chosen the wrong|selected the wrong|"
        r"misread|missed|pressed the wrong|ordered the wrong|used the wrong|turned off|switched off)\b",
        r"\b(?:is|was|'s) (?:all |entirely |really |actually )?your (?:own )?(?:fault|responsibility)\b",
        r"\byou (?:should|ought to) have (?:checked|read|reported|locked|taken|followed)\b",
        r"\b(?:that|which) you yourself (?:chose|entered|agreed|accepted|ordered|forgot)\b",
        r"\byou (?:have |had )?(?:forgot|forgotten|failed to|misread|misunderstood|entered the wrong|typed the wrong|"
        r"chose the wrong|selected the wrong|turned off|switched off|agreed to|didn't read|did not read|never read|"
        r"never activated|didn't follow|did not follow)\b",
        r"\byou (?:chose|decided|agreed) (?:that |this |it )?yourself\b",
        r"\b(?:something|problem|issue|fault|error)s? (?:is |lies |'s )?(?:\w+ )?on your (?:end|side)\b",
        r"\b(?:caused|insufficient|improper|incorrect|inadequate)\b[^.!?]{0,60}\bby (?:the )?(?:customer|tenant|user)s?\b",
        r"\bcaused by you\b",
    ),
}
_PATTERNS: Mapping[str, re.Pattern[str]] = {
    lang: re.compile("|".join(f"(?:{p})" for p in phrases), re.IGNORECASE) for lang, phrases in _PHRASES.items()}


def blames_customer(text: str, language: str | None) -> bool:
    """Whether ``text`` (an agent turn labelled ``blame``, in ``language``) puts the fault on the customer."""
    pattern = _PATTERNS.get(language or "")
    if pattern is None:
        return False
    # Apostrophes as chat writes them ("it’s") read as the plain one; runs of spaces as one.
    text = " ".join(text.replace("\u2019", "'").split())
    return any(not _negated(text, m.start()) for m in pattern.finditer(text))


def _negated(text: str, start: int) -> bool:
    """A negation in the words just before ``start``, within its sentence."""
    before = re.split(r"[.!?;:]", text[max(0, start - _NEGATION_REACH):start])[-1]
    return _NEGATION.search(before) is not None
