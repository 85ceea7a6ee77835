"""ASR-noise augmentation (augment_asr.py) and the [extra_data] training option (extra_data.py)."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

from samtaleanalyse.corpus import load_corpus  # noqa: E402
from samtaleanalyse_training import extra_data  # noqa: E402
from samtaleanalyse_training.augment_asr import asr_augment, asr_copy, asr_text, original_id  # noqa: E402
from samtaleanalyse_training.config import TrainConfig  # noqa: E402
from samtaleanalyse_training.data import examples_of  # noqa: E402
from samtaleanalyse_training.fitting import group_folds  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "annotated" / "conversations"
CASES = json.loads((ROOT / "tests" / "data" / "augment" / "asr.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["language"] for c in CASES])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_asr_text(case, seed):
    out = asr_text(case["text"], case["language"], random.Random(seed))
    words = out.split()
    for w in case["contains"]:
        assert w in words, (w, out)
    for s in case["absent"]:
        assert s not in out, (s, out)
    assert out == out.lower() and "  " not in out


def test_copies_keep_labels_and_stay_in_train():
    convs = [c for c in load_corpus(CORPUS) if c.language == "nb"]
    aug = asr_augment(convs, seed=5)
    chats = [c for c in convs if c.split == "train" and c.channel == "chat"]
    assert [a.id for a in aug] == [f"{c.id}-asr" for c in chats]
    for a, c in zip(aug, chats):
        assert (a.channel, a.split, a.augmented) == ("call", "train", True)
        assert [(t.attitude, t.behaviours, t.turn.role) for t in a.turns] == \
               [(t.attitude, t.behaviours, t.turn.role) for t in c.turns]
        assert original_id(a.id) == c.id
    assert [a.turns[1].turn.text for a in asr_augment(convs, seed=5)] == [a.turns[1].turn.text for a in aug]
    dev = next(c for c in convs if c.split == "dev")
    with pytest.raises(ValueError, match="only training"):
        asr_copy(dev, random.Random(0))
    assert all(e.split == "train" for e in examples_of(aug))


def test_a_copy_shares_its_originals_fold():
    convs = [c for c in load_corpus(CORPUS) if c.language in ("nb", "sv") and c.split == "train"]
    rows = examples_of(convs + asr_augment(convs))
    folds = group_folds([original_id(e.conversation_id) for e in rows], [e.language for e in rows], 5, 13)
    fold_of: dict[str, set[int]] = {}
    for e, f in zip(rows, folds):
        fold_of.setdefault(original_id(e.conversation_id), set()).add(int(f))
    assert all(len(v) == 1 for v in fold_of.values())


def test_extra_data_adds_only_training_rows(monkeypatch):
    from samtaleanalyse_training.real_text import twitter_conversations

    fake = ROOT / "tests" / "data" / "real_text"
    convs = twitter_conversations([fake / "labels.pass_a.jsonl"], fake / "threads.json")
    train_part = [c.id for c in convs if c.split == "train"]
    assert train_part == ["en-tw-fakeD"] and len(convs) == 3
    monkeypatch.setattr(extra_data, "twitter_conversations", lambda labels=None: convs)
    assert extra_data.extra_examples(TrainConfig()) == []
    rows = extra_data.extra_examples(TrainConfig(extra_data={"twitter_train": True}))
    assert {r.conversation_id for r in rows} == set(train_part)  # the dev and test parts never
    rows = extra_data.extra_examples(TrainConfig(limit_conversations=30, extra_data={"asr_calls": True}))
    assert rows and all(r.split == "train" and r.channel == "call" and r.conversation_id.endswith("-asr")
                        for r in rows)


def test_unknown_extra_data_setting(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[extra_data]\ntwitter_test = true\n", encoding="utf-8")
    with pytest.raises(ValueError, match="twitter_test"):
        TrainConfig.from_file(p)
