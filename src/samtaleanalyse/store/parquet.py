"""The output folder's results as Parquet: ``conversations.parquet``, ``turns.parquet``, ``findings.parquet``.

Written from the ledger batch by batch (memory does not grow with the folder) into temporary files that are
moved into place together at the end, so a reader never sees a half-written table.
"""
from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .tables import SCHEMAS, TABLES


class ParquetTables:
    """``with ParquetTables(folder) as out: out.write(tables)``; the files appear only when the block ends well."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._temps = {name: self.folder / f".{name}.parquet.{os.getpid()}.tmp" for name in TABLES}
        self._writers: dict[str, pq.ParquetWriter] = {}

    def __enter__(self) -> "ParquetTables":
        self._writers = {name: pq.ParquetWriter(self._temps[name], SCHEMAS[name], compression="zstd")
                         for name in TABLES}
        return self

    def write(self, tables: dict[str, pa.Table]) -> None:
        for name, table in tables.items():
            if table.num_rows:
                self._writers[name].write_table(table)

    def __exit__(self, exc_type: object, *rest: object) -> None:
        for writer in self._writers.values():
            writer.close()
        for name, temp in self._temps.items():
            if exc_type is None:
                os.replace(temp, self.folder / f"{name}.parquet")
            else:
                temp.unlink(missing_ok=True)
