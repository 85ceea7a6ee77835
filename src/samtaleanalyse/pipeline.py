"""The one-way flow from read conversations to analysed ones: language, then turn classifiers."""
from __future__ import annotations

from itertools import islice
from typing import Iterable, Iterator, overload

from .analysis import AnalysedConversation
from .classify.predict import TurnClassifier
from .conversation import Conversation
from .text.language import identify

BATCH_CONVERSATIONS = 32


@overload
def analyse(conversations: Conversation, classifier: TurnClassifier | None = None) -> AnalysedConversation: ...
@overload
def analyse(conversations: Iterable[Conversation], classifier: TurnClassifier | None = None) -> Iterator[AnalysedConversation]: ...


def analyse(conversations, classifier=None):  # type: ignore[no-untyped-def]
    """Analyse one conversation, or lazily a stream of them (classified in batches, order kept)."""
    if isinstance(conversations, Conversation):
        return next(_analyse_stream([conversations], classifier))
    return _analyse_stream(conversations, classifier)


def _analyse_stream(conversations: Iterable[Conversation], classifier: TurnClassifier | None) -> Iterator[AnalysedConversation]:
    it = iter(conversations)
    while batch := [identify(c) for c in islice(it, BATCH_CONVERSATIONS)]:
        predictions = classifier.predict(batch) if classifier is not None else [[] for _ in batch]
        for conv, preds in zip(batch, predictions):
            yield AnalysedConversation(conversation=conv, predictions=tuple(preds))
