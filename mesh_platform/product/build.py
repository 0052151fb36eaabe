"""What a transform function receives (BuildContext) and what a product build publishes (Publication)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession

from mesh_platform.contracts.model import Contract


@dataclass(frozen=True)
class BuildContext:
    """Inputs of one product build.

    `source(name)` is one of the domain's own bronze tables; `product("domain.name")` a published product
    declared under `dependencies` in the contract. Both are lazy Spark DataFrames.
    """

    spark: SparkSession
    as_of: date
    sources: Mapping[str, DataFrame]
    products: Mapping[str, DataFrame]

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
