"""Whom an agent's blaming turn puts the fault on: the customer, or someone else.

The classifier's ``blame`` label covers both ("puts the fault on someone else: colleague, department,
partner, courier, system, customer", GUIDELINES.md), and one finding, ``blame_shifting``, reports them.
The advice differs: blaming a colleague or a partner is about owning the company's mistakes, blaming the
customer about giving the customer the benefit of the doubt. This module reads which one a turn does, from
phrases that put the fault on the one addressed ("det er nok du som ...", "you must have ..."), so that the
feedback can say so (``blame_shifting`` with variant ``customer``). It reads only a turn the model already
labelled ``blame``: a phrase such as "du burde ha fått" in any other turn means nothing here.

The phrases are deliberately narrow: a turn that blames the courier while telling the customer what to do
("du må ta det med Posten") is no reproach to the customer, and a missed customer blame only costs the
more general wording.
"""
from __future__ import annotations

import re
from typing import Mapping

_FLAGS = re.IGNORECASE

# Per language: phrases that put the fault on the person addressed (or on "the customer" in the third person).
_PATTERNS: Mapping[str, re.Pattern[str]] = {
    "nb": re.compile(
        r"\bdet (?:er|var) (?:nok |jo |altså )?du som\b|\bdu må (?:nok )?ha (?:glemt|tastet|skrevet|valgt|oppgitt|"
        r"misforstått|oversett|trykket|slått|bestilt)|\bdin (?:egen )?feil\b|\bditt (?:eget )?ansvar\b|"
        r"\bdu (?:burde|skulle) (?:ha )?(?:sjekket|lest|meldt|varslet|kontaktet|sagt|passet|tatt|låst)|"
        r"\b(?:at|som) du selv (?:oppga|sa|skrev|valgte|bestilte|godtok|glemte|har)|"
        r"\bdu (?:har|hadde) (?:selv |jo |nok )?(?:glemt|oversett|misforstått|tastet feil|skrevet feil|"
        r"valgt feil|godtatt|skrudd av|slått av)|\b(?:valgte|gjorde|bestemte|godtok) du (?:jo )?selv\b|\bpå din side\b|\bkunden (?:selv|har glemt|har ikke)\b", _FLAGS),
    "nn": re.compile(
        r"\bdet (?:er|var) (?:nok |jo |altså )?du som\b|\bdu må (?:nok )?ha (?:gløymt|tasta|skrive|valt|oppgitt|"
        r"misforstått|oversett|trykt|slått|bestilt)|\bdi (?:eiga )?feil\b|\bditt (?:eige )?ansvar\b|"
        r"\bdu (?:burde|skulle) (?:ha )?(?:sjekka|lese|meldt|varsla|kontakta|sagt|passa|teke|låst)|"
        r"\b(?:at|som) du sjølv (?:oppgav|sa|skreiv|valde|bestilte|godtok|gløymde|har)|"
        r"\bdu (?:har|hadde) (?:sjølv |jo |nok )?(?:gløymt|oversett|misforstått|tasta feil|skrive feil|"
        r"valt feil|godteke|skrudd av|slått av)|\b(?:valde|gjorde|bestemte|godtok) du (?:jo )?sjølv\b|\bpå di side\b|\bkunden (?:sjølv|har gløymt|ikkje har)\b", _FLAGS),
    "da": re.compile(
        r"\bdet (?:er|var) (?:nok |jo |altså )?dig,? der\b|\bdu må (?:nok )?have (?:glemt|tastet|skrevet|valgt|"
        r"angivet|misforstået|overset|trykket|slået|bestilt)|\bdin (?:egen )?fejl\b|\bdit (?:eget )?ansvar\b|"
        r"\bdu (?:burde|skulle) (?:have )?(?:tjekket|læst|meldt|givet besked|kontaktet|sagt|passet|taget|låst)|"
        r"\b(?:at|som) du selv (?:oplyste|sagde|skrev|valgte|bestilte|accepterede|glemte|har)|"
        r"\bdu (?:har|havde) (?:selv |jo |nok )?(?:glemt|overset|misforstået|tastet forkert|skrevet forkert|"
        r"valgt forkert|accepteret|slået fra|slukket for)|\b(?:valgte|gjorde|besluttede|accepterede) du (?:jo )?selv\b|\bpå din side\b|\bkunden (?:selv|har glemt|har ikke)\b",
        _FLAGS),
    "sv": re.compile(
        r"\bdet (?:är|var) (?:nog |ju |alltså )?du som\b|\bdu måste (?:nog )?ha (?:glömt|skrivit|valt|angett|"
        r"missförstått|missat|tryckt|slagit|beställt|förbrukat)|\bditt (?:eget )?(?:fel|ansvar)\b|"
        r"\bdu (?:borde|skulle) (?:ha )?(?:kollat|läst|anmält|meddelat|kontaktat|sagt|passat|tagit|låst)|"
        r"\b(?:att|som) du själv (?:angav|sa|skrev|valde|beställde|godkände|glömde|har)|"
        r"\bdu (?:har|hade) (?:själv |ju |nog )?(?:glömt|missat|missförstått|skrivit fel|angett fel|valt fel|"
        r"godkänt|stängt av|förbrukat)|\b(?:valde|gjorde|bestämde|godkände) du (?:ju )?själv\b|\bpå din sida\b|\bkunden (?:själv|har glömt|har inte)\b", _FLAGS),
    "en": re.compile(
        r"\b(?:it|that) (?:was|is|'s) (?:probably |actually )?you who\b|\byou must have (?:forgotten|entered|typed|"
        r"chosen|selected|misread|missed|pressed|ordered|used)|\byour (?:own )?fault\b|\byour (?:own )?"
        r"responsibility\b|\byou (?:should|ought to) have (?:checked|read|reported|told|contacted|locked|taken)|"
        r"\b(?:that|which) you yourself\b|\byou (?:have |had )?(?:forgot|forgotten|failed to|misread|misunderstood|"
        r"entered the wrong|typed the wrong|chose the wrong|selected the wrong|turned off|switched off|agreed to)\b|"
        r"\byou (?:chose|decided|agreed) (?:that |this |it )?yourself\b|\bon your (?:end|side)\b|\bby the (?:customer|tenant|user|account holder)\b|\bcaused by you\b", _FLAGS),
}


def blames_customer(text: str, language: str | None) -> bool:
    """Whether ``text`` (an agent turn labelled ``blame``, in ``language``) puts the fault on the customer."""
    pattern = _PATTERNS.get(language or "")
    if pattern is None:
        return False
    # Apostrophes as chat writes them ("it’s") read as the plain one.
    return pattern.search(text.replace("\u2019", "'")) is not None
