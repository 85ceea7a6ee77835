"""Speech-recogniser noise for training: call-like copies of chat conversations (training data only).

Calls reach the analyser as transcripts: no case, no punctuation, fillers ("øh", "ehm", "um"), false starts
("jeg jeg har"), numbers as words, and now and then a word the recogniser got wrong. The corpus has fewer
calls than chats, so each chat conversation of the train split can be copied as a call with that noise; the
copy keeps the labels (the noise changes how it is said, not what is said), is marked ``augmented`` and
stays in train. ``data.examples_of`` refuses an augmented conversation outside train.
"""
from __future__ import annotations

import random
import re
from dataclasses import replace
from typing import Iterable, Sequence

from samtaleanalyse.conversation import LANGUAGES
from samtaleanalyse.corpus.model import LabelledConversation, LabelledTurn

FILLERS: dict[str, tuple[str, ...]] = {
    "nb": ("øh", "eh", "ehm", "altså"), "nn": ("øh", "eh", "ehm", "altså"), "da": ("øh", "øhm", "altså", "ehm"),
    "sv": ("eh", "öh", "ehm", "alltså"), "en": ("um", "uh", "erm", "like"),
}
NUMBERS: dict[str, tuple[str, ...]] = {  # 0..20 as words
    "nb": ("null", "en", "to", "tre", "fire", "fem", "seks", "sju", "åtte", "ni", "ti", "elleve", "tolv", "tretten",
           "fjorten", "femten", "seksten", "sytten", "atten", "nitten", "tjue"),
    "nn": ("null", "ein", "to", "tre", "fire", "fem", "seks", "sju", "åtte", "ni", "ti", "elleve", "tolv", "tretten",
           "fjorten", "femten", "seksten", "sytten", "atten", "nitten", "tjue"),
    "da": ("nul", "en", "to", "tre", "fire", "fem", "seks", "syv", "otte", "ni", "ti", "elleve", "tolv", "tretten",
           "fjorten", "femten", "seksten", "sytten", "atten", "nitten", "tyve"),
    "sv": ("noll", "ett", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio", "tio", "elva", "tolv", "tretton",
           "fjorton", "femton", "sexton", "sjutton", "arton", "nitton", "tjugo"),
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
           "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"),
}
# Words a recogniser confuses with a similar-sounding one (a few per language; the meaning of the turn stays).
MISHEARD: dict[str, dict[str, str]] = {
    "nb": {"faktura": "faktora", "abonnement": "abonnemang", "levering": "leveringen", "ordre": "order",
           "nettet": "netter", "kontoen": "konto en"},
    "nn": {"faktura": "faktora", "abonnement": "abonnemang", "levering": "leveringa", "nettet": "netter"},
    "da": {"faktura": "faktora", "abonnement": "abonnementet", "levering": "leveringen", "pakken": "pakke n"},
    "sv": {"faktura": "faktora", "abonnemang": "abonnemanget", "leverans": "leveransen", "paketet": "packetet"},
    "en": {"invoice": "in voice", "account": "a count", "order": "odor", "refund": "re fund", "router": "rooter"},
}
ASR_SUFFIX = "-asr"
# A counterfactual copy's id is its original's, this mark and the swap (augment_swaps.py); no corpus id has it.
COPY_MARK = "~"


def original_id(conversation_id: str) -> str:
    """The conversation an augmented copy (ASR noise or a swap) was made from (the id itself for any other)."""
    return conversation_id.partition(COPY_MARK)[0].removesuffix(ASR_SUFFIX)


_PUNCT = re.compile(r"[^\w\s'-]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"\b\d+\b")


def asr_text(text: str, language: str, rng: random.Random) -> str:
    """``text`` as a speech recogniser might have written it."""
    words = NUMBERS.get(language, NUMBERS["en"])
    text = _NUMBER.sub(lambda m: words[int(m.group())] if int(m.group()) <= 20 else m.group(), text)
    text = _SPACES.sub(" ", _PUNCT.sub(" ", text.lower())).strip()
    tokens = text.split(" ") if text else []
    misheard = MISHEARD.get(language, {})
    fillers = FILLERS.get(language, FILLERS["en"])
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if tok in misheard and rng.random() < 0.5:
            tok = misheard[tok]
        if i == 0 and len(tokens) > 3 and rng.random() < 0.25:
            out.append(tok)  # false start: the first word twice
        elif i > 0 and rng.random() < 0.06:
            out.append(rng.choice(fillers))
        out.append(tok)
    if out and rng.random() < 0.3:
        out.insert(0, rng.choice(fillers))
    return " ".join(out)


def asr_copy(conv: LabelledConversation, rng: random.Random) -> LabelledConversation:
    """A call-like, augmented copy of a training conversation, labels kept."""
    if conv.split != "train":
        raise ValueError(f"{conv.id}: only training conversations are augmented (split {conv.split!r})")
    turns = tuple(LabelledTurn(turn=replace(lt.turn, text=asr_text(lt.turn.text, lt.turn.language or conv.language,
                                                                     rng)),
                               attitude=lt.attitude, behaviours=lt.behaviours) for lt in conv.turns)
    return replace(conv, id=f"{conv.id}{ASR_SUFFIX}", channel="call", turns=turns, augmented=True, findings=())


def asr_augment(convs: Iterable[LabelledConversation], seed: int = 13,
                channels: Sequence[str] = ("chat",)) -> list[LabelledConversation]:
    """One ASR-noised copy of every training conversation of ``channels`` (default chats), reproducible by ``seed``."""
    rng = random.Random(seed)
    return [asr_copy(c, rng) for c in convs if c.split == "train" and c.channel in channels
            and c.language in LANGUAGES and not c.augmented]
