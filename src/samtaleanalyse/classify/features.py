"""What a head sees of a turn: its meaning, the other party's previous turn, its words, and cues.

Paraphrase and empathy are about what the customer just said, and an attitude often answers
the agent's last move, so every turn comes with the other party's previous turn as context.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np

from ..conversation import Conversation, Turn
from ..redact.names import names_in_conversation
from ..text.normalise import NORMALISATION_VERSION, Normalised, message_text, normalise_turn
from ..text.register import POLITE_LANGUAGES, writes_politely
from .cues import CueFeatures, cue_features
from .lexical import CharNgramVectorizer, SparseRows


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class TurnInput:
    conversation_id: str
    turn_index: int
    role: str
    text: str
    context: str  # the other party's previous turn, "" at the start
    position: int = 0       # place among the conversation's customer and agent turns, from 0
    n_turns: int = 1        # customer and agent turns in the conversation
    role_position: int = 0  # how many turns this speaker had before this one
    history: str = ""       # the other party's earlier turns (the last HISTORY_TURNS), oldest first, one per line


# Paraphrase overlap looks back this many turns of the other party. Bounded, because joining every earlier
# turn made a long conversation quadratic in memory (100,000 turns reached 23 GB); the corpus's longest
# conversation has 20 turns in all, so its features are unchanged.
HISTORY_TURNS = 20


def conversation_names(conversation: Conversation, mentioned: bool = True) -> frozenset[str]:
    """The people's names the conversation gives (speaker labels, presentations, greetings, and with
    ``mentioned`` listed first names capitalised inside a sentence), which the normalised text shows as
    ``[name]`` wherever they are mentioned."""
    return names_in_conversation([(t.speaker, t.role, t.text) for t in conversation.turns], mentioned=mentioned)


def turn_reader(conversation: Conversation, version: int = int(NORMALISATION_VERSION)) -> Callable[[Turn], Normalised]:
    """The turn's text as a model fitted on normalisation ``version`` reads it (``TurnModel.text_normalisation``):
    from 2 with the conversation's people's names as ``[name]``, from 3 polite address as plain, from 4 nynorsk
    word forms as bokmål, from 5 also the names mentioned inside a sentence ("your colleague Jonas"), from 6 a
    polite "De" at a sentence's start (for a writer polite anywhere in the conversation) and informal e-mail
    closings ("Cheers,")."""
    names = conversation_names(conversation, mentioned=version >= 5) if version >= 2 else None
    # what the writer wrote, not a quoted reply or a disclaimer's "Dersom De har mottatt ..."; read only in the
    # languages with a polite register, and only until a role is known to write politely
    polite_roles: set[str] = set()
    for t in conversation.turns if version >= 6 else ():
        language = t.language or conversation.language
        if t.role not in polite_roles and language in POLITE_LANGUAGES and writes_politely(
                message_text(t.text, conversation.channel), language):
            polite_roles.add(t.role)

    def read(turn: Turn) -> Normalised:
        # A customer's plural "ni" or "dykk" addresses the company, and what it says about the customer's
        # attitude stays (reading it as "du" cost 0.012 dev attitude macro-F1); a polite capital "De" is read.
        language = (turn.language or conversation.language) if version >= 3 else None
        return normalise_turn(turn.text, conversation.channel, names, language, plural_address=turn.role == "agent",
                              nynorsk=version >= 4, mentioned_names=version >= 5, polite_start=version >= 6,
                              polite_writer=turn.role in polite_roles, informal_closings=version >= 6)
    return read


def reading_version(classifier: object) -> int:
    """The text normalisation ``classifier`` reads: its model's (``TurnModel.text_normalisation``), the current
    one for a classifier without a model."""
    return int(getattr(getattr(classifier, "model", None), "text_normalisation", NORMALISATION_VERSION))


def turn_inputs(conversation: Conversation, roles: frozenset[str] = frozenset({"customer", "agent"}),
                normalise: bool = True, version: int = int(NORMALISATION_VERSION)) -> list[TurnInput]:
    """What the heads see of each turn; with ``normalise`` the text (and the context) as ``turn_reader`` gives it
    for normalisation ``version``: links, addresses, handles and people's names as placeholders, quoted history
    and signatures of e-mails left out."""
    out = []
    read = turn_reader(conversation, version) if normalise else None
    last: dict[str, str] = {}
    earlier: dict[str, list[str]] = {"customer": [], "agent": []}
    spoken = [t for t in conversation.turns if t.role != "system"]
    for pos, t in enumerate(spoken):
        other = "agent" if t.role == "customer" else "customer"
        text = read(t).text if read is not None else t.text
        if t.role in roles:
            out.append(TurnInput(conversation.id, t.index, t.role, text, last.get(other, ""), position=pos,
                                 n_turns=len(spoken), role_position=len(earlier.get(t.role, ())),
                                 history="\n".join(earlier.get(other, ())[-HISTORY_TURNS:])))
        last[t.role] = text
        earlier.setdefault(t.role, []).append(text)
    return out


def dense_features(inputs: Sequence[TurnInput], encoder: Encoder) -> np.ndarray:
    """[turn, context, turn*context, cosine]: (n, 3*dim + 1) float32."""
    if not inputs:
        return np.zeros((0, 3 * encoder.dim + 1), dtype=np.float32)
    e, c = _dense_rows(inputs, encoder)
    return np.hstack([e, c, e * c, (e * c).sum(axis=1, keepdims=True)]).astype(np.float32)


def _dense_rows(inputs: Sequence[TurnInput], encoder: Encoder) -> tuple[np.ndarray, np.ndarray]:
    unique = _unique_texts(inputs)
    return _rows(inputs, dict(zip(unique, encoder.encode(unique))) if unique else {}, encoder.dim)


def _unique_texts(inputs: Sequence[TurnInput]) -> list[str]:
    return list(dict.fromkeys(t for i in inputs for t in (i.text, i.context) if t))


def _rows(inputs: Sequence[TurnInput], vecs: dict[str, np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    zero = np.zeros(dim, dtype=np.float32)
    return (np.stack([vecs.get(i.text, zero) for i in inputs]),
            np.stack([vecs.get(i.context, zero) for i in inputs]))


def lexical_features(inputs: Sequence[TurnInput], vectorizer: CharNgramVectorizer) -> SparseRows:
    return vectorizer.transform([i.text for i in inputs])


def extra_features(inputs: Sequence[TurnInput], cues: CueFeatures | None) -> np.ndarray:
    """Cue features (lexicon, position, form, overlap): (n, cues.dim), (n, 0) without cues."""
    return cue_features(inputs, cues)
