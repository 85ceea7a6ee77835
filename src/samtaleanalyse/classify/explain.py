"""Which words carry a turn's label: word occlusion through the public ``predict`` path.

Each word is removed from the turn in turn and the turn is predicted again; a word's
contribution is p(label | full turn) - p(label | turn without the word). Occlusion needs
nothing but ``predict``, so it keeps explaining the model when its features or heads change,
and its numbers are the model's own probabilities, which coaches can read directly.

The functions take 0-based turn indices (the ``index`` of ``conversations.jsonl``); error
messages, which people read, number turns from 1 as the feedback and the CLI do.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Protocol, Sequence

from ..conversation import Conversation, Turn
from ..errors import ConfigError
from ..text.normalise import Normalised
from .features import reading_version, turn_reader
from .predict import TurnPrediction

METHOD = "occlusion"
# Every occluded word costs one more encoding of the turn; long e-mail turns would take minutes.
MAX_WORDS = 60
DEFAULT_TOP_K = 8
# Words joined by apostrophes or hyphens ("I'm", "follow-up") stay one unit; "?" and "!" are
# units of their own because questions and exclamations often carry the label by themselves.
_TOKEN = re.compile(r"\w+(?:['’\-]\w+)*|[?!]+")
_NO_SPACE_BEFORE = frozenset(",.;:!?)]}…»”")


class Predictor(Protocol):
    def predict(self, conversations: Sequence[Conversation]) -> list[list[TurnPrediction]]: ...


@dataclass(frozen=True)
class WordContribution:
    text: str
    start: int  # character offsets into the turn's text
    end: int
    contribution: float  # p(label | turn) - p(label | turn without this word)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end, "contribution": self.contribution}


@dataclass(frozen=True)
class TurnExplanation:
    turn_index: int
    role: str
    label: str
    probability: float
    method: str = METHOD
    # The top words by absolute contribution, most positive first; offsets point into ``text``.
    words: tuple[WordContribution, ...] = ()
    truncated: bool = False  # only the first ``MAX_WORDS`` words were occluded
    conversation_id: str = ""
    text: str = ""
    # What the model read of the turn when it was normalised (text.normalise), and the steps that changed it;
    # word offsets always point into ``text``, the turn as written.
    model_text: str = ""
    normalisation: tuple[str, ...] = ()

    @property
    def positive(self) -> tuple[WordContribution, ...]:
        return tuple(w for w in self.words if w.contribution > 0)

    @property
    def negative(self) -> tuple[WordContribution, ...]:
        return tuple(sorted((w for w in self.words if w.contribution < 0), key=lambda w: w.contribution))

    def to_dict(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "turn_index": self.turn_index, "role": self.role,
                "label": self.label, "probability": self.probability, "method": self.method,
                "truncated": self.truncated, "text": self.text, "words": [w.to_dict() for w in self.words],
                **({"model_text": self.model_text, "normalisation": list(self.normalisation)}
                   if self.normalisation else {})}


def word_spans(text: str, max_words: int = MAX_WORDS,
               read: Normalised | None = None) -> tuple[list[tuple[int, int]], bool]:
    """Character spans of the words to occlude, and whether the turn had more than ``max_words``.

    With ``read`` (``text`` as the model reads it: ``features.turn_reader``) the words are those the model
    reads, as spans of ``text``: a link or a name is one unit, and what the model never sees (an e-mail's
    quoted history, signature) is not occluded.
    """
    if read is None:
        spans = [m.span() for m in _TOKEN.finditer(text)]
    else:
        spans = list(dict.fromkeys(read.original_span(*m.span()) for m in _TOKEN.finditer(read.text)))
    return spans[:max_words], len(spans) > max_words


def occlude(text: str, start: int, end: int) -> str:
    """``text`` without ``text[start:end]``, spaces mended so the rest reads as a normal sentence."""
    left, right = text[:start].rstrip(), text[end:].lstrip()
    sep = " " if left and right and right[0] not in _NO_SPACE_BEFORE else ""
    return left + sep + right


def known_labels(classifier: object) -> dict[str, tuple[str, ...]]:
    """Task -> labels of a ``TurnClassifier``'s model; empty for classifiers that do not say."""
    heads = getattr(getattr(classifier, "model", None), "heads", None)
    if not isinstance(heads, Mapping):
        return {}
    return {task: tuple(getattr(head, "labels", ())) for task, head in heads.items()}


def explain_turn(classifier: Predictor, conversation: Conversation, turn_index: int, label: str | None = None,
                 top_k: int | None = DEFAULT_TOP_K, *, max_words: int = MAX_WORDS) -> TurnExplanation:
    """Explain ``label`` (default: the turn's most probable predicted label) of one turn."""
    choose = (lambda p: (label,)) if label is not None else (lambda p: (_top_label(p),))
    return _explain(classifier, conversation, [turn_index], choose, top_k, max_words)[0]


