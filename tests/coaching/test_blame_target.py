"""Whom a blaming turn blames: data-driven cases in tests/data/coaching/blame_target.jsonl."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from samtaleanalyse.coaching.blame_target import blames_customer

CASES = [json.loads(line) for line in
         (Path(__file__).parents[1] / "data" / "coaching" / "blame_target.jsonl").read_text(encoding="utf-8").splitlines()
         if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['language']}:{i}" for i, c in enumerate(CASES)])
def test_case(case: dict) -> None:
    assert blames_customer(case["text"], case["language"]) is case["customer"], case["notes"]


def test_cases_cover_both_answers_in_every_language() -> None:
    for language in ("nb", "nn", "da", "sv", "en"):
        answers = {c["customer"] for c in CASES if c["language"] == language}
        assert answers == {True, False}, language
