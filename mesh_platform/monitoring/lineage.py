"""What a build's lineage is about: the build (product, Dagster run) and the datasets it reads and writes.

Plain values, shared by the observation (observe.py) and the OpenLineage events built from them (openlineage.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame

from mesh_platform.contracts.model import Contract


@dataclass(frozen=True)
class Dataset:
    """A table as lineage names it: its path, the Delta version read or written, its columns.

    `product`: the contract of the mesh product stored there (None for a source), which gives the
    dataset its logical name, owner and description in the events.
    """

    path: str
    version: int | str | None  # a Delta version, or a source's data version
    columns: dict[str, str] = field(default_factory=dict)  # name -> Spark type
    product: Contract | None = field(default=None, compare=False)
    delta: bool = True  # a Delta table (products, undeclared bronze tables); False for a declared source


@dataclass(frozen=True)
class GateVerdict:
    """The publish gate's verdict on one build: published only when no blocking check failed."""

    verdict: str  # pending | passed | refused | not reached (see schemas/MeshContractRunFacet.json)
    checks_run: int = 0
    blocking_failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BuildRun:
    """Who the events are about: a product built by one step of a Dagster run, under its contract."""

    product: str
    dagster_run_id: str
    dagster_job: str
    contract: Contract | None = field(default=None, compare=False)

    @property
    def run_id(self) -> str:  # the same id for START and its COMPLETE/FAIL, wherever they are sent from
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.dagster_run_id}/{self.product}"))


def dataset(path: str | Path, version: int | str | None, df: DataFrame, product: Contract | None = None,
            delta: bool = True) -> Dataset:
    return Dataset(str(path), version, {f.name: f.dataType.simpleString() for f in df.schema.fields}, product, delta)
