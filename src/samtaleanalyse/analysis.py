"""What the pipeline concludes about a conversation, kept beside (not inside) the conversation."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .classify.predict import TurnPrediction
from .coaching.coach import Coaching
from .conversation import Conversation


@dataclass(frozen=True)
class AnalysedConversation:
    """A conversation with everything the pipeline found out about it.

    Each stage (language, classifiers, later rules and feedback) returns a new object with its
    results added; none changes the conversation it was given.
    """

    conversation: Conversation
    predictions: tuple[TurnPrediction, ...] = ()
    coaching: Coaching | None = None

    def prediction(self, turn_index: int) -> TurnPrediction | None:
        return next((p for p in self.predictions if p.turn_index == turn_index), None)

    def to_dict(self) -> dict[str, Any]:
        """One line of ``conversations.jsonl``."""
        out = self.conversation.to_dict()
        if self.predictions:
            out["model"] = self.predictions[0].model
            by_turn = {p.turn_index: p for p in self.predictions}
            for turn in out["turns"]:
                p = by_turn.get(turn["index"])
                if p is None:
                    continue
                if p.task == "attitude":
                    turn["attitude"] = p.labels[0]
                    turn["attitude_scores"] = dict(p.scores)
                else:
                    turn["behaviours"] = list(p.labels)
                    turn["behaviour_scores"] = dict(p.scores)
                turn["uncertain"] = p.uncertain
                if p.rules:
                    turn["label_rules"] = list(p.rules)
        if self.coaching is not None:
            out.update(self.coaching.to_dict())
        return out
