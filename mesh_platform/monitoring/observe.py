"""Watching one product build from its first Spark job to its Delta commit.

The asset function begins the observation (compute meter on, OpenLineage START once its inputs are
known) and the IO manager ends it after the commit (COMPLETE with the new version, cost metadata), or
either ends it with FAIL. Both run in the same step process, so the open observation is handed over
through a registry keyed by (Dagster run, asset key).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import SparkSession

from mesh_platform import settings
from mesh_platform.monitoring.compute import ComputeCost, ComputeMeter
from mesh_platform.monitoring.lineage import BuildRun, Dataset, GateVerdict

log = logging.getLogger(__name__)
_OPEN: dict[tuple[str, str], BuildObservation] = {}


def storage_bytes(table_path: str | Path) -> int:
    """Everything the table keeps on disk: current and older versions' files and its log."""
    return sum(f.stat().st_size for f in Path(table_path).rglob("*") if f.is_file()) if os.path.isdir(table_path) else 0


class BuildObservation:
    """Inert when MESH_MONITORING=off. Keeps the time it spends itself (`cost/monitoring_seconds`)."""

    def __init__(self, build: BuildRun, spark: SparkSession):
        self.build = build
        self.enabled = settings.monitoring_enabled()
        self._inputs: list[Dataset] = []
        self._gate: GateVerdict | None = None  # the publish gate's verdict, once the checks ran
        self._started = self._ended = False
        self._own_seconds = 0.0
        if self.enabled:
            self._meter = self._timed(ComputeMeter(spark, build.product).start)
            _OPEN[(build.dagster_run_id, build.product)] = self

    def started(self, inputs: Callable[[], list[Dataset]]) -> None:
        """Sends START with the datasets `inputs()` returns (not called when monitoring is off)."""
        if self.enabled:
            self._inputs = self._timed(inputs)
        self._send("START")
        self._started = True

    def phase(self, name: str) -> None:
        """Spark jobs from now on count towards `name` (build, checks, publish)."""
        if self.enabled:
            self._timed(self._meter.phase, name)

    def judged(self, gate: GateVerdict) -> None:
        """The gate's verdict, carried by the events sent from now on (COMPLETE or FAIL)."""
        self._gate = gate

    def failed(self, error: str) -> None:
        if self._ended or not self.enabled:
            return
        if not self._started:
            self._send("START")
        self._end()
        self._send("FAIL", error=error)

    def completed(self, output: Dataset, rows: int, size_bytes: int) -> dict[str, float | int]:
        """Sends COMPLETE; returns the build's cost as materialization metadata."""
        cost = self._end()
        self._send("COMPLETE", output=output, rows=rows, size_bytes=size_bytes)
        storage = self._timed(storage_bytes, output.path)
        return {**cost.as_metadata(), "cost/bytes_written": size_bytes, "cost/storage_bytes": storage,
                "cost/monitoring_seconds": round(self._own_seconds, 3)}

    def _end(self) -> ComputeCost:
        self._ended = True
        _OPEN.pop((self.build.dagster_run_id, self.build.product), None)
        return self._timed(self._meter.stop)

    def _send(self, state: str, **details) -> None:
        if not self.enabled:
            return
        try:
            from mesh_platform.monitoring.openlineage import emit  # the client's import cost: see its docstring

            self._timed(emit, state, self.build, self._inputs, gate=self._gate, **details)
        except Exception as exc:  # lineage is an observer: a broken transport must not fail a publish
            log.warning("OpenLineage %s event for %s not sent: %s", state, self.build.product, exc)

    def _timed(self, function, *args, **kwargs):
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            self._own_seconds += time.perf_counter() - began


def open_observation(dagster_run_id: str, product: str) -> BuildObservation | None:
    return _OPEN.get((dagster_run_id, product))
