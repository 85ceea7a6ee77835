"""The results store: one DuckDB file a QA team keeps between runs, appended by each run.

Reports compare this week with last week from the store alone, without rescoring. Each run adds the rows of
its output folder that the store does not hold yet (keyed by ``result_key``: conversation, content and
settings), inside one transaction, so a killed run leaves the store as it was and a rerun adds what is missing.
The full record of each result is kept too (JSON), so that `samtaleanalyse report` can render every
conversation's page again.

Schema (version ``SCHEMA_VERSION``; the README documents the columns):
    schema_info(version)                        one row
    runs(run_id, started_at, finished_at, out_dir, settings, scored, errors)
    conversations(<tables.CONVERSATIONS>, run_id, record)
    turns(<tables.TURNS>)
    findings(<tables.FINDINGS>)
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from ..errors import ConfigError
from .tables import SCHEMA_VERSION, SCHEMAS, TABLES

_DUCK_TYPES = {"string": "VARCHAR", "bool": "BOOLEAN", "int32": "INTEGER", "float": "FLOAT", "double": "DOUBLE",
               "date32[day]": "DATE", "timestamp[ms, tz=UTC]": "TIMESTAMPTZ", "list<item: string>": "VARCHAR[]",
               "list<item: int32>": "INTEGER[]"}


def _columns(name: str) -> list[tuple[str, str]]:
    return [(f.name, _DUCK_TYPES[str(f.type)]) for f in SCHEMAS[name]]


@dataclass(frozen=True)
class Filters:
    since: date | None = None
    until: date | None = None
    team: str | None = None
    agent: str | None = None


class ResultsStore:
    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        import duckdb

        self.path = Path(path)
        if read_only and not self.path.is_file():
            raise ConfigError(f"there is no results store at {self.path}.",
                              hint="score with --db FILE first; each run adds its results to it.")
        if not read_only:
            # as --out makes its folder, --db results/store.duckdb makes "results/"
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise ConfigError(f"cannot open the results store {self.path}: {str(exc)[:200]}.",
                              hint="another run may be writing to it; wait, or name another --db.") from None
        if read_only:
            self._check_schema()
        else:
            self._ensure_schema()

    def _check_schema(self) -> None:
        try:
            version = self.db.execute("SELECT version FROM schema_info").fetchone()
        except Exception:  # noqa: BLE001 - any DuckDB file without our tables
            version = None
        if not version or version[0] != SCHEMA_VERSION:
            raise ConfigError(f"{self.path} is not a samtaleanalyse results store of schema version {SCHEMA_VERSION}.",
                              hint="name the file `score --db` writes.")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "ResultsStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_schema(self) -> None:
        tables = {r[0] for r in self.db.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "schema_info" in tables:
            version = self.db.execute("SELECT version FROM schema_info").fetchone()
            if not version or version[0] != SCHEMA_VERSION:
                raise ConfigError(f"{self.path} is a results store of schema version {version and version[0]}; "
                                  f"this samtaleanalyse writes version {SCHEMA_VERSION}.",
                                  hint="keep a store per schema version, or rebuild it from the output folders.")
            return
        self.db.execute("BEGIN")
        self.db.execute("CREATE TABLE schema_info (version INTEGER)")
        self.db.execute("INSERT INTO schema_info VALUES (?)", [SCHEMA_VERSION])
        self.db.execute("CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,"
                        " out_dir VARCHAR, settings JSON, scored INTEGER, errors INTEGER)")
        for name in TABLES:
            cols = ", ".join(f'"{c}" {t}' for c, t in _columns(name))
            extra = ", run_id VARCHAR, record JSON, PRIMARY KEY (result_key)" if name == "conversations" else ""
            self.db.execute(f"CREATE TABLE {name} ({cols}{extra})")
        self.db.execute("CREATE INDEX turns_key ON turns (result_key)")
        self.db.execute("CREATE INDEX findings_key ON findings (result_key)")
        self.db.execute("COMMIT")

    def begin_run(self, settings: Mapping[str, Any], *, out_dir: str, started_at: datetime) -> "StoreRun":
        """A run's additions, made in one transaction: all of them are kept, or (killed) none."""
        return StoreRun(self, settings, out_dir, started_at)

    def latest(self, filters: Filters = Filters()) -> Iterator[dict[str, Any]]:
        """The newest result of each conversation within the filters, as full records, oldest day first."""
        where, params = ["TRUE"], []
        if filters.since:
            where.append("day >= ?")
            params.append(filters.since)
        if filters.until:
            where.append("day <= ?")
            params.append(filters.until)
        if filters.team:
            where.append("team = ?")
            params.append(filters.team)
        if filters.agent:
            where.append("agent_id = ?")
            params.append(filters.agent)
        query = (f"SELECT record, report FROM conversations WHERE {' AND '.join(where)} "
                 "QUALIFY row_number() OVER (PARTITION BY conversation_id ORDER BY scored_at DESC) = 1 "
                 "ORDER BY day, conversation_id")
        cursor = self.db.execute(query, params)
        while rows := cursor.fetchmany(1000):
            for record, _report in rows:
                yield json.loads(record)

    def count(self, table: str = "conversations") -> int:
        if table not in (*TABLES, "runs"):
            raise ValueError(table)
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


class StoreRun:
    """``with store.begin_run(...) as run: run.add(records, tables)``; committed when the block ends well."""

    def __init__(self, store: ResultsStore, settings: Mapping[str, Any], out_dir: str, started_at: datetime) -> None:
        self.store, self.settings, self.out_dir, self.started_at = store, settings, out_dir, started_at
        self.run_id = uuid.uuid4().hex
        self.added = 0
        self.scored = self.errors = 0
        self._known: set[str] = set()

    def __enter__(self) -> "StoreRun":
        db = self.store.db
        self._known = {r[0] for r in db.execute("SELECT result_key FROM conversations").fetchall()}
        db.execute("BEGIN")
        return self

    def add(self, records: Sequence[Mapping[str, Any]], tables: Mapping[str, Any]) -> int:
        """Add the rows of ``records`` (``tables`` = their ``table_batch``) that the store does not hold yet."""
        import pyarrow as pa
        import pyarrow.compute as pc

        keys = tables["conversations"].column("result_key").to_pylist()
        fresh = [k not in self._known for k in keys]
        if not any(fresh):
            return 0
        new_keys = pa.array([k for k, f in zip(keys, fresh) if f], pa.string())
        db = self.store.db
        for name, table in tables.items():
            table = table.filter(pc.is_in(table.column("result_key"), value_set=new_keys))
            if name == "conversations":
                table = table.append_column("run_id", pa.array([self.run_id] * table.num_rows, pa.string()))
                table = table.append_column("record", pa.array(
                    [json.dumps(r, ensure_ascii=False) for r, f in zip(records, fresh) if f], pa.string()))
            if table.num_rows:
                db.register("incoming", table)
                db.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
                db.unregister("incoming")
        self._known.update(new_keys.to_pylist())
        self.added += len(new_keys)
        return len(new_keys)

    def __exit__(self, exc_type: object, *rest: object) -> None:
        db = self.store.db
        if exc_type is not None:
            db.execute("ROLLBACK")
            return
        db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [self.run_id, self.started_at, datetime.now(timezone.utc), self.out_dir,
                    json.dumps(dict(self.settings), sort_keys=True, default=str), self.scored, self.errors])
        db.execute("COMMIT")
