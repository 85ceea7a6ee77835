"""Static token embeddings (classify/static_embed.py) and the cascade that puts them before the encoder
(classify/cascade.py): the file and its checks, the routing of turns, and the shipped first stage end to end."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from samtaleanalyse.classify.artefact import TurnModel
from samtaleanalyse.classify.cascade import Cascade, Margins
from samtaleanalyse.classify.heads import LinearHead
from samtaleanalyse.classify.lexical import CharNgramVectorizer
from samtaleanalyse.classify.predict import TurnClassifier
from samtaleanalyse.classify.static_embed import StaticEmbedding, load_static, read_static, write_static
from samtaleanalyse.conversation import Conversation, Turn
from samtaleanalyse.errors import E_MODEL_HASH, E_MODEL_UNREADABLE, E_MODEL_WEIGHTS, ModelError
from samtaleanalyse.classify.model_files import Where
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "models" / "turns-e5-qat"
DATA = ROOT / "tests" / "data" / "static_embed"
PIECES = ["\u2581sorry", "\u2581sor", "ry", "\u2581takk", "!", "s"]


def toy_static() -> StaticEmbedding:
    return StaticEmbedding(PIECES, np.eye(len(PIECES), 4, dtype=np.float32) + 0.1)


def test_greedy_longest_match_and_unknown_characters():
    st = toy_static()
    assert st.token_ids("sorry") == [0]               # the whole word wins over its pieces
    assert st.token_ids("sorrys") == [0, 5]
    assert st.token_ids("takk!") == [3, 4]
    assert st.token_ids("Ωmega") == []                # no piece covers it: nothing, not an error
    v = st.encode(["sorry takk", "Ωmega", ""])
    assert v.shape == (3, 4) and v.dtype == np.float32
    assert np.isclose(np.linalg.norm(v[0]), 1.0) and not v[1].any() and not v[2].any()


def test_file_round_trip_and_hash(tmp_path):
    path = tmp_path / "static_embed.npz"
    vectors = np.random.default_rng(0).normal(size=(len(PIECES), 8)).astype(np.float32)
    sha = write_static(path, PIECES, vectors, teacher="toy")
    assert write_static(tmp_path / "again.npz", PIECES, vectors, teacher="toy") == sha  # deterministic bytes
    st = load_static(path, sha)
    assert st.dim == 8 and st.version == f"static.{sha[:16]}"
    np.testing.assert_allclose(st.vectors, vectors.astype(np.float16).astype(np.float32))
    with pytest.raises(ModelError) as err:
        load_static(path, "0" * 64)
    assert err.value.code == E_MODEL_HASH


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _good(**over):
    blob = "".join(PIECES).encode()
    arrays = {"header": np.frombuffer(json.dumps({"format": 1, "dim": 4, "n_pieces": len(PIECES)}).encode(), np.uint8),
              "piece_bytes": np.frombuffer(blob, np.uint8),
              "piece_ends": np.cumsum([len(p.encode()) for p in PIECES]).astype(np.int64),
              "vectors": np.zeros((len(PIECES), 4), np.float16)}
    arrays.update(over)
    return {k: v for k, v in arrays.items() if v is not None}


HOSTILE = {
    "pickled vectors": (dict(vectors=np.array([object()] * len(PIECES), dtype=object)), E_MODEL_UNREADABLE),
    "extra array": (dict(extra=np.zeros(3)), E_MODEL_UNREADABLE),
    "missing vectors": (dict(vectors=None), E_MODEL_UNREADABLE),
    "wrong shape": (dict(vectors=np.zeros((len(PIECES), 5), np.float16)), E_MODEL_WEIGHTS),
    "ends past the bytes": (dict(piece_ends=np.arange(1, len(PIECES) + 1, dtype=np.int64) * 100), E_MODEL_WEIGHTS),
    "nan": (dict(vectors=np.full((len(PIECES), 4), np.nan, np.float16)), E_MODEL_WEIGHTS),
    "not json": (dict(header=np.frombuffer(b"{not json", np.uint8)), None),
}


def test_good_file_reads():
    pieces, vectors, header = read_static(_npz(**_good()), Where(Path("x.npz")))
    assert pieces == PIECES and vectors.shape == (len(PIECES), 4) and header["dim"] == 4


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_refused(case):
    over, code = HOSTILE[case]
    try:
        raw = _npz(**_good(**over))
    except ValueError:  # numpy itself refuses to write it
        return
    with pytest.raises(ModelError) as err:
        read_static(raw, Where(Path("x.npz")))
    if code is not None:
        assert err.value.code == code


# ------------------------------------------------------------------------------------------------- routing

class ToyEncoder:
    """2-d vectors: [1, 0] for texts with 'sure', else [0, 1]; records what it was asked to encode."""

    name, dim, version = "toy", 2, "toy"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts):
        self.seen.extend(texts)
        return np.array([[1.0, 0.0] if "sure" in t else [0.0, 1.0] for t in texts], dtype=np.float32)


def toy_model(name: str, sure_weight: float) -> TurnModel:
    """Heads on the toy encoder's first dimension: sure turns are loyal and have no behaviour, far from every
    threshold; other turns sit at 0.25 per attitude and exactly on the behaviour thresholds."""
    vec = CharNgramVectorizer.from_state([], np.zeros(0, np.float32), 2, 5)
    att = np.zeros((len(ATTITUDES), 7))
    att[ATTITUDES.index("loyal"), 0] = sure_weight
    beh = np.zeros((len(BEHAVIOURS), 7))
    beh[:, 0] = -sure_weight
    heads = {"attitude": LinearHead("attitude", ATTITUDES, False, att, np.zeros((len(ATTITUDES), 0)),
                                    np.zeros(len(ATTITUDES)), np.full(len(ATTITUDES), 0.5)),
             "behaviours": LinearHead("behaviours", BEHAVIOURS, True, beh, np.zeros((len(BEHAVIOURS), 0)),
                                      np.zeros(len(BEHAVIOURS)), np.full(len(BEHAVIOURS), 0.5))}
    return TurnModel(heads, vec, {"name": name, "version": "1"})


def conversation(turns) -> Conversation:
    return Conversation(id="c", turns=tuple(Turn(index=i, role=r, text=t) for i, (r, t) in enumerate(turns)))


@pytest.mark.parametrize("case", json.loads((DATA / "routing.json").read_text(encoding="utf-8"))["cases"])
def test_cascade_routes_only_unsure_turns_to_the_encoder(case):
    second_encoder = ToyEncoder()
    margins = Margins(0.9, np.full(len(BEHAVIOURS), 0.3))
    clf = TurnClassifier(toy_model("second", 0.0), second_encoder,
                         cascade=Cascade(toy_model("first", 20.0), ToyEncoder(), margins))
    conv = conversation(case["turns"])
    preds = clf.predict([conv])[0]
    assert [p.turn_index for p in preds] == list(range(len(case["turns"])))
    assert [p.model.split("@")[0] for p in preds] == case["stage"]
    sent = {t for (_, t), stage in zip(case["turns"], case["stage"]) if stage == "second"}
    kept = {t for (_, t), stage in zip(case["turns"], case["stage"]) if stage == "first"}
    assert sent <= set(second_encoder.seen)
    # a kept turn reaches the encoder only as the context of a turn that was sent on
    assert not (kept - sent) & set(second_encoder.seen) - {t for i, (_, t) in enumerate(case["turns"][:-1])
                                                            if case["stage"][i + 1] == "second"}
    assert clf.sent_on == [len(case["turns"]), len(sent)]


def test_margins_keep():
    m = Margins(0.8, np.array([0.2, 0.1]))
    assert m.keep_attitude(np.array([[0.85, 0.15], [0.6, 0.4]])).tolist() == [True, False]
    t = np.array([0.5, 0.5])
    assert m.keep_behaviours(np.array([[0.9, 0.05], [0.65, 0.05], [0.9, 0.45]]), t).tolist() == [True, False, False]


# ------------------------------------------------------------------------------------------------- shipped model

needs_first_stage = pytest.mark.skipif(not (MAIN / "first_stage" / "metadata.json").is_file(),
                                       reason="the model folder has no first stage")


@needs_first_stage
def test_examples_end_to_end_with_cascade():
    from samtaleanalyse.classify.loading import load_classifier

    rows = [json.loads(l) for l in (ROOT / "examples" / "chats" / "chats.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    convs = [Conversation(id=r["id"], turns=tuple(Turn(index=i, role="customer" if t["speaker"] == "Customer" else "agent",
                                                       text=t["text"]) for i, t in enumerate(r["turns"]))) for r in rows]
    clf = load_classifier(MAIN, num_threads=1, cascade=True)
    preds = clf.predict(convs)
    assert [len(p) for p in preds] == [len(c.turns) for c in convs]
    names = {p.model for ps in preds for p in ps}
    assert names <= {clf.model.name, clf.cascade.model.name}
    assert 0 <= clf.sent_on[1] <= clf.sent_on[0] == sum(len(c.turns) for c in convs)


@needs_first_stage
def test_changed_first_stage_refused(tmp_path):
    from samtaleanalyse.classify.loading import load_classifier

    copy = tmp_path / "model"
    shutil.copytree(MAIN, copy)
    weights = copy / "first_stage" / "weights.npz"
    weights.write_bytes(weights.read_bytes() + b"\0")
    with pytest.raises(ModelError) as err:
        load_classifier(copy, cascade=True)
    assert err.value.code == E_MODEL_HASH
    meta = json.loads((copy / "metadata.json").read_text(encoding="utf-8"))
    meta["first_stage"]["enabled"] = False
    (copy / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError):
        load_classifier(copy, cascade=True)
