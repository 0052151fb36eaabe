"""A contract's partitioning in Dagster's terms, and the slice of data one run builds.

The as-of date bounds a time partitioning: its newest partition is the period holding the mesh's as-of
date (mesh.yaml `as_of`); a mesh without one follows the clock, its newest partition being the current
period in UTC (Dagster's `end_offset=1`). A run builds a `PartitionWindow`: one partition, or a range of
them in one single-run backfill, which the transform reads through `ctx.partition` and the publish
replaces in one Delta commit (storage/delta.py `write_delta(..., partitions=window.layout())`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
from dagster import (
    AllPartitionMapping,
    BackfillPolicy,
    IdentityPartitionMapping,
    PartitionMapping,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
)
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mesh_platform.contracts.model import Contract, Dependency
from mesh_platform.contracts.partitioning import (
    YEAR_TYPES,
    ValuePartitioning,
    inferred_mapping,
)
from mesh_platform.storage.partition_write import PartitionLayout

_CRON = {"day": "0 0 * * *", "month": "0 0 1 * *", "year": "0 0 1 1 *"}
KEY_FORMAT = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}
# A backfill builds up to this many partitions in one run, one Spark session, one Delta commit.
MAX_PARTITIONS_PER_RUN = 500


def period_start(day: date, every: str) -> date:
    return {"day": day, "month": day.replace(day=1), "year": day.replace(month=1, day=1)}[every]


def next_period(day: date, every: str) -> date:
    start = period_start(day, every)
    if every == "day":
        return start + timedelta(days=1)
    if every == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return date(start.year + 1, 1, 1)


def partitions_def(contract: Contract, as_of: date | None) -> PartitionsDefinition | None:
    """The asset's partitions; `as_of`: the mesh's as-of date (None: follow the clock)."""
    partitioning = contract.partitioning
    if partitioning is None:
        return None
    if isinstance(partitioning, ValuePartitioning):
        return StaticPartitionsDefinition(partitioning.values)
    fmt = KEY_FORMAT[partitioning.every]
    bounds = ({"end": next_period(as_of, partitioning.every).strftime(fmt)} if as_of is not None
              else {"end_offset": 1})
    return TimeWindowPartitionsDefinition(start=partitioning.start.strftime(fmt), cron_schedule=_CRON[partitioning.every],
                                          fmt=fmt, timezone="UTC", **bounds)


def backfill_policy(contract: Contract) -> BackfillPolicy | None:
    """Many partitions per run: a backfill is a few runs of one Spark session each, not one per partition."""
    return BackfillPolicy.single_run() if contract.partitioning is not None else None


def dagster_mapping(consumer: Contract, dependency: Dependency, upstream: Contract) -> PartitionMapping | None:
    mapping = dependency.partition_mapping or inferred_mapping(consumer.partitioning, upstream.partitioning)
    if mapping is None:
        return None
    if mapping == "all":
        return AllPartitionMapping()
    if isinstance(upstream.partitioning, ValuePartitioning):
        return IdentityPartitionMapping()
    return TimeWindowPartitionMapping()


@dataclass(frozen=True)
class PartitionWindow:
    """The partitions one run builds: `keys` in order; for a time partitioning the dates [start, end) they
    cover, for a value partitioning the values. What a transform reads through `ctx.partition`."""

    column: str
    keys: tuple[str, ...]
    start: date | None = None
    end: date | None = None
    values: tuple[str, ...] = ()
    year_column: bool = False  # an integer year column: the window compares years
    every: str | None = None  # day, month or year: how a row's date becomes its partition key

    @property
    def label(self) -> str:
        return self.keys[0] if len(self.keys) == 1 else f"{self.keys[0]}..{self.keys[-1]}"

    def condition(self, column: str | None = None) -> SparkColumn:
        """True on the rows of `column` (default: the partition column) that fall in the window; a
        transform passes the source column its partition column comes from."""
        col = F.col(column or self.column)
        if self.start is None:
            return col.isin(*self.values)
        if self.year_column and column is None:
            return (col >= F.lit(self.start.year)) & (col < F.lit(self.end.year))
        return (col >= F.lit(self.start)) & (col < F.lit(self.end))

    def filter(self, df: DataFrame, column: str | None = None) -> DataFrame:
        return df.where(self.condition(column))

    def layout(self) -> PartitionLayout:
        """How the publish finds each row's partition key (storage/partition_write.py)."""
        column = self.column
        if self.every is None or self.year_column:  # values, or an integer year: the key is the value
            return PartitionLayout(self.keys, lambda: F.col(column).cast("string"),
                                   lambda data: pc.cast(data.column(column), pa.string()))
        fmt = KEY_FORMAT[self.every]
        pattern = fmt.replace("%Y", "yyyy").replace("%m", "MM").replace("%d", "dd")
        width = len(date(2000, 1, 1).strftime(fmt))  # the key is a prefix of the ISO date: 10, 7 or 4 characters

        def arrow_key(data: pa.Table) -> pa.Array:
            # The ISO text Arrow casts a date or a timestamp to (in UTC), cut to the key's width: the same
            # text as strftime(fmt), about 30 times faster (6 s for 1.5 M rows with strftime).
            values = data.column(column)
            if pa.types.is_timestamp(values.type) and values.type.tz is not None:
                values = pc.cast(values, pa.timestamp(values.type.unit))  # the UTC wall time, without zone
            return pc.utf8_slice_codeunits(pc.cast(values, pa.string()), 0, width)

        return PartitionLayout(self.keys, lambda: F.date_format(F.col(column), pattern), arrow_key)

    def within(self, contract: Contract) -> PartitionWindow:
        """The same window over `contract`'s (an upstream's) partition column: what a consumer reads of it."""
        return _window(contract, self.keys, self.start, self.end)


def _window(contract: Contract, keys: tuple[str, ...], start: date | None, end: date | None) -> PartitionWindow:
    """`keys` of `contract`'s partitioning as a window: their values, or the dates [start, end) they cover."""
    partitioning = contract.partitioning
    if isinstance(partitioning, ValuePartitioning):
        return PartitionWindow(partitioning.column, keys, values=keys)
    year = contract.column(partitioning.column).type in YEAR_TYPES
    return PartitionWindow(partitioning.column, keys, start, end, year_column=year, every=partitioning.every)


def run_window(contract: Contract, context) -> PartitionWindow | None:
    """The window the run's partition key (or key range) selects; None for an unpartitioned product."""
    if contract.partitioning is None:
        return None
    keys = tuple(context.partition_keys)
    if isinstance(contract.partitioning, ValuePartitioning):
        return _window(contract, keys, None, None)
    window = context.partition_time_window
    return _window(contract, keys, window.start.date(), window.end.date())


def window_for_keys(contract: Contract, keys: list[str]) -> PartitionWindow:
    """The window of `keys` outside a run (tests, benchmarks); keys must be contiguous."""
    partitioning = contract.partitioning
    if isinstance(partitioning, ValuePartitioning):
        return _window(contract, tuple(keys), None, None)
    fmt = KEY_FORMAT[partitioning.every]
    first, last = (datetime.strptime(k, fmt).date() for k in (keys[0], keys[-1]))
    return _window(contract, tuple(keys), first, next_period(last, partitioning.every))
