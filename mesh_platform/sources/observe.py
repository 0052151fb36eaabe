"""What an observation of a source finds, and dispatch of observe/read by the source's kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mesh_platform.sources.model import Source


@dataclass(frozen=True)
class SourceObservation:
    data_version: str
    row_count: int | None
    newest_data_time: float | None  # epoch seconds; from freshness.loaded_at_field/query; None if not declared
    columns: dict[str, str]  # observed column -> contract type name ("bigint", "decimal(15,2)", ...)
    problems: list[str] = field(default_factory=list)  # drift, one line each


class SourceDrift(Exception):
    """The source's data no longer fits its declaration; the message names the source and the column."""


def _kind(source: Source):
    if source.kind == "jdbc":
        from mesh_platform.sources import jdbc

        return jdbc
    raise NotImplementedError(f"source kind {source.kind}")


def observe_source(source: Source, domain: str, lake_root: Path) -> SourceObservation:
    return _kind(source).observe(source, domain, lake_root)


def read_source(spark, source: Source, domain: str, lake_root: Path):
    if source.kind == "delta":
        from mesh_platform.storage.delta import read_delta
        from mesh_platform.storage.layout import bronze_path

        path = Path(lake_root) / source.delta.path if source.delta and source.delta.path else bronze_path(
            lake_root, domain, source.name)
        return read_delta(spark, path)
    return _kind(source).read(spark, source, domain, lake_root)
