"""Shared helpers of the service tests: the Norwegian complaint, request cases from tests/data/service."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "service"
TOKEN = "test-token-0123456789abcdef"
OTHER_TOKEN = "rotated-token-abcdef0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# A Norwegian complaint where the agent offers a voucher straight away, before any apology or question.
VOUCHER_COMPLAINT: dict[str, Any] = {"id": "klage-gavekort", "channel": "chat", "turns": [
    {"speaker": "Kunde", "text": "Sofaen jeg bestilte kom med en stor flekk på setet, og jeg har ventet i tre uker. "
                                 "Dette er helt uakseptabelt!"},
    {"speaker": "Agent", "text": "Du får et gavekort på 500 kroner."},
    {"speaker": "Kunde", "text": "Et gavekort? Jeg vil ha en sofa som ikke er ødelagt."},
    {"speaker": "Agent", "text": "Jeg forstår. Kan du sende meg et bilde av flekken, så ordner vi en ny sofa?"}]}


def load_requests() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / "requests.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def two_turns(i: int = 0) -> list[dict[str, str]]:
    return [{"speaker": "kunde", "text": f"Hei, pakke {i} har ikke kommet."}, {"speaker": "agent", "text": "Det beklager jeg."}]


def body_of(case: dict[str, Any], max_body: int) -> bytes:
    """The bytes a case sends: its JSON, its raw text, Latin-1 text, or a generated body."""
    if "json" in case:
        return json.dumps(case["json"], ensure_ascii=False).encode("utf-8")
    if "raw" in case:
        return case["raw"].encode("utf-8")
    if "latin1" in case:
        return case["latin1"].encode("latin-1")
    kind = case["generate"]
    if kind == "long_id":
        data: Any = {"id": "x" * 300, "turns": two_turns()}
    elif kind == "deep":
        return ("[" * 200 + "]" * 200).join(['{"id": "d", "turns": [{"speaker": "kunde", "text": "hei", "x": ',
                                              '}, {"speaker": "agent", "text": "hei"}]}'])
    elif kind == "many_turns":
        data = {"id": "mange", "turns": [{"speaker": "kunde" if i % 2 else "agent", "text": "ja"} for i in range(2001)]}
    elif kind == "long_turn":
        data = {"id": "lang", "turns": [{"speaker": "kunde", "text": "veldig " * 1000}, two_turns()[1]]}
    elif kind == "huge_body":
        return b'{"id": "stor", "turns": [{"speaker": "kunde", "text": "' + b"a" * (max_body + 10) + b'"}]}'
    elif kind == "big_batch":
        data = {"conversations": [{"id": f"c{i}", "turns": two_turns(i)} for i in range(101)]}
    else:
        raise ValueError(kind)
    return json.dumps(data).encode("utf-8")
