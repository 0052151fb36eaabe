"""Publishing without a driver bottleneck: Spark's executors write the Parquet files, delta-rs commits them.

The files land in a fresh folder inside the table (`<table>/spark-<uuid>/`) that no Delta version
references, so readers cannot see them; delta-rs then adds them (and removes the previous version's
files) in one atomic commit. If the Spark job or the commit fails, the folder is removed and the
previous version stays current; a process killed midway leaves only unreferenced files, which readers
never list and `mesh vacuum` (storage/vacuum.py) removes.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, create_table_with_add_actions
from pyspark.sql import DataFrame
from pyspark.sql.pandas.types import to_arrow_schema

from mesh_platform.storage.description import RequiredColumnNull, TableDescription
from mesh_platform.storage.permissions import close_new_versions, close_tree, prepare_table

STAGING_PREFIX = "spark-"


def _add_action(table_root: Path, file: Path, footer: pq.FileMetaData) -> AddAction:
    stat = file.stat()
    return AddAction(
        path=str(file.relative_to(table_root)),
        size=stat.st_size,
        partition_values={},
        modification_time=int(stat.st_mtime * 1000),
        data_change=True,
        stats=json.dumps({"numRecords": footer.num_rows}),
    )


def commit_spark_files(
    df: DataFrame, uri: str | Path, commit_metadata: dict[str, str], description: TableDescription | None = None
) -> bool:
    """Writes `df` with Spark and commits it as the table's new version; False if Spark wrote no file. With a
    `description`, the table and its schema carry it and the job fails on a null in a required column."""
    table_root = Path(uri)
    access = prepare_table(table_root)  # the executors write into a folder others cannot reach
    staging = table_root / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    try:
        written = description.guarded(df) if description is not None else df
        try:  # the executors write; the job commit makes the files appear at once
            written.write.parquet(str(staging))
        except Exception as exc:
            null = description.null_error_in(exc) if description is not None else None
            if null:
                raise RequiredColumnNull(null) from None
            raise
        files = sorted(staging.glob("*.parquet"))
        if not files:
            shutil.rmtree(staging, ignore_errors=True)
            return False
        commit_files(table_root, staging, files, to_arrow_schema(df.schema, timezone="UTC"), commit_metadata,
                     description, access)
        return True
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def commit_files(table_root: Path, staging: Path, files: list[Path], arrow_schema, commit_metadata: dict[str, str],
                 description: TableDescription | None, access, on_commit=None) -> None:
    """Commits `files` (written under `staging`, inside the table) as the table's whole new version.

    `arrow_schema`: the DataFrame's declared schema, as the Arrow path commits it: engines' writers differ in
    the nullability they put in files (Sail marks computed columns non-null), Spark's schema does not.
    `on_commit` is called as soon as the Delta commit is made (the files are then the table's).
    """
    actions = [_add_action(table_root, f, pq.read_metadata(f)) for f in files]  # footers: row counts
    schema = DeltaSchema.from_arrow(description.arrow_schema(arrow_schema) if description else arrow_schema)
    properties = CommitProperties(custom_metadata=commit_metadata)
    try:
        table = DeltaTable(str(table_root))
    except TableNotFoundError:
        create_table_with_add_actions(str(table_root), schema, actions, mode="overwrite",
                                      name=description.name if description else None,
                                      description=description.description if description else None,
                                      commit_properties=properties)
    else:
        if description is not None:
            description.label(table_root)
            table = DeltaTable(str(table_root))
        table.create_write_transaction(actions, mode="overwrite", schema=schema, commit_properties=properties)
    if on_commit is not None:
        on_commit()
    if staging.exists():  # an engine writing no row may create no folder (Sail)
        close_tree(staging, access)  # the files Spark created with its own modes, checksums and _SUCCESS too
    close_new_versions(table_root, access, DeltaTable(str(table_root)).version())
