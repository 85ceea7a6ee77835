"""Which of nb, nn, da, sv, en each turn and each conversation is in.

A short Scandinavian turn ("ok takk", "tack!") says little about its language, and bokmål,
nynorsk and Danish share most short words. So each turn's own evidence is weighed by its
length and combined with what the same speaker wrote in the rest of the conversation;
a long turn with clear evidence keeps its own language (mixed-language conversations).
A language given in the input always wins.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

from ..conversation import LANGUAGES, Conversation, Turn
from .normalise import language_text

Distribution = Mapping[str, float]

_FLOOR = 1e-4
_OWN_EVIDENCE_WORDS = 8
_OWN_EVIDENCE_PROB = 0.75
# The agent's turns alone decide the conversation's language from this many words on.
_AGENT_CLEAR_WORDS = 8
_CUSTOMER_WEIGHT = 0.5


@lru_cache(maxsize=1)
def _detector():  # type: ignore[no-untyped-def]
    from lingua import Language, LanguageDetectorBuilder

    langs = {Language.BOKMAL: "nb", Language.NYNORSK: "nn", Language.DANISH: "da",
             Language.SWEDISH: "sv", Language.ENGLISH: "en"}
    detector = LanguageDetectorBuilder.from_languages(*langs).build()
    return detector, {lang.name: code for lang, code in langs.items()}


def turn_distributions(texts: Sequence[str]) -> list[dict[str, float]]:
    """lingua's confidence for each text over the five languages (uniform for no letters)."""
    detector, codes = _detector()
    out: list[dict[str, float]] = []
    results = detector.compute_language_confidence_values_in_parallel(list(texts)) if texts else []
    for text, values in zip(texts, results):
        dist = {code: _FLOOR for code in LANGUAGES}
        if any(ch.isalpha() for ch in text):
            for v in values:
                dist[codes[v.language.name]] = max(v.value, _FLOOR)
        total = sum(dist.values())
        out.append({k: v / total for k, v in dist.items()})
    return out


def _weight(text: str) -> float:
    return min(1.0, len(text.split()) / _OWN_EVIDENCE_WORDS)


def _pool(dists: Iterable[tuple[Distribution, float]]) -> dict[str, float]:
    """Weighted geometric pooling: every turn of a speaker adds its log-evidence.

    Probabilities are floored before the log: a pooled prior of many confident turns underflows to 0.0 for
    the other languages, and it must still be usable as evidence (log(0) would end the batch).
    """
    logs = {code: 0.0 for code in LANGUAGES}
    for dist, w in dists:
        for code in LANGUAGES:
            logs[code] += w * math.log(max(dist[code], _FLOOR))
    top = max(logs.values())
    exp = {k: math.exp(v - top) for k, v in logs.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}


def _conversation_language(scored: Sequence[Turn], by_turn: Mapping[int, Distribution],
                           agent_prior: Distribution, texts: Mapping[int, str]) -> str:
    """The agent's language where the agent's own words settle it, else that of all turns together.

    Short agent turns ("Det forstår jeg. La meg se.", "Klokka ti.") cannot tell bokmål from Danish or
    nynorsk, and short bokmål chats were coached in Danish; the customer usually writes the same language, so
    below ``_AGENT_CLEAR_WORDS`` agent words their turns join in (at half weight: the agent's language is the
    one coached). An agent who writes more keeps their own language, also when the customer writes another
    (a confidence threshold instead moved a Swedish agent who switched to English to English).
    ``agent_prior``: the agent's turns pooled already (the speaker prior of :func:`decide`); ``texts``: what
    language identification read of each turn (:func:`language_text`).
    """
    if sum(len(texts[t.index].split()) for t in scored if t.role == "agent") >= _AGENT_CLEAR_WORDS:
        return max(agent_prior, key=lambda k: agent_prior[k])
    agent = [(by_turn[t.index], _weight(texts[t.index])) for t in scored if t.role == "agent"]
    others = [(by_turn[t.index], _CUSTOMER_WEIGHT * _weight(texts[t.index])) for t in scored if t.role != "agent"]
    pooled = _pool(agent + others)
    return max(pooled, key=lambda k: pooled[k])


@dataclass(frozen=True)
class LanguageDecision:
    language: str
    probability: float


def decide(turns: Sequence[Turn], given: str | None = None,
           channel: str | None = None) -> tuple[list[LanguageDecision], str]:
    """Per-turn languages and the conversation's language.

    The conversation's language is the agent's (it is the language the agent is coached in) where the
    agent's turns settle it, else that of all turns together. Turns are read normalised, without links,
    addresses and handles (and an e-mail's quoted history and signature, which ``channel`` tells).
    """
    scored = [t for t in turns if t.role != "system"]
    texts = {t.index: language_text(t.text, channel) for t in scored}
    dists = turn_distributions([texts[t.index] for t in scored])
    by_turn = {t.index: d for t, d in zip(scored, dists)}
    speaker_prior: dict[str, dict[str, float]] = {}
    for role in ("customer", "agent"):
        pairs = [(by_turn[t.index], _weight(texts[t.index])) for t in scored if t.role == role]
        speaker_prior[role] = _pool(pairs) if pairs else {c: 1 / len(LANGUAGES) for c in LANGUAGES}
    conv_lang = given or _conversation_language(scored, by_turn, speaker_prior["agent"], texts)
    decisions: list[LanguageDecision] = []
    for t in turns:
        if t.language:
            decisions.append(LanguageDecision(t.language, 1.0))
            continue
        if t.role == "system":
            decisions.append(LanguageDecision(conv_lang, 0.0))
            continue
        own = by_turn[t.index]
        best_own = max(own, key=lambda k: own[k])
        if _weight(texts[t.index]) >= 1.0 and own[best_own] >= _OWN_EVIDENCE_PROB:
            decisions.append(LanguageDecision(best_own, own[best_own]))
            continue
        prior = speaker_prior[t.role]
        if given:
            # The stated language is strong prior knowledge for every turn without its own clear evidence.
            prior = {c: (0.9 if c == given else 0.1 / (len(LANGUAGES) - 1)) for c in LANGUAGES}
        post = _pool([(own, _weight(texts[t.index])), (prior, 1.0)])
        best = max(post, key=lambda k: post[k])
        decisions.append(LanguageDecision(best, post[best]))
    return decisions, conv_lang


def identify(conversation: Conversation) -> Conversation:
    """A copy of ``conversation`` with the language of every turn and of the whole filled in."""
    decisions, conv_lang = decide(conversation.turns, conversation.language, conversation.channel)
    turns = tuple(t if t.language == d.language else replace(t, language=d.language)
                  for t, d in zip(conversation.turns, decisions))
    return conversation.with_updates(turns=turns, language=conv_lang)


def identify_text(text: str) -> LanguageDecision:
    """The language of a lone text, without conversation context (less reliable when short)."""
    dist = turn_distributions([language_text(text)])[0]
    best = max(dist, key=lambda k: dist[k])
    return LanguageDecision(best, dist[best])
