"""Training the embedded turn model: frozen encoder + character n-grams, scikit-learn linear heads.

Heads are fitted on train; thresholds and the attitude temperature are tuned on dev; test is
only read by `evaluate`. Everything is reproducible from the config's seed.
"""
from __future__ import annotations

import hashlib
import json
import platform
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from samtaleanalyse._version import __version__
from samtaleanalyse.classify.artefact import TurnModel, save_model
from samtaleanalyse.classify.encoder import ENCODER_DIM, ENCODER_NAME, E5Encoder
from samtaleanalyse.classify.features import dense_features
from samtaleanalyse.classify.heads import LinearHead
from samtaleanalyse.classify.lexical import CharNgramVectorizer, SparseRows
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS

from .data import Example, load_examples


@dataclass
class TrainConfig:
    name: str = "turns-e5-lex"
    version: str = "0.1.0"
    corpus: str = "data/annotated/conversations"
    out: str = "models/turns-e5-lex"
    seed: int = 13
    features: dict[str, Any] = field(default_factory=dict)
    attitude: dict[str, Any] = field(default_factory=dict)
    behaviours: dict[str, Any] = field(default_factory=dict)
    attitude_uncertain: dict[str, Any] = field(default_factory=dict)
    limit_conversations: int | None = None
    exclude_languages: tuple[str, ...] = ()

    @classmethod
    def from_file(cls, path: str | Path) -> "TrainConfig":
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        return cls(**data)


def _stack(dense: np.ndarray, lex: SparseRows, weight: float):  # type: ignore[no-untyped-def]
    from scipy.sparse import csr_matrix, hstack

    lex_m = csr_matrix((lex.values, lex.indices, lex.indptr), shape=(len(lex), lex.n_features))
    return hstack([csr_matrix(dense * weight), lex_m]).tocsr()


def _best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    if y.sum() == 0:
        return 0.5
    grid = np.arange(0.1, 0.91, 0.05)
    scores = [f1_score(y, p >= t, zero_division=0) for t in grid]
    return float(grid[int(np.argmax(scores))])


def _best_temperature(z: np.ndarray, y_idx: np.ndarray) -> float:
    best, best_nll = 1.0, np.inf
    for t in np.arange(0.5, 3.01, 0.1):
        s = z / t
        s = s - s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        nll = -logp[np.arange(len(y_idx)), y_idx].mean()
        if nll < best_nll:
            best, best_nll = float(t), nll
    return round(best, 2)


