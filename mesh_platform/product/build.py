"""What a transform function receives (BuildContext) and what a product build publishes (Publication)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession

from mesh_platform.contracts.model import Contract

if TYPE_CHECKING:
    from mesh_platform.product.partitions import PartitionWindow
    from mesh_platform.storage.staging import StagedBuild


@dataclass(frozen=True)
class BuildContext:
    """Inputs of one product build.

    `source(name)` is one of the domain's own bronze tables; `product("domain.name")` a published product
    declared under `dependencies` in the contract. Both are lazy Spark DataFrames. A partitioned product's
    build also gets `partition`, the window it builds (one partition, or a backfill's range): the transform
    reads only that window of its sources with `in_partition(df, column)`; consumed partitioned products
    arrive already restricted to the partitions the dependency maps.
    """

    spark: SparkSession
    as_of: date
    sources: Mapping[str, DataFrame]
    products: Mapping[str, DataFrame]
    partition: PartitionWindow | None = None

    def in_partition(self, df: DataFrame, column: str) -> DataFrame:
        """The rows of `df` whose `column` (a source's date, timestamp or value column that becomes the
        partition column) falls in the window being built; all of `df` for an unpartitioned product."""
        return df if self.partition is None else self.partition.filter(df, column)

    def source(self, name: str) -> DataFrame:
        if name not in self.sources:
            raise KeyError(f"bronze table {name!r} is not listed under 'sources' in the contract")
        return self.sources[name]

    def product(self, key: str) -> DataFrame:
        if key not in self.products:
            raise KeyError(f"product {key!r} is not listed under 'dependencies' in the contract")
        return self.products[key]


Transform = Callable[[BuildContext], DataFrame]


@dataclass(frozen=True)
class Publication:
    """What a product build hands the IO manager: the checked DataFrame and the contract it is published
    under, which the Delta commit records whole (contracts/revisions.py reads it back)."""

    df: DataFrame
    contract: Contract
    partition: PartitionWindow | None = None  # the partitions it replaces (None: the whole table)
    staged: StagedBuild | None = None  # the files `df` reads, which the commit publishes (storage/staging.py)
