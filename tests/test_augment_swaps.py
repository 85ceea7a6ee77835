"""Counterfactual training copies (augment_swaps.py) and ``reencode --augment-swaps`` (finetune/reencode.py):
copies only of train conversations, labels kept, texts changed, other replacement choices than the robustness
check's, and the option recorded in the model's metadata and card."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from samtaleanalyse.corpus import load_corpus  # noqa: E402
from samtaleanalyse_training.augment_asr import original_id  # noqa: E402
from samtaleanalyse_training.augment_swaps import AUGMENT_DRAW, swap_copies, swap_copy, swap_examples  # noqa: E402
from samtaleanalyse_training.data import examples_of  # noqa: E402
from samtaleanalyse_training.swaps import (EVALUATION, SWAP_TYPES, _seed, apply_swap, find_names,  # noqa: E402
                                           name_mapping, names_table)

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "augment" / "swaps.jsonl"
CORPUS = ROOT / "data" / "annotated" / "conversations"


@pytest.fixture()
def convs():
    return load_corpus(FIXTURE)


def _labels(conv):
    return [(lt.turn.index, lt.turn.role, lt.attitude, lt.behaviours) for lt in conv.turns]


def test_copies_only_of_train_with_the_same_labels_and_changed_texts(convs):
    before = [repr(c) for c in convs]
    copies = swap_copies(convs)
    by_id = {c.id: c for c in convs}
    assert copies
    for copy in copies:
        orig = by_id[original_id(copy.id)]
        assert orig.split == "train" and copy.split == "train" and copy.augmented
        assert _labels(copy) == _labels(orig) and copy.findings == orig.findings
        assert [lt.turn.text for lt in copy.turns] != [lt.turn.text for lt in orig.turns]
    assert {original_id(c.id) for c in copies} == {"aug-nb-001", "aug-en-003"}  # da-002: no swap applies
    assert [repr(c) for c in convs] == before  # originals untouched
    for split in ("dev", "test"):
        held = next(c for c in convs if c.split == split)
        with pytest.raises(ValueError, match="only training"):
            swap_copy(held, "names:local_male")
    assert all(e.split == "train" for e in examples_of(copies))


def test_every_swap_type_has_a_copy_and_nb_to_nn_is_nynorsk(convs):
    kinds = {c.id.partition("~")[2] for c in swap_copies(convs) if original_id(c.id) == "aug-nb-001"}
    assert kinds == set(SWAP_TYPES)
    nn = swap_copy(convs[0], "nb_to_nn")
    assert nn is not None and nn.language == "nn" and "ikkje" in nn.turns[0].turn.text


def test_examples_add_only_changed_turns_once(convs):
    rows, counts = swap_examples(convs)
    assert sum(counts.values()) == len(rows) and list(counts) == list(SWAP_TYPES)
    originals = {(e.conversation_id, e.turn_index): e for e in examples_of([c for c in convs if c.split == "train"])}
    keys = set()
    for e in rows:
        o = originals[(original_id(e.conversation_id), e.turn_index)]
        assert e.split == "train" and (e.attitude, e.behaviours, e.role) == (o.attitude, o.behaviours, o.role)
        assert (e.text, e.context) != (o.text, o.context)
        keys.add((original_id(e.conversation_id), e.turn_index, e.text, e.context))
    assert len(keys) == len(rows)
    # the company is named in the first turn only: that turn, and the agent's reply whose context it is
    assert counts["company"] == 2
    # the heads read names as [name] (text normalisation 2), so a name swap changes nothing they read
    assert counts["names:local_male"] == 0
    assert not [e for e in rows if "~names:" in e.conversation_id]
    # the heads read nynorsk forms as bokmål (text normalisation 4): the nynorsk copy reads as its original
    assert counts["nb_to_nn"] == 0
    # the agent's polite "Dem" reads as "deg" (text normalisation 3): only its context ("dersom") changed
    formal = next(e for e in rows if (e.conversation_id, e.turn_index) == ("aug-nb-001~register:to_formal", 1))
    assert formal.text.endswith("hører jeg fra deg.") and "dersom" in formal.context
    assert not [e for e in rows if original_id(e.conversation_id) in ("aug-da-002", "aug-nb-004", "aug-nb-005")]


def test_augmentation_draws_otherwise_than_the_robustness_check():
    assert AUGMENT_DRAW.salt != EVALUATION.salt and AUGMENT_DRAW.stride > 1
    corpus = [c for c in load_corpus(CORPUS) if c.split == "train"]
    assert any(_seed(c, AUGMENT_DRAW.salt) != _seed(c) for c in corpus[:5])
    differ = held_out_seen = 0
    for group in ("local_male", "immigrant_female"):
        for c in corpus:
            found = find_names([lt.turn.speaker for lt in c.turns] + [lt.turn.text for lt in c.turns],
                               lower_too=c.channel == "call")
            if not found:
                continue
            pool = names_table()["groups"][c.language][group]
            mine = name_mapping(found, c.language, group, _seed(c, AUGMENT_DRAW.salt), AUGMENT_DRAW)
            theirs = name_mapping(found, c.language, group, _seed(c))
            # the names at odd positions of a pool are never put in by augmentation: held out for the check
            held_out_seen += bool(set(mine.values()) & set(pool[1::2]))
            differ += mine != theirs
            copy = apply_swap(c, f"names:{group}", AUGMENT_DRAW)
            assert copy is not c or not mine
    assert held_out_seen == 0 and differ > 0


def test_text_vectors_encode_each_text_once(convs):
    from samtaleanalyse_training.finetune.reencode import text_vectors

    class Counting:
        def __init__(self) -> None:
            self.texts: list[str] = []

        def encode(self, texts):
            self.texts += texts
            return np.ones((len(texts), 2), dtype=np.float32)

    train = [c for c in convs if c.split == "train"]
    rows = examples_of(train)
    swapped, _ = swap_examples(train)
    enc = Counting()
    vectors = text_vectors(rows + swapped, enc, log=lambda m: None)
    assert len(enc.texts) == len(set(enc.texts))  # a copy never re-encodes its original's texts
    assert all(t in vectors for e in rows + swapped for t in (e.text, e.context) if t)
    assert set(vectors) == set(enc.texts)


def test_reencode_records_the_option_in_metadata_and_card(tmp_path):
    from samtaleanalyse_training.finetune.reencode import (heads_examples, reencoded_meta, refit_section,
                                                           training_record)

    logged: list[str] = []
    rows, counts = heads_examples(FIXTURE, augment_swaps=True, log=logged.append)
    assert counts and sum(counts.values()) == sum(original_id(e.conversation_id) != e.conversation_id for e in rows)
    assert any("names:local_male" in m for m in logged)
    plain, none = heads_examples(FIXTURE, log=logged.append)
    assert none is None and len(plain) == len(rows) - sum(counts.values())
    src = {"name": "turns-e5-qat", "version": "0.3.0", "encoder": {"version": "x"}}
    meta = reencoded_meta(src, Path("models/turns-e5-qat"), tmp_path / "m", "onnx-int8", twitter_train=True,
                          augment_counts=counts, version="0.5.0")
    assert meta["augment_swaps"] is True and meta["augment_swaps_turns"] == counts
    assert meta["augment_swaps_draw"]["salt"] == AUGMENT_DRAW.salt
    assert "--twitter-train --augment-swaps --version 0.5.0" in meta["command"]
    assert meta["twitter_labels"] and all(n.endswith(".pass_a.jsonl") and "test" not in n for n in meta["twitter_labels"])
    chosen = reencoded_meta(src, Path("s"), tmp_path / "m", "onnx-int8", twitter_train=True,
                            twitter_labels=[Path("data/annotated/external/ibm_twitter_dev.pass_a.jsonl")])
    assert chosen["twitter_labels"] == ["ibm_twitter_dev.pass_a.jsonl"]
    assert "--twitter-train --twitter-labels data/annotated/external/ibm_twitter_dev.pass_a.jsonl" in chosen["command"]
    assert chosen["asr_calls"] is False and "--asr-calls" not in chosen["command"]
    noised, _ = heads_examples(FIXTURE, asr_calls=True, log=logged.append)
    added = [e for e in noised if original_id(e.conversation_id) != e.conversation_id]
    assert added and all(e.split == "train" and e.channel == "call" for e in added)
    assert len(noised) == len(plain) + len(added) and any("speech-recogniser" in m for m in logged)
    asr = reencoded_meta(src, Path("s"), tmp_path / "m", "onnx-int8", asr_calls=True)
    assert asr["asr_calls"] is True and asr["command"].endswith("--asr-calls")
    card = "\n".join(refit_section({"training": {"reencoded": {**chosen, "asr_calls": True}}}))
    assert "`ibm_twitter_dev.pass_a.jsonl`" in card and "speech-recogniser" in card
    none = reencoded_meta(src, Path("s"), tmp_path / "m", "onnx-int8", twitter_train=True, twitter_labels=[])
    assert none["twitter_labels"] == []  # an empty choice is recorded as empty, not as every set
    from samtaleanalyse_training.finetune.reencode import reencode
    with pytest.raises(ValueError, match="--twitter-train"):
        reencode("models/turns-e5-qat", "onnx-int8", tmp_path / "x", twitter_labels=[Path("a.pass_a.jsonl")])
    card = "\n".join(refit_section({"training": {"reencoded": json.loads(json.dumps(meta))}}))
    assert "--augment-swaps" in card and f"names:local_male {counts['names:local_male']}" in card
    record = training_record({"training": {"corpus": "c", "counts": {"train": {"customer": 1}}}}, "h", meta)
    assert record["reencoded"]["augment_swaps"] and "counts" not in record and record["corpus"] == "c"
    off = reencoded_meta(src, Path("s"), tmp_path / "m", "onnx-int8")
    assert off["augment_swaps"] is False and "--augment-swaps" not in off["command"]
    assert "counterfactual" not in "\n".join(refit_section({"training": {"reencoded": off}}))


def test_reencode_help_names_the_option():
    from typer.testing import CliRunner

    from samtaleanalyse.cli import app

    out = CliRunner().invoke(app, ["reencode", "--help"])
    assert out.exit_code == 0 and "--augment-swaps" in out.output