def data_hash(examples: Sequence[Example]) -> str:
    h = hashlib.sha256()
    for e in examples:
        h.update(json.dumps([e.conversation_id, e.turn_index, e.split, e.text, e.attitude, e.behaviours],
                            ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def fit(config: TrainConfig, examples: Sequence[Example] | None = None, encoder: Any = None) -> tuple[TurnModel, dict[str, Any]]:
    """Fit both heads; returns the model and the dev metrics."""
    from sklearn.linear_model import LogisticRegression

    from .evaluate import score_predictions

    rng_seed = config.seed
    examples = list(examples if examples is not None else load_examples(config.corpus,
                                                                       limit_conversations=config.limit_conversations))
    if config.exclude_languages:
        examples = [e for e in examples if not (e.language in config.exclude_languages and e.split == "train")]
    encoder = encoder or E5Encoder.from_env(num_threads=2)
    feats = config.features
    vec = CharNgramVectorizer(n_min=feats.get("ngram_min", 2), n_max=feats.get("ngram_max", 5),
                              min_df=feats.get("min_df", 2), max_features=feats.get("max_features", 60000))
    train = [e for e in examples if e.split == "train"]
    dev = [e for e in examples if e.split == "dev"]
    vec.fit(e.text for e in train)
    weight = float(feats.get("dense_weight", 1.0))
    heads: dict[str, LinearHead] = {}
    tasks_meta: dict[str, Any] = {}
    d = 3 * ENCODER_DIM + 1

    # attitude: one multinomial head over customer turns
    tr = [e for e in train if e.role == "customer"]
    dv = [e for e in dev if e.role == "customer"]
    Xtr = _stack(dense_features([e.as_input() for e in tr], encoder), vec.transform([e.text for e in tr]), weight)
    Xdv = _stack(dense_features([e.as_input() for e in dv], encoder), vec.transform([e.text for e in dv]), weight)
    ytr = np.array([ATTITUDES.index(e.attitude) for e in tr])
    ydv = np.array([ATTITUDES.index(e.attitude) for e in dv])
    clf = LogisticRegression(C=config.attitude.get("C", 4.0), max_iter=5000, random_state=rng_seed,
                             class_weight=config.attitude.get("class_weight", "balanced"))
    clf.fit(Xtr, ytr)
    coef = np.zeros((len(ATTITUDES), Xtr.shape[1]))
    coef[clf.classes_] = clf.coef_
    intercept = np.zeros(len(ATTITUDES))
    intercept[clf.classes_] = clf.intercept_
    temperature = _best_temperature(Xdv @ coef.T + intercept, ydv) if len(dv) else 1.0
    heads["attitude"] = LinearHead("attitude", ATTITUDES, False, coef[:, :d] * weight, coef[:, d:], intercept,
                                   np.full(len(ATTITUDES), 0.5), temperature)
    tasks_meta["attitude"] = {"uncertain": config.attitude_uncertain.get("below", 0.55)}

    # behaviours: one binary head per label over agent turns, thresholds tuned on dev
    tr = [e for e in train if e.role == "agent"]
    dv = [e for e in dev if e.role == "agent"]
    Xtr = _stack(dense_features([e.as_input() for e in tr], encoder), vec.transform([e.text for e in tr]), weight)
    Xdv = _stack(dense_features([e.as_input() for e in dv], encoder), vec.transform([e.text for e in dv]), weight)
    coefs, intercepts, thresholds = [], [], []
    for label in BEHAVIOURS:
        y = np.array([label in e.behaviours for e in tr])
        if y.all() or not y.any():
            raise ValueError(f"behaviour {label!r} has {'no' if not y.any() else 'only'} positive training turns")
        clf = LogisticRegression(C=config.behaviours.get("C", 4.0), max_iter=5000, random_state=rng_seed,
                                 class_weight=config.behaviours.get("class_weight", "balanced"))
        clf.fit(Xtr, y)
        coefs.append(clf.coef_[0])
        intercepts.append(clf.intercept_[0])
        p_dev = clf.predict_proba(Xdv)[:, 1] if len(dv) else np.zeros(0)
        thresholds.append(_best_threshold(np.array([label in e.behaviours for e in dv]), p_dev) if len(dv) else 0.5)
    coef = np.array(coefs)
    heads["behaviours"] = LinearHead("behaviours", BEHAVIOURS, True, coef[:, :d] * weight, coef[:, d:],
                                     np.array(intercepts), np.array(thresholds))
    tasks_meta["behaviours"] = {"uncertain": config.behaviours.get("uncertain_margin", 0.1)}

    import sklearn

    meta = {
        "name": config.name, "version": config.version,
        "encoder": {"name": ENCODER_NAME, "version": getattr(encoder, "version", None), "dim": ENCODER_DIM},
        "tasks": tasks_meta,
        "training": {
            "corpus": config.corpus, "data_hash": data_hash(examples), "seed": config.seed,
            "counts": {s: {r: sum(1 for e in examples if e.split == s and e.role == r) for r in ("customer", "agent")}
                       for s in ("train", "dev", "test")},
            "exclude_languages": list(config.exclude_languages),
            "config": {k: v for k, v in config.__dict__.items() if k not in ("corpus", "out")},
        },
        "library_versions": {"samtaleanalyse": __version__, "scikit-learn": sklearn.__version__,
                             "numpy": np.__version__, "python": platform.python_version()},
    }
    model = TurnModel(heads=heads, vectorizer=vec, metadata=meta)
    dev_metrics = score_predictions(model, dev, encoder) if dev else {}
    return model, dev_metrics


def train(config: TrainConfig, *, card: bool = True) -> tuple[Path, dict[str, Any]]:
    from .card import model_card

    model, dev_metrics = fit(config)
    meta = dict(model.metadata)
    meta["metrics"] = {"dev": dev_metrics}
    model = TurnModel(model.heads, model.vectorizer, meta)
    out = save_model(model, config.out)
    if card:
        saved = json.loads((out / "metadata.json").read_text(encoding="utf-8"))  # as written, with lexical and tasks
        (out / "README.md").write_text(model_card(saved), encoding="utf-8")
    return out, dev_metrics
