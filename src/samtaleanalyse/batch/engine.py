"""Where chunks of conversations are scored: in this process, or in a pool of worker processes.

Workers load the model once each (``ScorerSpec``) and get the cores between them without
oversubscription (each encoder runs ``cores // workers`` threads). Chunks are handed out with a bounded
number in flight, so reading never runs ahead of scoring and memory stays flat; results come back in input
order. A worker that dies (killed for memory, say) costs only the chunks it held: they become internal-error
records and a fresh pool takes over.
"""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Iterable, Iterator, Sequence

from ..conversation import Conversation
from ..errors import E_INTERNAL, InputError
from .scoring import Scored, Scorer, ScorerSpec

Chunk = list[tuple[Conversation, str]]
Results = list[Scored | InputError]

_WORKER: Scorer | None = None


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int) -> int:
    return max(1, available_cores() // max(1, workers))


def score_in_process(scorer: Scorer, chunks: Iterable[Chunk]) -> Iterator[tuple[Chunk, Results]]:
    for chunk in chunks:
        yield chunk, scorer.score(chunk)


def _init_worker(spec: ScorerSpec) -> None:
    global _WORKER
    _WORKER = Scorer.from_spec(spec)


def _score_in_worker(chunk: Chunk) -> Results:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.score(chunk)


def score_in_pool(spec: ScorerSpec, workers: int, chunks: Iterable[Chunk]) -> Iterator[tuple[Chunk, Results]]:
    """Score chunks in ``workers`` processes, in order, at most ``2 * workers`` chunks in flight."""
    import multiprocessing

    spec = replace(spec, num_threads=threads_per_worker(workers))
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads and a model

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                                   initargs=(spec,))

    pool = new_pool()
    pending: deque[tuple[Chunk, Future[Results]]] = deque()
    source = iter(chunks)
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < 2 * workers:
                chunk = next(source, None)
                if chunk is None:
                    exhausted = True
                    break
                pending.append((chunk, pool.submit(_score_in_worker, chunk)))
            if not pending:
                return
            chunk, future = pending.popleft()
            try:
                results = future.result()
            except BrokenProcessPool:
                results = _lost(chunk, "a worker process died while scoring it (out of memory?)")
                # Every chunk still in flight was lost with the pool; resubmit them to a fresh one.
                retry = [c for c, _ in pending]
                pending.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
                pending.extend((c, pool.submit(_score_in_worker, c)) for c in retry)
            yield chunk, results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _lost(chunk: Sequence[tuple[Conversation, str]], why: str) -> Results:
    out: Results = []
    for conv, _ in chunk:
        file, _, line = (conv.source or "?").rpartition(":")
        out.append(InputError(f"internal error: {why}; conversation {conv.id[:80]!r} was not scored.",
                              file=file if line.isdigit() else (conv.source or "?"),
                              line=int(line) if line.isdigit() else None, record=conv.id[:80], code=E_INTERNAL,
                              hint="rerun the same command to retry it; report it if it fails again."))
    return out