def explain_conversation(classifier: Predictor, conversation: Conversation, top_k: int | None = DEFAULT_TOP_K, *,
                         turns: Sequence[int] | None = None, labels: Sequence[str] | None = None,
                         max_words: int = MAX_WORDS) -> list[TurnExplanation]:
    """Explain each predicted label of each customer and agent turn (all variants in one ``predict`` call).

    ``labels`` explains those labels instead, on every turn whose task has them (a turn in
    ``turns`` must have them, or ``ConfigError`` says which it has). A turn asked
    for by ``turns`` that has no predicted label (an agent turn below every threshold) is
    explained for its most probable label, so that asking about a turn always answers.
    """
    explicit = turns is not None
    wanted = list(turns) if explicit else [t.index for t in conversation.turns if t.role != "system"]

    def choose(p: TurnPrediction) -> tuple[str, ...]:
        if labels is not None:
            # A label asked for on a turn asked for must fit it; across all turns it picks those it fits.
            return tuple(labels) if explicit else tuple(l for l in labels if l in p.scores)
        return p.labels or ((_top_label(p),) if explicit else ())

    return _explain(classifier, conversation, wanted, choose, top_k, max_words, skip_unpredicted=not explicit)


def _top_label(p: TurnPrediction) -> str:
    return p.labels[0] if p.labels else max(p.scores, key=lambda l: p.scores[l])


def _explain(classifier: Predictor, conversation: Conversation, turn_indices: Sequence[int],
             choose: Callable[[TurnPrediction], tuple[str, ...]], top_k: int | None, max_words: int,
             skip_unpredicted: bool = False) -> list[TurnExplanation]:
    position = {t.index: i for i, t in enumerate(conversation.turns)}
    for index in turn_indices:
        _check_turn(conversation, position, index)
    # The full conversation first, alone: it decides which turns need variants at all, and a
    # wrong label fails before the expensive call.
    full = {p.turn_index: p for p in classifier.predict([conversation])[0]}
    jobs: list[tuple[Turn, TurnPrediction, tuple[str, ...]]] = []
    for index in turn_indices:
        turn = conversation.turns[position[index]]
        if index not in full:
            if skip_unpredicted:
                continue
            raise ConfigError(f"the model gives no prediction for turn {index + 1} ({turn.role}) of {conversation.id!r}.")
        labels = choose(full[index])
        for label in labels:
            if label not in full[index].scores:
                raise ConfigError(f"label {label!r} is not one of turn {index + 1}'s labels ({turn.role} turn).",
                                  hint=f"choose one of: {', '.join(full[index].scores)}.")
        if labels:
            jobs.append((turn, full[index], labels))
    variants: list[Conversation] = []
    plan: list[tuple[list[tuple[int, int]], bool, int]] = []  # spans, truncated, first variant
    normalising = bool(getattr(classifier, "normalise", False))
    reader = turn_reader(conversation, reading_version(classifier)) if normalising else None
    reads = {turn.index: reader(turn) for turn, _, _ in jobs} if reader is not None else {}
    for turn, _, _ in jobs:
        spans, truncated = word_spans(turn.text, max_words, reads.get(turn.index))
        plan.append((spans, truncated, len(variants)))
        pos = position[turn.index]
        for start, end in spans:
            changed = replace(turn, text=occlude(turn.text, start, end))
            # Variants get ids of their own: predictions are matched to turns by conversation id.
            variants.append(replace(conversation, id=f"{conversation.id}#occlusion-{len(variants)}",
                                    turns=conversation.turns[:pos] + (changed,) + conversation.turns[pos + 1:]))
    predicted = classifier.predict(variants) if variants else []
    out: list[TurnExplanation] = []
    for (turn, base, labels), (spans, truncated, first) in zip(jobs, plan):
        read = reads.get(turn.index)
        without = [next((p.scores for p in predicted[first + k] if p.turn_index == turn.index), {})
                   for k in range(len(spans))]
        for label in labels:
            p_full = float(base.scores[label])
            words = [WordContribution(turn.text[s:e], s, e, round(p_full - float(w.get(label, 0.0)), 4))
                     for (s, e), w in zip(spans, without)]
            out.append(TurnExplanation(turn.index, turn.role, label, p_full, METHOD, _top(words, top_k),
                                       truncated, conversation.id, turn.text,
                                       read.text if read is not None and read.steps else "",
                                       read.steps if read is not None else ()))
    return out


def _check_turn(conversation: Conversation, position: Mapping[int, int], index: int) -> None:
    explainable = [t.index for t in conversation.turns if t.role != "system"]
    if index not in position:
        raise ConfigError(f"conversation {conversation.id!r} has no turn {index + 1}.",
                          hint=f"its customer and agent turns are {_ranges(explainable)} (the first turn is 1).")
    turn: Turn = conversation.turns[position[index]]
    if turn.role == "system":
        raise ConfigError(f"turn {index + 1} of {conversation.id!r} is a system message; only customer and agent "
                          "turns have labels.", hint=f"choose one of {_ranges(explainable)}.")


def _ranges(indices: Sequence[int]) -> str:
    """Turn numbers (index + 1) as 1-5, 7, 9-10: short enough for an error message about a long call."""
    parts: list[list[int]] = []
    for i in sorted(i + 1 for i in indices):
        if parts and parts[-1][1] == i - 1:
            parts[-1][1] = i
        else:
            parts.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in parts) or "none"


def _top(words: list[WordContribution], top_k: int | None) -> tuple[WordContribution, ...]:
    ranked = sorted(words, key=lambda w: -abs(w.contribution))
    kept = ranked if top_k is None else ranked[:top_k]
    return tuple(sorted(kept, key=lambda w: -w.contribution))
