"""Every finding and strength, checked on small hand-made conversations kept as data (cases/*.json)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from samtaleanalyse.coaching import RULES, detect, from_labels, load_config

CASES = sorted((Path(__file__).parent / "cases").glob("*.json"))


def _case(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case = _case(path)
    view = from_labels(path.stem, case["language"], case["turns"])
    config = load_config(overrides=case.get("config") or None)
    found = {d.code: d for d in detect(view, config.enabled)}
    assert set(found) == set(case["expect"]["codes"]), case["description"]
    for code, turns in case["expect"].get("turns", {}).items():
        assert list(found[code].turns) == turns, f"{code}: {case['description']}"
    # Gold labels carry no probabilities: every condition is certain.
    assert all(d.confidence == 1.0 for d in found.values())


def test_cases_cover_every_rule_firing_and_not_firing() -> None:
    fired, silent = set(), set()
    for path in CASES:
        expected = set(_case(path)["expect"]["codes"])
        fired |= expected
        silent |= set(RULES) - expected
    assert fired == set(RULES), f"never fires in a case: {sorted(set(RULES) - fired)}"
    assert silent == set(RULES)


def test_cases_span_several_languages() -> None:
    assert {_case(p)["language"] for p in CASES} >= {"nb", "nn", "da", "sv", "en"}
