"""The one-way flow from read conversations to analysed ones: language, then turn classifiers, then coaching."""
from __future__ import annotations

from dataclasses import replace
from itertools import islice
from typing import Iterable, Iterator, overload

from .analysis import AnalysedConversation
from .classify.predict import TurnClassifier
from .coaching import Coach, from_analysis
from .conversation import Conversation
from .text.language import identify

BATCH_CONVERSATIONS = 32


@overload
def analyse(conversations: Conversation, classifier: TurnClassifier | None = None,
            coach: Coach | None = None) -> AnalysedConversation: ...
@overload
def analyse(conversations: Iterable[Conversation], classifier: TurnClassifier | None = None,
            coach: Coach | None = None) -> Iterator[AnalysedConversation]: ...


def analyse(conversations, classifier=None, coach=None):  # type: ignore[no-untyped-def]
    """Analyse one conversation, or lazily a stream of them (classified in batches, order kept).

    Coaching needs turn labels, so it runs only where a classifier ran.
    """
    if isinstance(conversations, Conversation):
        return next(_analyse_stream([conversations], classifier, coach))
    return _analyse_stream(conversations, classifier, coach)


def _analyse_stream(conversations: Iterable[Conversation], classifier: TurnClassifier | None,
                    coach: Coach | None) -> Iterator[AnalysedConversation]:
    it = iter(conversations)
    while batch := [identify(c) for c in islice(it, BATCH_CONVERSATIONS)]:
        predictions = classifier.predict(batch) if classifier is not None else [[] for _ in batch]
        for conv, preds in zip(batch, predictions):
            analysed = AnalysedConversation(conversation=conv, predictions=tuple(preds))
            if coach is not None and classifier is not None:
                analysed = replace(analysed, coaching=coach(from_analysis(analysed)))
            yield analysed
