"""`kind: delta` sources: a Delta table (what `mesh seed` writes), observed from its log alone.

Its data version is the table's Delta version; its row count and newest-data time come from the add
actions' statistics in the log (each data file's record count and column maxima), so an observation
reads no data file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from mesh_platform.sources.model import Source
from mesh_platform.sources.observation import (
    SourceDrift,
    SourceObservation,
    arrow_columns,
    conform,
    drift,
    epoch_seconds,
    require_fit,
    source_label,
)
from mesh_platform.storage.delta import TableMissing, open_table, read_table
from mesh_platform.storage.layout import bronze_path

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def table_path(source: Source, domain: str, lake_root: Path) -> Path:
    """`delta.path` (relative to the lake root unless absolute), by default <lake>/<domain>/bronze/<name>."""
    declared = source.delta.path if source.delta else None
    return Path(lake_root) / declared if declared else bronze_path(lake_root, domain, source.name)


def _open(source: Source, domain: str, lake_root: Path):
    path = table_path(source, domain, lake_root)
    try:
        return open_table(path)
    except TableMissing:
        raise SourceDrift(
            f"source {source_label(source, domain)}: no Delta table at {path} (run `mesh seed`, or fix delta.path)"
        ) from None


def _stat_sum(actions: pa.Table, column: str) -> int | None:
    if column not in actions.column_names or actions[column].null_count:
        return None  # a file written without statistics: unknown without a read
    return int(pc.sum(actions[column]).as_py() or 0)


def _stat_max(actions: pa.Table, column: str) -> float | None:
    stat = f"max.{column}"
    if stat not in actions.column_names or not actions.num_rows or actions[stat].null_count == actions.num_rows:
        return None
    return epoch_seconds(pc.max(actions[stat]))


def observe(source: Source, domain: str, lake_root: Path) -> SourceObservation:
    table = _open(source, domain, lake_root)
    columns = arrow_columns(pa.schema(table.schema().to_arrow()))
    actions = pa.table(table.get_add_actions(flatten=True))
    loaded_at = source.freshness.loaded_at_field if source.freshness else None
    return SourceObservation(
        data_version=str(table.version()),
        row_count=_stat_sum(actions, "num_records") if actions.num_rows else 0,
        newest_data_time=_stat_max(actions, loaded_at) if loaded_at else None,
        columns=columns,
        problems=drift(source, columns),
    )


def read(spark: SparkSession, source: Source, domain: str, lake_root: Path) -> DataFrame:
    table = _open(source, domain, lake_root)
    require_fit(source, domain, drift(source, arrow_columns(pa.schema(table.schema().to_arrow()))))
    return conform(read_table(spark, table), source)
