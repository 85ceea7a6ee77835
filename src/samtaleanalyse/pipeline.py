"""The one-way flow from read conversations to analysed ones."""
from __future__ import annotations

from typing import Iterable, Iterator, overload

from .analysis import AnalysedConversation
from .conversation import Conversation
from .text.language import identify


@overload
def analyse(conversations: Conversation) -> AnalysedConversation: ...
@overload
def analyse(conversations: Iterable[Conversation]) -> Iterator[AnalysedConversation]: ...


def analyse(conversations):  # type: ignore[no-untyped-def]
    """Analyse one conversation, or lazily a stream of them."""
    if isinstance(conversations, Conversation):
        return _analyse_one(conversations)
    return (_analyse_one(c) for c in conversations)


def _analyse_one(conversation: Conversation) -> AnalysedConversation:
    return AnalysedConversation(conversation=identify(conversation))
