"""Replacing some partitions of a Delta table in one commit, leaving every other partition's files alone.

A partitioned product keeps each partition's rows in files of their own, under `<table>/partitions/<key>/`
(the folder only names the partition for the writer: the table is an ordinary unpartitioned Delta table, its
columns all inside the files, so every reader reads it as before). Publishing a window of partitions writes
its new files there, then commits in ONE Delta version: add the new files, remove exactly the files of the
window's partitions. Readers see every partition before or after, never a mix; the other partitions' files
are not touched (not even rewritten, as a delta-rs predicate overwrite would do with files shared by
several partitions). A writer killed before the commit leaves only files no version references, which
readers never list and `mesh vacuum` removes.

Files outside that layout (the table was last written whole, before it was partitioned) are migrated once:
that publish rewrites the table's other rows by partition too, still in one commit. Rows outside the
window are refused (PartitionOverflow): a transform that strays from its window publishes nothing.
A window small enough crosses the driver as Arrow; a larger one is written by Spark's executors, one folder
per partition (`partitionBy` on a helper column that stays out of the files).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql.pandas.types import to_arrow_schema

from mesh_platform.storage.description import RequiredColumnNull, TableDescription
from mesh_platform.storage.permissions import close_new_versions, close_tree, prepare_table
from mesh_platform.storage.spark_write import STAGING_PREFIX

PARTITIONS_FOLDER = "partitions"
_KEY = "__mesh_partition"


class PartitionOverflow(ValueError):
    """A partition's build holding rows outside the partitions it replaces."""


class PartitionLayout:
    """How the rows of one table map to partition keys: `spark_key` and `arrow_key` give the same key text
    as the product's partitions (product/partitions.py builds it)."""

    def __init__(self, keys: tuple[str, ...], spark_key: Callable[[], SparkColumn],
                 arrow_key: Callable[[pa.Table], pa.Array]):
        self.keys = keys
        self.spark_key = spark_key
        self.arrow_key = arrow_key


def partition_of(path: str) -> str | None:
    """The partition key of a data file's path in the table's log, None outside the partition layout."""
    parts = path.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == PARTITIONS_FOLDER else None


def _add(table_root: Path, file: Path) -> AddAction:
    stat = file.stat()
    rows = pq.read_metadata(file).num_rows
    return AddAction(path=str(file.relative_to(table_root)), size=stat.st_size, partition_values={},
                     modification_time=int(stat.st_mtime * 1000), data_change=True,
                     stats=json.dumps({"numRecords": rows}))


def _overflow(name: str, outside: list[str], layout: PartitionLayout) -> PartitionOverflow:
    return PartitionOverflow(
        f"{name}: rows of partition(s) {', '.join(sorted(outside)[:5])} in a build of {layout.keys[0]}"
        f"{'..' + layout.keys[-1] if len(layout.keys) > 1 else ''}; filter the transform's inputs with "
        "ctx.in_partition(df, column)")


def _write_arrow_files(data: pa.Table, table_root: Path, layout: PartitionLayout, name: str) -> list[Path]:
    keys = layout.arrow_key(data)
    outside = sorted(set(pc.unique(keys).to_pylist()) - set(layout.keys), key=str)
    if outside:
        raise _overflow(name, [str(k) for k in outside], layout)
    files = []
    for key in layout.keys:
        rows = data.filter(pc.equal(keys, key))
        if rows.num_rows:
            folder = table_root / PARTITIONS_FOLDER / key
            folder.mkdir(parents=True, exist_ok=True)
            files.append(folder / f"{uuid.uuid4().hex}.parquet")
            pq.write_table(rows, files[-1])
    return files


def _write_spark_files(df: DataFrame, table_root: Path, layout: PartitionLayout, name: str,
                       description: TableDescription | None) -> list[Path]:
    staging = table_root / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    written = description.guarded(df) if description is not None else df
    try:
        write_keyed(written, staging, layout)
    except Exception as exc:
        null = description.null_error_in(exc) if description is not None else None
        if null:
            raise RequiredColumnNull(null) from None
        raise
    return adopt_staged(staging, table_root, staged_partitions(staging, layout, name))


def write_keyed(df: DataFrame, staging: Path, layout: PartitionLayout) -> None:
    """Spark's executors write `df` under `staging`, one folder per partition key (the key column stays out of
    the files)."""
    df.withColumn(_KEY, layout.spark_key()).write.partitionBy(_KEY).parquet(str(staging))


