"""Which words of a turn carry its labels, as character spans a report can highlight.

Two sources, both honest about what they are:
- ``cue``: the words of the model's own cue lexicon (one of its inputs) that signal a predicted label,
  found in the turn. Cheap enough for every turn of a nightly batch.
- ``occlusion``: the model's own attribution (``explain``): each word removed in turn and the label's
  probability measured again. One encoder pass per word, so it is run only where it matters most (the
  turns a finding points at) and only when asked (``score --explain``).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from ..conversation import Conversation
from ..text.normalise import NORMALISATION_VERSION, Normalised, normalise_turn
from .explain import Predictor, explain_conversation
from .features import turn_reader
from .lexicon import DEFAULT_LEXICON, LexiconMatcher
from .predict import TurnPrediction

# Lexicon categories that signal one of the labels (the others are context for the model only).
CUE_LABELS: Mapping[str, str] = {
    "apology": "apology", "sympathy_to_hear": "empathy", "empathy": "empathy", "paraphrase_check": "paraphrase",
    "paraphrase_summary": "paraphrase", "question": "question", "offer": "solution", "solution": "solution",
    "compensation": "compensation", "thanks": "thanks", "follow_up": "follow_up", "blame": "blame",
    "contradiction": "contradiction", "improvement": "improvement", "hostile": "hostile", "sceptical": "sceptical",
    "loyal": "loyal",
}
# A word is shown as carrying a label when removing it lowers the label's probability at least this much.
MIN_CONTRIBUTION = 0.05
TOP_WORDS = 3


class EvidenceFinder:
    def __init__(self, lexicon: Mapping[str, Sequence[str]] | None = None) -> None:
        self.matcher = LexiconMatcher(lexicon or DEFAULT_LEXICON)

    def cues(self, text: str, labels: Iterable[str], scores: Mapping[str, float],
             channel: str | None = None, normalised: Normalised | None = None) -> list[dict[str, Any]]:
        """Cue words of ``labels`` in ``text``, found where the model reads them (``normalised``, the turn as the
        model's ``turn_reader`` gives it; by default the text's basic normalisation) and given as offsets into
        ``text`` as it was written."""
        wanted = set(labels) - {"neutral"}
        out: list[dict[str, Any]] = []
        seen: set[tuple[int, int, str]] = set()
        normalised = normalised if normalised is not None else normalise_turn(text, channel)
        for n_start, n_end, category in self.matcher.spans(normalised.text):
            start, end = normalised.original_span(n_start, n_end)
            label = CUE_LABELS.get(category)
            if label in wanted and (start, end, label) not in seen:
                seen.add((start, end, label))
                out.append({"label": label, "start": start, "end": end,
                            "weight": round(float(scores.get(label, 0.0)), 4), "source": "cue"})
        return out

    def for_conversation(self, conversation: Conversation, predictions: Sequence[TurnPrediction],
                         version: int = int(NORMALISATION_VERSION)) -> dict[int, list[dict[str, Any]]]:
        """Cue spans of every labelled turn, read as a model fitted on text normalisation ``version`` reads it
        (a formal "Deres feil" is "your fault" to it, not "their fault", and is not shown as blame)."""
        by_index = {t.index: t for t in conversation.turns}
        read = turn_reader(conversation, version)
        out: dict[int, list[dict[str, Any]]] = {}
        for p in predictions:
            turn = by_index.get(p.turn_index)
            if turn is not None and p.labels:
                found = self.cues(turn.text, p.labels, p.scores, conversation.channel, read(turn))
                if found:
                    out[p.turn_index] = found
        return out


def occlusion_evidence(classifier: Predictor, conversation: Conversation, turns: Sequence[int],
                       ) -> dict[int, list[dict[str, Any]]]:
    """The model's own attribution for the predicted labels of ``turns`` (the top words that raise them)."""
    if not turns:
        return {}
    out: dict[int, list[dict[str, Any]]] = {}
    for e in explain_conversation(classifier, conversation, TOP_WORDS, turns=sorted(set(turns))):
        if e.label == "neutral":
            continue
        for w in e.positive:
            if w.contribution >= MIN_CONTRIBUTION:
                out.setdefault(e.turn_index, []).append(
                    {"label": e.label, "start": w.start, "end": w.end, "weight": round(w.contribution, 4),
                     "source": "occlusion"})
    return out
