"""Spark DataFrames in and out of Delta tables through delta-rs (no Spark Delta jars).

Writes cross into Delta through Arrow and land as one atomic commit, so readers see the previous
version or the new one, never a mix. Reads hand Spark the Parquet files of one table version, so they
stay lazy and distributed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema


class TableMissing(FileNotFoundError):
    """A Delta table that was never published."""


@dataclass(frozen=True)
class Commit:
    uri: str
    version: int
    row_count: int
    size_bytes: int


def open_table(uri: str | Path, version: int | None = None) -> DeltaTable:
    try:
        return DeltaTable(str(uri), version=version)
    except TableNotFoundError:
        raise TableMissing(f"no Delta table at {uri}") from None


def read_delta(spark: SparkSession, uri: str | Path, version: int | None = None) -> DataFrame:
    return read_table(spark, open_table(uri, version))


def read_table(spark: SparkSession, table: DeltaTable) -> DataFrame:
    """The opened version of `table` as a lazy Spark DataFrame over its Parquet files."""
    files = table.file_uris()
    if files:
        return spark.read.parquet(*files)
    schema = from_arrow_schema(pa.schema(table.schema().to_arrow()))
    return spark.createDataFrame([], schema)


def write_arrow(
    data: pa.Table, uri: str | Path, commit_metadata: dict[str, str] | None = None
) -> Commit:
    """Replace the table's contents with `data` in one commit (creating the table if needed)."""
    write_deltalake(
        str(uri),
        data,
        mode="overwrite",
        schema_mode="overwrite",
        commit_properties=CommitProperties(custom_metadata=commit_metadata or {}),
    )
    table = DeltaTable(str(uri))
    metrics = table.history(1)[0].get("operationMetrics", {})
    actions = pa.table(table.get_add_actions(flatten=True))
    return Commit(
        uri=str(uri),
        version=table.version(),
        row_count=int(metrics.get("num_added_rows", data.num_rows)),
        size_bytes=int(pa.compute.sum(actions["size_bytes"]).as_py() or 0),
    )


def write_delta(df: DataFrame, uri: str | Path, commit_metadata: dict[str, str] | None = None) -> Commit:
    return write_arrow(df.toArrow(), uri, commit_metadata)


def current_version(uri: str | Path) -> int | None:
    try:
        return open_table(uri).version()
    except TableMissing:
        return None
