"""Spark DataFrames in and out of Delta tables through delta-rs (no Spark Delta jars).

Every write lands as one atomic commit, so readers see the previous version or the new one, never a
mix. Large DataFrames are written by Spark's executors and committed by delta-rs (spark_write.py), so
a product never has to fit in the driver; small ones cross through Arrow, which is faster for them.
Reads hand Spark the Parquet files of one table version, so they stay lazy and distributed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

from mesh_platform import settings
from mesh_platform.storage.description import TableDescription
from mesh_platform.storage.partition_write import PartitionLayout, write_partitions
from mesh_platform.storage.permissions import close_new_versions, prepare_table
from mesh_platform.storage.spark_write import commit_spark_files
from mesh_platform.storage.staging import StagedBuild, publish
from mesh_platform.storage.vacuum import remove_stale_staging

logger = logging.getLogger(__name__)


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
    data: pa.Table, uri: str | Path, commit_metadata: dict[str, str] | None = None,
    description: TableDescription | None = None,
) -> Commit:
    """Replace the table's contents with `data` in one commit (creating the table if needed); with a
    `description`, the table and its schema carry it (storage/description.py)."""
    if description is not None:
        data = description.described_arrow(data)  # refuses nulls in required columns before any write
    access = prepare_table(uri)  # closed before delta-rs creates a file in it (permissions.py)
    exists = current_version(uri) is not None
    if description is not None and exists:
        description.label(uri)
    write_deltalake(
        str(uri),
        data,
        mode="overwrite",
        schema_mode="overwrite",
        name=description.name if description else None,  # delta-rs applies these when it creates the table
        description=description.description if description else None,
        commit_properties=CommitProperties(custom_metadata=commit_metadata or {}),
    )
    commit = _committed(uri)
    close_new_versions(uri, access, commit.version)
    return commit


def file_totals(table: DeltaTable) -> tuple[int, int]:
    """Rows and bytes of the opened version's files, from the log's statistics (no data read)."""
    actions = pa.table(table.get_add_actions(flatten=True))
    if not actions.num_rows:
        return 0, 0
    return tuple(int(pa.compute.sum(actions[c]).as_py() or 0) for c in ("num_records", "size_bytes"))


def _committed(uri: str | Path, written_rows: int | None = None) -> Commit:
    """The commit just made; `written_rows`: of a publish that replaced some partitions, the rows it wrote
    (its row count, rather than the table's)."""
    table = DeltaTable(str(uri))
    rows, size = file_totals(table)
    rows = rows if written_rows is None else written_rows
    return Commit(uri=str(uri), version=table.version(), row_count=rows, size_bytes=size)


def write_path(df: DataFrame) -> str:
    """`arrow` for a DataFrame small enough to cross the driver faster than Spark writes it, else `spark`."""
    choice = settings.write_path()
    if choice != "auto":
        return choice
    jdf = getattr(df, "_jdf", None)  # a classic session knows the (cached) plan's size without a job
    if jdf is None:  # Spark Connect: the rows would cross the network to reach Arrow; count first
        return "arrow" if df.count() <= settings.ARROW_WRITE_MAX_ROWS else "spark"
    size = int(str(jdf.queryExecution().optimizedPlan().stats().sizeInBytes()))  # a Scala BigInt
    return "arrow" if size <= settings.arrow_write_max_bytes() else "spark"


def write_delta(
    df: DataFrame, uri: str | Path, commit_metadata: dict[str, str] | None = None,
    description: TableDescription | None = None, partitions: PartitionLayout | None = None,
) -> Commit:
    """Replace the table's contents with `df` in one commit, through Arrow or Spark's executors; with
    `partitions`, only those partitions (a partitioned product's build, partition_write.py)."""
    if partitions is not None:
        rows = write_partitions(df, uri, partitions, commit_metadata or {}, description,
                                through_spark=write_path(df) == "spark")
        commit = _committed(uri, rows)
    elif write_path(df) == "spark" and commit_spark_files(df, uri, commit_metadata or {}, description):
        commit = _committed(uri)
    else:
        commit = write_arrow(df.toArrow(), uri, commit_metadata, description)
    _remove_killed_writers_staging(uri)
    return commit


def publish_staged(staged: StagedBuild, commit_metadata: dict[str, str] | None = None,
                   description: TableDescription | None = None) -> Commit:
    """Commits a staged build (storage/staging.py): exactly the files its checks read."""
    rows = publish(staged, commit_metadata or {}, description)
    commit = _committed(staged.table_root, rows)
    _remove_killed_writers_staging(staged.table_root)
    return commit


def _remove_killed_writers_staging(uri: str | Path) -> None:
    """After a commit: staging folders of writers killed more than the retention ago (see vacuum.py)."""
    try:
        remove_stale_staging(uri, settings.VACUUM_RETENTION_HOURS)
    except OSError as exc:  # the publish is committed; garbage left now is the daily vacuum's
        logger.warning("could not remove stale staging folders of %s: %s", uri, exc)


def current_version(uri: str | Path) -> int | None:
    try:
        return open_table(uri).version()
    except TableMissing:
        return None
