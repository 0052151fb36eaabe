"""What a build's lineage is about: the build (product, Dagster run) and the datasets it reads and writes.

Plain values, shared by the observation (observe.py) and the OpenLineage events built from them (openlineage.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame


@dataclass(frozen=True)
class Dataset:
    """A table as lineage names it: its path, the Delta version read or written, its columns."""

    path: str
    version: int | str | None  # a Delta version, or a source's data version
    columns: dict[str, str] = field(default_factory=dict)  # name -> Spark type


@dataclass(frozen=True)
class BuildRun:
    """Who the events are about: a product built by one step of a Dagster run."""

    product: str
    dagster_run_id: str
    dagster_job: str

    @property
    def run_id(self) -> str:  # the same id for START and its COMPLETE/FAIL, wherever they are sent from
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.dagster_run_id}/{self.product}"))


def dataset(path: str | Path, version: int | str | None, df: DataFrame) -> Dataset:
    return Dataset(str(path), version, {f.name: f.dataType.simpleString() for f in df.schema.fields})
