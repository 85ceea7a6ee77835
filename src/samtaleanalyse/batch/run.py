"""One batch run: read every input, score what is new, write it so that a rerun finishes the job.

The run is resumable: rerunning the same command on the same output folder skips every conversation the
folder's ledger already holds (same id and content) and scores the rest; ``force`` starts afresh. Settings
that change results (model, rules, guidance, wording) are recorded in the folder's manifest, and a rerun with
other settings is refused rather than mixing two kinds of result in one folder.
"""
from __future__ import annotations

import gc
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..classify.predict import TurnClassifier
from ..coaching import Coach
from ..conversation import LANGUAGES, Conversation
from ..errors import E_INTERNAL, ConfigError, InputError
from ..ingest import ReadOptions, iter_conversations
from ..ingest.reader import ReadProgress
from .engine import Chunk, score_in_pool, score_in_process, score_with_dask
from .identity import IdentityLedger, content_hash, id_from_source
from ..report.dashboard import render_dashboard
from ..report.rows import row_from_record
from ..store import ParquetTables, ResultsStore, table_batch
from .outputs import DASHBOARD_FILE, ERRORS_FILE, FEEDBACK_DIR, MANIFEST_FILE, SUMMARY_FILE, OutputFolder
from .scoring import Scored, Scorer, ScorerSpec
from .summary import BatchSummary

CHUNK_SIZE = 16
TABLE_BATCH = 500  # ledger records per batch of table rows at the end of a run (about 20 MB of records)
Progress = Callable[[str, int], None]


def score_paths(
    paths: Iterable[str | Path], out_dir: str | Path, options: ReadOptions | None = None, *,
    classifier: TurnClassifier | None = None, coach: Coach | None = None, spec: ScorerSpec | None = None,
    workers: int = 1, force: bool = False, id_from_source_ids: bool = False,
    on_progress: Progress | None = None, chunk_size: int = CHUNK_SIZE, read_progress: ReadProgress | None = None,
    db: str | Path | None = None, report_language: str | None = None, engine: str = "local",
    scheduler: str | None = None,
) -> BatchSummary:
    """Read, score and write ``conversations.jsonl``, ``errors.jsonl``, ``summary.json`` and the feedback.

    Give either live ``classifier``/``coach`` objects (scored in this process) or a ``spec`` that worker
    processes build their own from (``workers`` > 1). Every input that can be read is written even when others
    fail; each failure is one line of ``errors.jsonl``. At the end the whole folder's results are written as
    Parquet tables and the dashboard ``report.html``, and added to the results store ``db`` when given.
    """
    scorer = Scorer.from_spec(spec) if spec is not None else Scorer(classifier, coach)
    if (workers > 1 or engine == "dask") and spec is None:
        raise ConfigError("scoring with several workers needs a ScorerSpec (workers build their own model).")
    if engine not in ("local", "dask"):
        raise ConfigError(f"unknown engine {engine!r}.", hint="use local or dask.")
    if engine == "dask":
        _require_distributed()
    summary = BatchSummary(settings=scorer.settings)
    progress = on_progress or (lambda event, n: None)
    started = time.monotonic()
    started_at = datetime.now(timezone.utc)
    store = ResultsStore(db) if db is not None else None  # opened first: a store in use stops the run before work
    with OutputFolder(out_dir) as out, (store or nullcontext()):
        identity = _prepare(out, scorer.settings, force)
        errors_tmp = out.temp_path(ERRORS_FILE)
        try:
            with open(errors_tmp, "w", encoding="utf-8") as err_f:
                def record_error(err: InputError) -> None:
                    err_f.write(json.dumps(err.to_record().to_dict(), ensure_ascii=False) + "\n")
                    err_f.flush()
                    summary.errors += 1
                    summary.error_codes[err.code] += 1
                    if err.code == E_INTERNAL:
                        summary.internal_errors += 1
                    progress("error", 1)

                chunks = _chunks(iter_conversations(paths, options, progress=read_progress), identity, summary, record_error,
                                 id_from_source_ids, chunk_size, progress)
                if engine == "dask":
                    scored = score_with_dask(spec, chunks, scheduler=scheduler, workers=max(workers, 1))  # type: ignore[arg-type]
                elif workers > 1:
                    scored = score_in_pool(spec, workers, chunks)  # type: ignore[arg-type]
                else:
                    scored = score_in_process(scorer, chunks)
                try:
                    for _chunk, results in scored:
                        lines = []
                        for item in results:
                            if isinstance(item, InputError):
                                record_error(item)
                                continue
                            _write_feedback(out, item)
                            lines.append(item.line)
                        out.append_lines(lines)
                        summary.scored += len(lines)
                        progress("scored", len(lines))
                except Exception as exc:  # noqa: BLE001 - a bug in the batch itself: record it, write the summary
                    summary.interrupted = True
                    record_error(InputError(f"internal error in the batch: {type(exc).__name__}: {str(exc)[:200]}; "
                                            "the run stopped here, rerun the same command to go on.",
                                            file=str(out.path), code=E_INTERNAL))
                except BaseException:  # Ctrl-C, SIGTERM: what was done stays, the summary says so
                    summary.interrupted = True
                    raise
        finally:
            if errors_tmp.exists():
                out.commit(errors_tmp, ERRORS_FILE)
            summary.duplicates, summary.already_scored = identity.duplicates, identity.already_scored
            summary.wall_seconds = time.monotonic() - started
            language = report_language or scorer.settings.get("feedback_language")
            if spec is not None:
                # The model this run loaded is not needed for the tables and the dashboard: its buffers go back
                # before they are built (the peak of a 100,000-conversation run came at the end).
                scored = scorer = None  # type: ignore[assignment]
                gc.collect()
            _finalise(out, summary, store, started_at, language)
    return summary


