"""Cue evidence is found in the turn as the model reads it (its text normalisation), with offsets into the
turn as written."""
from __future__ import annotations

from samtaleanalyse.classify.evidence import EvidenceFinder
from samtaleanalyse.classify.predict import TurnPrediction
from samtaleanalyse.conversation import Conversation, Turn

AGENT = "Jeg har sjekket saken, og det er Deres feil at pakken kom for sent, beklager."


def _conversation() -> Conversation:
    turns = (Turn(0, "customer", "Hei, pakken min kom for sent.", language="nb"),
             Turn(1, "agent", AGENT, language="nb"))
    return Conversation("c1", turns, language="nb", channel="chat")


def _prediction() -> TurnPrediction:
    return TurnPrediction(turn_index=1, task="behaviours", scores={"blame": 0.7, "apology": 0.8},
                          labels=("apology", "blame"), uncertain=False, model="test")


def _found(version: int) -> dict[str, list[str]]:
    spans = EvidenceFinder().for_conversation(_conversation(), [_prediction()], version)[1]
    out: dict[str, list[str]] = {}
    for s in spans:
        out.setdefault(s["label"], []).append(AGENT[s["start"]:s["end"]])
    return out


def test_polite_deres_is_not_their_fault_to_a_model_that_reads_register():
    # normalisation 1 read "Deres feil" as "their fault": a blame cue; from 3 it is "din feil" (your fault)
    assert "Deres feil" in _found(1).get("blame", [])
    assert "Deres feil" not in _found(3).get("blame", [])
    assert _found(3)["apology"] == ["beklager"]  # offsets still point into the text as written
