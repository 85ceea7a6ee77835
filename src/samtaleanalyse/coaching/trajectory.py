"""The customer's attitude over the conversation, and which agent moves came with each change."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .view import ConversationView

# Ordered from worst to best, so a rise is an improvement.
VALENCE = {"hostile": -2, "sceptical": -1, "neutral": 0, "loyal": 1}
MOVES = ("apology", "empathy", "paraphrase", "question", "solution", "compensation", "follow_up", "improvement",
         "thanks", "blame", "contradiction")


@dataclass(frozen=True)
class Shift:
    """A change of attitude between two customer turns, with the agent turns in between."""

    from_turn: int
    to_turn: int
    before: str
    after: str
    agent_turns: tuple[int, ...]
    agent_moves: tuple[str, ...]

    @property
    def direction(self) -> str:
        return "improved" if VALENCE[self.after] > VALENCE[self.before] else "worsened"

    def to_dict(self) -> dict[str, Any]:
        return {"from_turn": self.from_turn, "to_turn": self.to_turn, "from": self.before, "to": self.after,
                "direction": self.direction, "agent_turns": list(self.agent_turns), "agent_moves": list(self.agent_moves)}


@dataclass(frozen=True)
class AttitudeTrajectory:
    start: str | None
    end: str | None
    course: str                               # improved | worsened | unchanged | none
    points: tuple[tuple[int, str], ...]       # (customer turn index, attitude)
    shifts: tuple[Shift, ...]
    unlanded_apologies: tuple[int, ...]       # agent apologies after which the customer stayed hostile

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "course": self.course,
                "turns": [{"turn": i, "attitude": a} for i, a in self.points],
                "shifts": [s.to_dict() for s in self.shifts],
                "unlanded_apologies": list(self.unlanded_apologies)}


def attitude_trajectory(view: ConversationView) -> AttitudeTrajectory:
    points = tuple((t.index, t.attitude) for t in view.customer if t.attitude is not None)
    if not points:
        return AttitudeTrajectory(None, None, "none", (), (), ())
    start, end = points[0][1], points[-1][1]
    delta = VALENCE[end] - VALENCE[start]
    course = "improved" if delta > 0 else "worsened" if delta < 0 else "unchanged"
    shifts, unlanded = [], []
    for (i, before), (j, after) in zip(points, points[1:]):
        between = [t for t in view.agent if i < t.index < j]
        moves = tuple(m for m in MOVES if any(t.has(m) for t in between))
        if VALENCE[after] != VALENCE[before]:
            shifts.append(Shift(i, j, before, after, tuple(t.index for t in between), moves))
        if after == "hostile":
            unlanded.extend(t.index for t in between if t.has("apology"))
    return AttitudeTrajectory(start, end, course, points, tuple(shifts), tuple(unlanded))
