"""Observing and reading a declared source, whatever its kind.

An observation is cheap (a Delta log, file listings and footers, a JDBC change probe; never a full
read): it tells the source's data version, its row count where the kind knows it without reading, its
newest-data time where the declaration says how to tell, the columns it has now, and how those drifted
from the declaration. A read returns exactly the declared columns, cast to the declared types, or fails
with SourceDrift naming the source and the column, so no product is built from data that no longer fits.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.sources.delta import table_path
from mesh_platform.sources.files import folder
from mesh_platform.sources.model import Source
from mesh_platform.sources.observation import SourceDrift, SourceObservation

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SourceDrift", "SourceObservation", "observe_source", "read_source", "source_uri"]


def _kind_module(kind: str):
    # Imported when needed: a kind's client libraries (a JDBC driver, ADBC) load only where it is used.
    return importlib.import_module(f"mesh_platform.sources.{kind}")


def observe_source(source: Source, domain: str, lake_root: Path) -> SourceObservation:
    return _kind_module(source.kind).observe(source, domain, Path(lake_root))


def read_source(spark: SparkSession, source: Source, domain: str, lake_root: Path) -> DataFrame:
    return _kind_module(source.kind).read(spark, source, domain, Path(lake_root))


def source_uri(source: Source, domain: str, lake_root: Path) -> str:
    """Where the source lives, as lineage names it (a JDBC source by its URL or URL variable: never credentials)."""
    if source.kind == "delta":
        return str(table_path(source, domain, lake_root))
    if source.kind == "files":
        return str(folder(source, lake_root))
    jdbc = source.jdbc
    return f"{jdbc.url or '$' + jdbc.url_env}/{jdbc.table or source.name}"
