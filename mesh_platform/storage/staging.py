"""Publish exactly what was checked: a build is written once, checked from its files, and those files committed.

`stage` has Spark's executors write the build as Parquet into a fresh folder inside the table
(`<table>/spark-<uuid>/`, which no Delta version references, so no reader sees it). The checks then read
those files (`StagedBuild.frame`): the transform is computed once, by the write. Before, the checks ran on a
persisted DataFrame and the publish wrote it again: the JVM filled its cache first, and Sail, which ignores
`persist()`, computed the whole transform two or three times. `publish` commits exactly the staged files in
one Delta version (a partitioned build's files move into their partitions' folders first); `discard`
removes them when the checks refuse the build. A process killed in between leaves an unreferenced folder,
which `mesh vacuum` removes (vacuum.py).
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from mesh_platform.storage.description import TableDescription
from mesh_platform.storage.partition_write import (
    PartitionLayout,
    adopt_staged,
    commit_partitions,
    staged_partitions,
    write_keyed,
)
from mesh_platform.storage.permissions import prepare_table
from mesh_platform.storage.spark_write import STAGING_PREFIX, commit_files


@dataclass
class StagedBuild:
    """A build written under `folder` inside `table_root`, not yet any version of the table."""

    table_root: Path
    folder: Path
    schema: StructType  # the build's declared schema (what the Arrow path would commit)
    layout: PartitionLayout | None
    files: dict[str | None, list[Path]]  # by partition key; None: an unpartitioned build
    access: object = None
    committed: bool = field(default=False)

    def paths(self) -> list[str]:
        return [str(f) for files in self.files.values() for f in files]

    def frame(self, spark: SparkSession) -> DataFrame:
        """The staged rows as a lazy DataFrame over the written files, in the build's columns."""
        paths = self.paths()
        if not paths:
            return spark.createDataFrame([], self.schema)
        return spark.read.parquet(*paths).select(*self.schema.names)

    def discard(self) -> None:
        """Removes the staged files (a refused or failed build); never those of a commit already made."""
        if not self.committed:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _committed(self) -> None:
        self.committed = True


def stage(df: DataFrame, uri: str | Path, layout: PartitionLayout | None = None, name: str = "") -> StagedBuild:
    """Writes `df` once, with Spark's executors, into a staging folder of the table at `uri`; PartitionOverflow
    for a partitioned build (`layout`) holding rows of other partitions (nothing is kept)."""
    table_root = Path(uri)
    access = prepare_table(table_root)  # the executors write into a folder others cannot reach
    folder = table_root / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    try:
        if layout is None:
            df.write.parquet(str(folder))
            files = {None: sorted(folder.glob("*.parquet"))}
        else:
            write_keyed(df, folder, layout)
            files = staged_partitions(folder, layout, name or str(uri))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return StagedBuild(table_root, folder, df.schema, layout, files, access)


def publish(staged: StagedBuild, commit_metadata: dict[str, str], description: TableDescription | None) -> int | None:
    """Commits exactly the staged files as the table's new version (a partitioned build: as its partitions);
    the rows a partitioned publish wrote, None for a whole table. Nothing is committed if it fails."""
    arrow_schema = to_arrow_schema(staged.schema, timezone="UTC")
    try:
        if staged.layout is None:
            commit_files(staged.table_root, staged.folder, staged.files.get(None, []), arrow_schema,
                         commit_metadata, description, staged.access, on_commit=staged._committed)
            return None
        moved = adopt_staged(staged.folder, staged.table_root, {k: v for k, v in staged.files.items() if k})
        schema = description.arrow_schema(arrow_schema) if description is not None else arrow_schema
        return commit_partitions(staged.table_root, moved, staged.layout, schema, commit_metadata, description,
                                 staged.access, on_commit=staged._committed)
    except BaseException:
        staged.discard()
        raise