def _prepare(out: OutputFolder, settings: dict[str, Any], force: bool) -> IdentityLedger:
    identity = IdentityLedger()
    if force:
        out.reset()
    manifest = out.read_manifest()
    if manifest is not None and manifest.get("settings") != settings:
        before = manifest.get("settings") or {}
        changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
        raise ConfigError(f"{out.path} holds results made with other settings ({', '.join(changed)} changed).",
                          hint="pass --force to rescore everything into it, or score into another --out.")
    out.repair_ledger()
    for record in out.ledger_lines():
        identity.remember_scored(str(record.get("id")), str(record.get("content_hash")), str(record.get("source")))
    if manifest is None:
        out.write_file(MANIFEST_FILE, json.dumps({"format": 1, "settings": settings}, ensure_ascii=False, indent=2) + "\n")
    return identity


def _chunks(items: Iterator[Conversation | InputError], identity: IdentityLedger, summary: BatchSummary,
            record_error: Callable[[InputError], None], unique_ids: bool, size: int,
            progress: Progress) -> Iterator[Chunk]:
    chunk: Chunk = []
    for item in items:
        if isinstance(item, InputError):
            record_error(item)
            continue
        conv = id_from_source(item) if unique_ids else item
        summary.read += 1
        summary.warnings += len(conv.warnings)
        digest = content_hash(conv)
        verdict = identity.check(conv, digest)
        if isinstance(verdict, InputError):
            record_error(verdict)
            continue
        if verdict != "new":
            progress("skipped", 1)
            continue
        chunk.append((conv, digest))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_feedback(out: OutputFolder, item: Scored) -> None:
    # Reports are in place before the ledger line that names them, so a listed report always exists.
    if item.markdown is not None:
        out.write_file(f"{FEEDBACK_DIR}/{item.stem}.md", item.markdown)
    if item.html is not None:
        out.write_file(f"{FEEDBACK_DIR}/{item.stem}.html", item.html)


def _finalise(out: OutputFolder, summary: BatchSummary, store: ResultsStore | None, started_at: datetime,
              language: str | None) -> None:
    """One pass over the whole ledger: counts, Parquet tables, the store's new rows, the dashboard; then the
    summary. Runs even when the batch was interrupted, and ``summary.json`` is written whatever happens."""
    try:
        settings = summary.settings
        store_run = store.begin_run(settings, out_dir=str(out.path), started_at=started_at) if store else nullcontext()
        with ParquetTables(out.path) as tables_out, store_run as adding:
            for chunk in _batched(out.ledger_lines(), TABLE_BATCH):
                for record in chunk:
                    summary.add_record(record)
                tables = table_batch(chunk, settings)
                tables_out.write(tables)
                if adding is not None:
                    adding.add(chunk, tables)
            if adding is not None:
                adding.scored, adding.errors = summary.scored, summary.errors
                summary.stored = adding.added
        # The dashboard aggregates as it reads: a second pass over the ledger keeps memory flat.
        rows = (row_from_record(r, report=(r.get("feedback") or {}).get("html")) for r in out.ledger_lines())
        language = language or _most_common(summary.languages.elements()) or "en"
        out.write_file(DASHBOARD_FILE, render_dashboard(rows, language=language))
    finally:
        out.write_file(SUMMARY_FILE, json.dumps(summary.to_dict(), ensure_ascii=False, indent=2) + "\n")


def _batched(records: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _most_common(values: Iterable[str | None]) -> str | None:
    counts = Counter(v for v in values if v in LANGUAGES)
    return counts.most_common(1)[0][0] if counts else None


def _require_distributed() -> None:
    """Checked before anything is read or written, so a missing extra is a usage error, not an E900 mid-run."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"--engine dask needs Dask's distributed scheduler ({exc}).",
                          hint="pip install 'samtaleanalyse[dask]', or use --engine local.") from exc
