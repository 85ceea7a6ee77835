"""What the pipeline concludes about a conversation, kept beside (not inside) the conversation."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .conversation import Conversation


@dataclass(frozen=True)
class AnalysedConversation:
    """A conversation with everything the pipeline found out about it.

    Later stages (classifiers, rules, feedback) add their results as new fields; each
    stage returns a new object rather than changing this one.
    """

    conversation: Conversation

    def to_dict(self) -> dict[str, Any]:
        """One line of ``conversations.jsonl``."""
        return self.conversation.to_dict()