def staged_partitions(staging: Path, layout: PartitionLayout, name: str) -> dict[str, list[Path]]:
    """The files `write_keyed` wrote, by partition key; PartitionOverflow (and nothing kept) for rows outside
    the layout's partitions."""
    found = {folder.name.split("=", 1)[1]: sorted(folder.glob("*.parquet")) for folder in staging.glob(f"{_KEY}=*")}
    outside = sorted(set(found) - set(layout.keys))
    if outside:
        shutil.rmtree(staging, ignore_errors=True)
        raise _overflow(name, outside, layout)
    return found


def adopt_staged(staging: Path, table_root: Path, found: dict[str, list[Path]]) -> list[Path]:
    """Moves staged files into their partitions' folders (still unreferenced by any version); their new paths."""
    files = []
    for key, staged in found.items():
        target = table_root / PARTITIONS_FOLDER / key
        target.mkdir(parents=True, exist_ok=True)
        for file in staged:
            files.append(target / f"{uuid.uuid4().hex}.parquet")
            file.rename(files[-1])
    shutil.rmtree(staging, ignore_errors=True)
    return files


def partition_schema(df: DataFrame, description: TableDescription | None) -> pa.Schema:
    schema = to_arrow_schema(df.schema, timezone="UTC")
    return description.arrow_schema(schema) if description is not None else schema


def write_partitions(df: DataFrame, uri: str | Path, layout: PartitionLayout, commit_metadata: dict[str, str],
                     description: TableDescription | None, *, through_spark: bool) -> int:
    """Replaces the partitions `layout.keys` with `df` in one commit (creating the table if need be); returns
    the rows written."""
    table_root = Path(uri)
    access = prepare_table(table_root)
    name = description.name if description else str(uri)
    schema = partition_schema(df, description)
    new_files: list[Path] = []
    try:
        if through_spark:
            new_files = _write_spark_files(df, table_root, layout, name, description)
        else:
            data = df.toArrow()
            data = description.described_arrow(data) if description is not None else data.cast(schema)
            new_files = _write_arrow_files(data, table_root, layout, name)
    except BaseException:
        for file in new_files:
            file.unlink(missing_ok=True)
        raise
    return commit_partitions(table_root, new_files, layout, schema, commit_metadata, description, access)


def commit_partitions(table_root: Path, new_files: list[Path], layout: PartitionLayout, schema: pa.Schema,
                      commit_metadata: dict[str, str], description: TableDescription | None, access,
                      on_commit=None) -> int:
    """Commits `new_files` (already in their partitions' folders) as the partitions `layout.keys`, removing
    exactly those partitions' old files, in one Delta version; the rows added. `on_commit` is called as soon
    as the commit is made."""
    name = description.name if description else str(table_root)
    try:
        table = DeltaTable(str(table_root))
    except TableNotFoundError:
        table = None
    migrated: list[Path] = []
    try:
        removed = []
        if table is not None:
            if description is not None:
                description.label(table_root)
                table = DeltaTable(str(table_root))
            paths = pa.table(table.get_add_actions(flatten=True)).column("path").to_pylist()
            unaligned = [p for p in paths if partition_of(p) is None]
            removed = [p for p in paths if partition_of(p) in layout.keys] + unaligned
            if unaligned:  # migrate: the other partitions' rows of those files, one file per partition
                kept = table.to_pyarrow_table()
                others = kept.filter(pc.invert(pc.is_in(layout.arrow_key(kept), pa.array(layout.keys))))
                every = PartitionLayout(tuple(sorted(set(layout.arrow_key(others).to_pylist()))),
                                        layout.spark_key, layout.arrow_key)
                migrated = _write_arrow_files(others.cast(schema), table_root, every, name)
        adds = [_add(table_root, f) for f in new_files + migrated]
        rows = sum(json.loads(a.stats)["numRecords"] for a in adds[:len(new_files)])
        properties = CommitProperties(custom_metadata=commit_metadata)
        if table is None:
            create_table_with_add_actions(str(table_root), DeltaSchema.from_arrow(schema), adds, mode="overwrite",
                                          name=description.name if description else None,
                                          description=description.description if description else None,
                                          commit_properties=properties)
        else:
            now = int(time.time() * 1000)
            removes = [RemoveAction(path=p, data_change=True, deletion_timestamp=now) for p in removed]
            table.create_write_transaction([*adds, *removes], mode="append", schema=DeltaSchema.from_arrow(schema),
                                           commit_properties=properties)
    except BaseException:  # nothing committed
        for file in new_files + migrated:
            file.unlink(missing_ok=True)
        raise
    if on_commit is not None:
        on_commit()
    if (table_root / PARTITIONS_FOLDER).exists():
        close_tree(table_root / PARTITIONS_FOLDER, access)
    close_new_versions(table_root, access, DeltaTable(str(table_root)).version())
    return rows
