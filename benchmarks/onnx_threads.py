"""How the int8 encoder uses two cores, side by side in one run (issue 12).

- ``one run, 2 threads``: what the encoder did before: the session splits each sub-batch's matrices over
  both cores (``intra_op_num_threads=2``) and runs the sub-batches one after another, one conversation at a
  time.
- ``per conversation``: ``encode(texts)`` of each conversation, its sub-batches side by side, one core each.
- ``chunks of 16``: ``encode_groups`` over chunks of 16 conversations, each conversation sorted and cut on its
  own, the sub-batches of all 16 side by side (what the pipeline did with builder 2's batch-dependent vectors;
  it now hands ``encode`` a chunk's texts at once).

- ``chunks of 16, one call``: each chunk's texts in one ``encode`` call, sorted by length across its
  conversations: what the pipeline does since builder 3.

Texts are the benchmark batch's (``bench_batch.batch``: perturbed test-split conversations), grouped by
conversation. Rounds interleave the variants; medians. It also checks that every variant gives each text
the same vector, up to float sums over padding (under 1e-6 in a coordinate). Timings on a shared machine are contended: compare the variants of one run only.

    .venv/bin/python benchmarks/onnx_threads.py [--conversations 90] [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_batch  # noqa: E402


def one_run_two_threads(encoder: Any) -> Callable[[list[str]], np.ndarray]:
    """``encoder.encode`` as it was: one session with two intra-op threads, sub-batches one at a time."""
    import onnxruntime as ort

    from samtaleanalyse.classify.onnx_encoder import cached_model_bytes

    encoder._load()
    data, _ = cached_model_bytes(encoder.patch, encoder.patch_sha256, encoder.cache_folder)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = 2, 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])

    def encode(texts: list[str]) -> np.ndarray:
        from samtaleanalyse.classify.encoder import MAX_TOKENS
        from samtaleanalyse.classify.onnx_encoder import sub_batches

        unique = list(dict.fromkeys(texts))
        ids = encoder.tokenizer.encode_batch(unique, MAX_TOKENS)
        order = sorted(range(len(unique)), key=lambda i: (len(ids[i]), unique[i]))
        vecs = {}
        for chunk in sub_batches([len(ids[i]) for i in order], encoder.batch_size):
            got = encoder._run(session, [ids[order[k]] for k in chunk])
            for r, k in enumerate(chunk):
                vecs[unique[order[k]]] = got[r]
        return np.stack([vecs[t] for t in texts])
    return encode


def chunk_calls(encoder, convs: list[list[str]], size: int) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    """Each chunk's texts in one ``encode`` call (as ``features.dense_features`` does), split back per conversation."""
    out = []
    for i in range(0, len(convs), size):
        chunk = convs[i:i + size]
        vecs = encoder.encode([t for c in chunk for t in c])
        bounds = np.cumsum([0] + [len(c) for c in chunk])
        out += [vecs[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conversations", type=int, default=90)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)

    from samtaleanalyse.classify.loading import default_model_path, encoder_for

    convs = [list(dict.fromkeys(t["text"] for t in r["turns"]))
             for r in bench_batch.batch(args.conversations, seed=0)]
    n = sum(map(len, convs))
    encoder = encoder_for(default_model_path(), num_threads=2)
    if not hasattr(encoder, "encode_groups"):
        raise SystemExit(f"the default model's encoder ({type(encoder).__name__}) is not the int8 ONNX encoder")
    encoder.text_cache = 0  # every round encodes the same texts: time the encoding, not the pipeline's cache
    old = one_run_two_threads(encoder)
    variants: dict[str, Callable[[], list[np.ndarray]]] = {
        "one run, 2 threads (before)": lambda: [old(c) for c in convs],
        "per conversation, sub-batches side by side": lambda: [encoder.encode(c) for c in convs],
        "chunks of 16 conversations, each on its own": lambda: [
            v for i in range(0, len(convs), 16) for v in encoder.encode_groups(convs[i:i + 16])],
        "chunks of 16 conversations, one call (the pipeline)": lambda: chunk_calls(encoder, convs, 16),
    }
    for fn in variants.values():  # warm-up, and the same bytes from every variant
        fn()
    times: dict[str, list[float]] = {k: [] for k in variants}
    outputs: dict[str, list[np.ndarray]] = {}
    for _ in range(args.rounds):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            outputs[name] = fn()
            times[name].append(time.perf_counter() - t0)
    first = next(iter(outputs.values()))
    # one text's vector in any grouping: the same up to float sums over padding (builder 3 on)
    worst = max(float(np.abs(a - b).max()) if a.size else 0.0 for out in outputs.values() for a, b in zip(first, out))
    base = n / statistics.median(times["one run, 2 threads (before)"])
    print(f"{len(convs)} conversations, {n} distinct texts per conversation summed; {args.rounds} rounds, medians")
    print("| variant | turns/s | x before |\n|---|---|---|")
    for name, ts in times.items():
        rate = n / statistics.median(ts)
        print(f"| {name} | {rate:.1f} | {rate / base:.2f} |")
    print(f"largest difference of a text's vector between variants: {worst:.1e}")
    return 0 if worst < 1e-6 else 1


if __name__ == "__main__":
    raise SystemExit(main())
