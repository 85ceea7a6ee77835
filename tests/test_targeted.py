"""Conversations written for real text's failure modes (training/samtaleanalyse_training/targeted.py): checked like
the corpus, train only, never a copy of a dev or test conversation."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

from samtaleanalyse.corpus import load_corpus  # noqa: E402
from samtaleanalyse_training import extra_data  # noqa: E402
from samtaleanalyse_training.config import TrainConfig  # noqa: E402
from samtaleanalyse_training.targeted import TARGETED_DIR, TargetedDataError, load_targeted  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "annotated" / "conversations"

GOOD = {"id": "sv-t-901", "language": "sv", "channel": "chat", "domain": "streaming", "turns": [
    {"speaker": "customer", "text": "@Strimla appen kraschar varje gång jag öppnar den 😭", "attitude": "neutral"},
    {"speaker": "agent", "text": "@kund_44 Tråkigt att höra! Har du testat att logga ut och in igen? ^AL",
     "behaviours": ["empathy", "solution"]},
    {"speaker": "customer", "text": "ja flera gånger", "attitude": "neutral"},
    {"speaker": "agent", "text": "Skicka oss din e-postadress i DM så kollar vi kontot /AL", "behaviours": ["question"]},
]}


def _write(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sv.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_shipped_conversations_only_train():
    convs = load_targeted(CORPUS)
    assert len(convs) >= 60 and all(c.split == "train" and not c.augmented for c in convs)
    assert {c.language for c in convs} == {"nb", "nn", "da", "sv", "en"}
    assert {c.channel for c in convs} == {"chat", "call", "email"}
    for path in TARGETED_DIR.glob("*.jsonl"):
        assert {c.language for c in load_corpus(path)} == {path.stem}


def test_a_good_conversation_loads_as_train(tmp_path):
    _write(tmp_path, [GOOD])
    [c] = load_targeted(CORPUS, tmp_path)
    assert c.split == "train" and c.turns[1].behaviours == ("empathy", "solution")


def test_an_empty_folder_adds_nothing(tmp_path):
    assert load_targeted(CORPUS, tmp_path) == []


def _held_out_copy() -> dict:
    test = next(c for c in load_corpus(CORPUS) if c.split == "test")
    record = test.to_dict()
    record.pop("split")
    return {**record, "id": "xx-copy"}


@pytest.mark.parametrize("problem, expected", [
    ("dev split", "targeted conversations only train"),
    ("corpus id", "the corpus has this id"),
    ("no attitude", "customer turn needs an attitude"),
    ("unknown behaviour", "unknown behaviour"),
    ("copy of a test conversation", "near-duplicate of"),
])
def test_a_problem_names_file_line_and_conversation(tmp_path, problem, expected):
    bad = {
        "dev split": {**GOOD, "id": "sv-t-902", "split": "dev"},
        "corpus id": {**GOOD, "id": "sv-a-001"},
        "no attitude": {**GOOD, "id": "sv-t-902", "turns": [{"speaker": "customer", "text": "hej"}] + GOOD["turns"][1:]},
        "unknown behaviour": {**GOOD, "id": "sv-t-902", "turns": GOOD["turns"][:1] + [
            {"speaker": "agent", "text": "Hej!", "behaviours": ["greeting"]}] + GOOD["turns"][2:]},
        "copy of a test conversation": _held_out_copy(),
    }[problem]
    path = _write(tmp_path, [GOOD, bad])
    with pytest.raises(TargetedDataError) as err:
        load_targeted(CORPUS, tmp_path)
    assert f"{path}, line 2" in str(err.value) and expected in str(err.value)


def test_targeted_is_an_extra_data_option():
    rows = extra_data.extra_examples(TrainConfig(extra_data={"targeted": True}))
    assert rows and all(r.split == "train" and "-t-" in r.conversation_id for r in rows)
