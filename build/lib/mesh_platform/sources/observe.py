"""Observing and reading a declared source, whatever its kind.

An observation is cheap (a Delta log, file listings and footers, a JDBC change probe; never a full
read): it tells the source's data version, its row count where the kind knows it without reading, its
newest-data time where the declaration says how to tell, the columns it has now, and how those drifted
from the declaration. A read returns exactly the declared columns, cast to the declared types, or fails
with SourceDrift naming the source and the column, so no product is built from data that no longer fits.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from mesh_platform.sources.model import Source

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class SourceObservation:
    data_version: str
    row_count: int | None
    newest_data_time: float | None  # epoch seconds; from freshness.loaded_at_field/query; None if not declared
    columns: dict[str, str]  # observed column -> contract type name ("bigint", "decimal(15,2)", ...)
    problems: list[str] = field(default_factory=list)  # drift, one line each


class SourceDrift(Exception):
    """A source whose data no longer fits its declaration; the message names the source and the column."""


def _kind_module(kind: str):
    # Imported when needed: a kind's client libraries (a JDBC driver, ADBC) load only where it is used.
    return importlib.import_module(f"mesh_platform.sources.{kind}")


def observe_source(source: Source, domain: str, lake_root: Path) -> SourceObservation:
    return _kind_module(source.kind).observe(source, domain, Path(lake_root))


def read_source(spark: SparkSession, source: Source, domain: str, lake_root: Path) -> DataFrame:
    return _kind_module(source.kind).read(spark, source, domain, Path(lake_root))


def source_uri(source: Source, domain: str, lake_root: Path) -> str:
    """Where the source lives, as lineage names it (a JDBC source by its URL or URL variable: never credentials)."""
    if source.kind == "delta":
        from mesh_platform.sources.delta import table_path

        return str(table_path(source, domain, lake_root))
    if source.kind == "files":
        from mesh_platform.sources.files import folder

        return str(folder(source, lake_root))
    jdbc = source.jdbc
    return f"{jdbc.url or '$' + jdbc.url_env}/{jdbc.table or source.name}"


def source_label(source: Source, domain: str) -> str:
    return f"{domain}.{source.name}"


# --- helpers the kinds share ----------------------------------------------------------------------------

def contract_type(arrow_type: pa.DataType) -> str:
    """The contract type name (Spark's simpleString) of an Arrow type, e.g. int64 -> bigint."""
    from pyspark.sql.pandas.types import from_arrow_type

    if pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        arrow_type = pa.string()
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is None:
        return "timestamp"  # Delta's timestamp_ntz and naive Parquet timestamps: the declaration's timestamp
    return from_arrow_type(arrow_type).simpleString()


def arrow_columns(schema: pa.Schema) -> dict[str, str]:
    return {f.name: contract_type(f.type) for f in schema}


def drift(source: Source, observed: dict[str, str], where: str = "") -> list[str]:
    """One line per declared column that is missing or has another type; extra columns are no drift."""
    prefix = f"{where}: " if where else ""
    lines = []
    for column, declared in source.columns.items():
        if column not in observed:
            lines.append(f"{prefix}column {column} is missing (declared {declared})")
        elif observed[column] != declared:
            lines.append(f"{prefix}column {column} is {observed[column]}, declared {declared}")
    return lines


def require_fit(source: Source, domain: str, problems: list[str]) -> None:
    if problems:
        raise SourceDrift(
            f"source {source_label(source, domain)} no longer fits its declaration in sources.yaml: "
            + "; ".join(problems) + " (fix the source's data or declare what it provides now)"
        )


def conform(df: DataFrame, source: Source) -> DataFrame:
    """Exactly the declared columns, in the declared order, cast to the declared types."""
    from pyspark.sql import functions as F

    return df.select(*[F.col(c).cast(t).alias(c) for c, t in source.columns.items()])


def epoch_seconds(value: object) -> float | None:
    """A statistics value (a datetime, a date or Arrow's scalar of one) as epoch seconds; a date counts
    from its midnight UTC, the earliest moment its data can be from."""
    value = getattr(value, "as_py", lambda: value)()
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    raise TypeError(f"{value!r} is not a date or timestamp")
