"""Results beyond the JSON lines: typed tables (Parquet) and a results store kept between runs (DuckDB)."""
from .parquet import ParquetTables
from .results import Filters, ResultsStore
from .tables import SCHEMA_VERSION, SCHEMAS, TABLES, result_key, rows_of, table_batch

__all__ = ["Filters", "ParquetTables", "ResultsStore", "SCHEMAS", "SCHEMA_VERSION", "TABLES", "result_key", "rows_of",
           "table_batch"]
