"""A partitioned product's key, unique across partitions without rereading the table.

A build sees only its window's rows, so the primary-key check proves uniqueness within the partitions it
publishes. A contract promising more (`partitioning: {..., key_unique_across_partitions: true}`) gets one more
job: the build's keys semi-joined with the KEY COLUMNS ONLY of the current version's files of every other
partition (Parquet column pruning: for sales.orders that is one string column, not the table; a backfill
of every partition reads nothing). Files written before the table was partitioned are read with the window's
rows filtered out.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from pyspark.sql import DataFrame

from mesh_platform.checks.evaluate import CheckOutcome
from mesh_platform.checks.names import PRIMARY_KEY_CHECK
from mesh_platform.contracts.model import Contract
from mesh_platform.storage.delta import TableMissing, open_table
from mesh_platform.storage.layout import product_path
from mesh_platform.storage.partition_write import partition_of


def keys_elsewhere(df: DataFrame, contract: Contract, lake_root: Path, window) -> int:
    """Rows of `df` whose key is already published in a partition outside `window`."""
    try:
        table = open_table(product_path(lake_root, contract.domain, contract.asset_name))
    except TableMissing:
        return 0
    root = Path(table.table_uri.removeprefix("file://"))
    paths = pa.table(table.get_add_actions(flatten=True)).column("path").to_pylist()
    aligned = [str(root / p) for p in paths if partition_of(p) not in (None, *window.keys)]
    unaligned = [str(root / p) for p in paths if partition_of(p) is None]
    key = contract.primary_key
    spark = df.sparkSession
    others = [spark.read.parquet(*aligned).select(*key)] if aligned else []
    if unaligned:
        rest = spark.read.parquet(*unaligned)
        others.append(rest.where(~window.condition()).select(*key))
    if not others:
        return 0
    elsewhere = others[0] if len(others) == 1 else others[0].unionByName(others[1])
    return df.select(*key).join(elsewhere.distinct(), key, "left_semi").count()


def with_keys_across_partitions(outcome: CheckOutcome, df: DataFrame, contract: Contract, lake_root: Path,
                                window) -> CheckOutcome:
    """The primary-key outcome, failing also when a key of the build is published in another partition."""
    if outcome.name != PRIMARY_KEY_CHECK or not outcome.passed:
        return outcome
    found = keys_elsewhere(df, contract, lake_root, window)
    metadata = {**outcome.metadata, "keys_in_other_partitions": found}
    return CheckOutcome(outcome.name, found == 0, outcome.critical, outcome.description, metadata)
