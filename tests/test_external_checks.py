"""benchmarks/external_checks.py: mappings, baselines, metrics and loaders on tiny in-test rows.

The benchmark itself needs ../shared/external and the encoder; these tests need neither.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from samtaleanalyse.labels import ATTITUDES

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "external_checks.py"
_spec = importlib.util.spec_from_file_location("external_checks", _PATH)
assert _spec and _spec.loader
ec = importlib.util.module_from_spec(_spec)
sys.modules["external_checks"] = ec
_spec.loader.exec_module(ec)


def test_binary_metrics_by_hand():
    gold = [True, True, True, False, False, False, False, False]
    pred = [True, True, False, True, False, False, False, False]
    m = ec.binary_metrics(gold, pred, "hostile")
    assert m["n"] == 8 and m["n_target"] == 3 and m["n_predicted_target"] == 3
    assert m["accuracy"] == 0.75
    pos, neg = m["per_class"]["hostile"], m["per_class"]["not_hostile"]
    assert pos == {"precision": round(2 / 3, 4), "recall": round(2 / 3, 4), "f1": round(2 / 3, 4), "support": 3}
    assert neg["precision"] == 0.8 and neg["recall"] == 0.8 and neg["support"] == 5
    assert m["macro_f1"] == round((pos["f1"] + neg["f1"]) / 2, 4)


def test_binary_metrics_zero_division_and_length():
    m = ec.binary_metrics([True, False], [False, False], "x")
    assert m["per_class"]["x"]["f1"] == 0.0 and m["per_class"]["x"]["precision"] == 0.0
    with pytest.raises(ValueError):
        ec.binary_metrics([True], [True, False], "x")


def test_majority_baseline():
    assert ec.majority_predictions([True, False, False]) == [False] * 3
    assert ec.majority_predictions([True, True, False]) == [True] * 3
    assert ec.majority_predictions([True, False]) == [False, False]  # tie: not the target
    m = ec.binary_metrics([True, False, False, False], ec.majority_predictions([True, False, False, False]), "t")
    assert m["per_class"]["t"]["f1"] == 0.0 and m["accuracy"] == 0.75


def test_attitude_rules():
    probs = {"hostile": 0.3, "sceptical": 0.25, "loyal": 0.05, "neutral": 0.4}
    assert ec.argmax_attitude(probs) == "neutral"
    assert not ec.attitude_decision("hostile", probs)
    assert not ec.attitude_decision("negative_argmax", probs)
    assert ec.attitude_decision("negative_mass", probs)  # 0.55 > 0.45
    assert ec.attitude_decision("hostile", {"hostile": 0.5, "sceptical": 0.2, "loyal": 0.1, "neutral": 0.2})
    assert ec.attitude_decision("negative_argmax", {"hostile": 0.1, "sceptical": 0.5, "loyal": 0.1, "neutral": 0.3})
    with pytest.raises(ValueError):
        ec.attitude_decision("nonsense", probs)


def test_keyword_baseline_multilingual():
    assert ec.argmax_attitude(ec.keyword_attitude_scores("Dere er noen jævla idioter!")) == "hostile"
    assert ec.argmax_attitude(ec.keyword_attitude_scores("Jag tvivlar på att det stämmer")) == "sceptical"
    assert ec.argmax_attitude(ec.keyword_attitude_scores("Tusen takk, dere er fantastiske")) == "loyal"
    assert ec.argmax_attitude(ec.keyword_attitude_scores("Jeg har bestilt en pakke")) == "neutral"
    # tie between hostile and loyal goes to hostile; word starts only ("bad" is not in "badminton")
    assert ec.argmax_attitude(ec.keyword_attitude_scores("great, just great, you idiots and liars")) == "hostile"
    assert ec.keyword_hits("badminton")["sceptical"] == 0
    assert ec.keyword_hits("Hvordan går det?")["question"] == 2
    assert ec.keyword_hits("Jeg forstår godt at dette er frustrerende")["empathy"] >= 2
    assert ec.keyword_hits("So   you think the invoice was wrong? You mean that?")["paraphrase"] == 2
    # polarity through the same rule as the model: hits(hostile)+hits(sceptical) > hits(loyal)
    assert ec.attitude_decision("negative_mass", ec.keyword_attitude_scores("Dårlig og skuffende"))
    assert not ec.attitude_decision("negative_mass", ec.keyword_attitude_scores("Nøytral setning"))


def test_stratified_sample_is_proportional_deterministic_and_ordered():
    items = [("a", i) for i in range(60)] + [("b", i) for i in range(30)] + [("c", i) for i in range(10)]
    s1 = ec.stratified_sample(items, 10, 13, key=lambda x: x[0])
    s2 = ec.stratified_sample(items, 10, 13, key=lambda x: x[0])
    assert s1 == s2 and len(s1) == 10
    counts = {g: sum(1 for x in s1 if x[0] == g) for g in "abc"}
    assert counts == {"a": 6, "b": 3, "c": 1}
    assert s1 == sorted(s1, key=items.index)
    assert ec.stratified_sample(items[:5], 10, 13, key=lambda x: x[0]) == items[:5]
    odd = ec.stratified_sample(items, 7, 1, key=lambda x: x[0])
    assert len(odd) == 7


def test_esconv_item_mapping():
    row = {"strategy": "Restatement or Paraphrasing", "text": "So you feel alone.",
           "context": [["seeker", "first"], ["supporter", "hi"], ["seeker", "I feel alone"], ["supporter", "hmm"]]}
    it = ec.esconv_item(row)
    assert it.context == "I feel alone" and it.gold == "Restatement or Paraphrasing"
    assert dict(it.targets) == {"question": False, "paraphrase": True, "empathy": False}
    other = ec.esconv_item({"strategy": "Affirmation and Reassurance", "text": "You can do it?", "context": []})
    assert other.context == "" and not any(dict(other.targets).values())


def test_epitome_join_and_levels():
    def rows(levels):
        return [{"sp_id": f"s{i}", "rp_id": f"r{i}", "seeker_post": f"post {i}", "response_post": f"resp {i}",
                 "level": str(lv)} for i, lv in enumerate(levels)]
    er, ip, ex = rows([0, 1, 2]), rows([2, 0, 0]), rows([0, 0, 1])
    ex.append(dict(ex[0], level="2"))  # a duplicated pair: the first occurrence wins
    items = ec.epitome_items({"emotional-reactions": er, "interpretations": ip, "explorations": ex})
    assert [dict(i.targets) for i in items] == [
        {"empathy": False, "paraphrase": True, "question": False},
        {"empathy": True, "paraphrase": False, "question": False},
        {"empathy": True, "paraphrase": False, "question": True},
    ]
    assert items[0].context == "post 0" and items[0].text == "resp 0" and items[0].gold == "010"


def test_loaders_on_tiny_files(tmp_path):
    d = tmp_path / "dkhate_offenseval_da/data/hate-speech/oe20da_data"
    d.mkdir(parents=True)
    (d / "offenseval-da-test-v1.tsv").write_text(
        'id\ttweet\tsubtask_a\n1\tDu er en "idiot"\tOFF\n2\tFint vejr\tNOT\n3\tFint vejr\tNOT\n', encoding="utf-8")
    items = ec.load_dkhate(tmp_path)
    assert [(i.text, dict(i.targets)["hostile"]) for i in items] == [('Du er en "idiot"', True), ("Fint vejr", False)]

    (tmp_path / "norec_sentence/binary").mkdir(parents=True)
    (tmp_path / "norec_sentence/binary/test.json").write_text(json.dumps(
        [{"sent_id": "1", "text": "Bra", "label": "Positive"}, {"sent_id": "2", "text": "Dårlig", "label": "Negative"},
         {"sent_id": "3", "text": "Tja", "label": "Neutral"}]), encoding="utf-8")
    assert [dict(i.targets)["negative"] for i in ec.load_norec(tmp_path)] == [False, True]

    (tmp_path / "swe_sentiment").mkdir()
    (tmp_path / "swe_sentiment/swe-sentiment-dataset.csv").write_text(
        'text,label,all_labels\nBra 😂,pos,"pos,pos"\nTja,neu,"neu"\nUsch,neg,"neg,neu,neg"\n', encoding="utf-8")
    assert [(i.gold, dict(i.targets)["negative"]) for i in ec.load_swe(tmp_path)] == [("pos", False), ("neg", True)]

    (tmp_path / "complaints").mkdir()
    (tmp_path / "complaints/complaints-data.csv").write_text(
        '1,"@x where is my order, again?",1,apparel\n2,@x hi,0,food\n', encoding="utf-8")
    assert [dict(i.targets)["complaint"] for i in ec.load_complaints(tmp_path)] == [True, False]


class FakeClassifier:
    """Returns fixed scores: hostile for texts with '!', a question label for texts with '?'."""

    def predict(self, conversations):
        from samtaleanalyse.classify.predict import TurnPrediction

        out = []
        for c in conversations:
            preds = []
            for t in c.turns:
                if t.role == "customer":
                    h = 0.7 if "!" in t.text else 0.1
                    scores = {"hostile": h, "sceptical": 0.1, "loyal": 0.1, "neutral": 0.8 - h}
                    preds.append(TurnPrediction(t.index, "attitude", scores, (), False, "fake"))
                else:
                    labels = ("question",) if "?" in t.text else ()
                    preds.append(TurnPrediction(t.index, "behaviours", {}, labels, False, "fake"))
            out.append(preds)
        return out


def test_run_check_with_fake_model(tmp_path):
    d = tmp_path / "dkhate_offenseval_da/data/hate-speech/oe20da_data"
    d.mkdir(parents=True)
    (d / "offenseval-da-test-v1.tsv").write_text(
        "id\ttweet\tsubtask_a\n1\tFuck dig!\tOFF\n2\tGod dag\tNOT\n3\tHej!\tNOT\n4\tTak\tNOT\n", encoding="utf-8")
    check = next(c for c in ec.CHECKS if c.name == "dkhate_offenseval_da")
    res = ec.run_check(check, FakeClassifier(), tmp_path, limit=600)
    r = res["targets"]["hostile"]
    assert res["n"] == 4 and r["model"]["per_class"]["hostile"]["precision"] == 0.5
    assert r["model"]["per_class"]["hostile"]["recall"] == 1.0
    assert r["majority"]["per_class"]["hostile"]["f1"] == 0.0
    assert r["keyword"]["per_class"]["hostile"]["f1"] == 1.0

    (tmp_path / "esconv/derived").mkdir(parents=True)
    rows = [{"strategy": "Questions", "text": "How are you?", "context": [["seeker", "Hi"]]},
            {"strategy": "Other", "text": "Hello", "context": []}]
    (tmp_path / "esconv/derived/supporter_strategy_test.jsonl").write_text(
        "\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    res = ec.run_check(next(c for c in ec.CHECKS if c.name == "esconv"), FakeClassifier(), tmp_path, limit=600)
    assert res["targets"]["question"]["model"]["per_class"]["question"]["f1"] == 1.0
    assert set(res["targets"]) == {"question", "paraphrase", "empathy"}
    md = ec.markdown({"model": {"name": "fake@0"}, "date": "today", "limit": 600, "seed": 13, "wall_s": 1.0,
                      "checks": [res]})
    assert "| esconv | en | question | 2 (1) | 1.00 / 1.00 |" in md


def test_attitudes_known():
    assert set(ATTITUDES) == {"hostile", "sceptical", "loyal", "neutral"}
