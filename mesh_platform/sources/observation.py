"""What observing a source returns, and the helpers every kind's module (delta, files, jdbc) shares:
Arrow types as contract types, drift against the declaration, the declared read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from mesh_platform.sources.model import Source

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class SourceObservation:
    data_version: str
    row_count: int | None
    newest_data_time: float | None  # epoch seconds; from freshness.loaded_at_field/query; None if not declared
    columns: dict[str, str]  # observed column -> contract type name ("bigint", "decimal(15,2)", ...)
    problems: list[str] = field(default_factory=list)  # drift, one line each


class SourceDrift(Exception):
    """A source whose data no longer fits its declaration; the message names the source and the column."""


def source_label(source: Source, domain: str) -> str:
    return f"{domain}.{source.name}"


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
