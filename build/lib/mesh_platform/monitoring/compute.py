"""What one product build cost in compute, from Spark's own metrics.

Every Spark job a build starts carries a job tag unique to the build and its phase (build, checks,
publish); when the build ends, the tagged jobs' stages are read from Spark's status store (kept even
with the UI off) and summed: executor CPU time, task run time, bytes shuffled.
Bytes read from the lake come from the Hadoop file system statistics that Spark's input metrics are
made of: the stage input metrics also count reads of the cached build, the statistics do not. With
executors in other JVMs (a cluster) the driver sees no reads, and the build phase's input metrics
stand in. A Spark Connect session keeps its metrics on the server: a remote build records wall time.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass

from pyspark.sql import SparkSession

LISTENER_DRAIN_MS = 10_000  # at most this long for Spark's listener bus to deliver the last events


@dataclass(frozen=True)
class ComputeCost:
    wall_seconds: float
    cpu_seconds: float | None = None  # executor CPU time of all tasks
    check_cpu_seconds: float | None = None  # of which contract checks and the governance gate
    task_seconds: float | None = None  # executor run time of all tasks (CPU + I/O waits)
    bytes_read: int | None = None  # from the lake (Hadoop file-system statistics)
    shuffle_bytes: int | None = None  # written to shuffle
    spark_jobs: int | None = None
    stages: int | None = None

    def as_metadata(self) -> dict[str, float | int]:
        return {f"cost/{k}": v for k, v in asdict(self).items() if v is not None}


def _is_remote(spark: SparkSession) -> bool:
    return type(spark).__module__.startswith("pyspark.sql.connect")


class ComputeMeter:
    """Tags the build's Spark jobs from `start()` to `stop()`, by phase; `stop()` returns their metrics."""

    PHASES = ("build", "checks", "publish")

    def __init__(self, spark: SparkSession, label: str):
        self._spark = spark
        self._remote = _is_remote(spark)
        self._prefix = f"mesh-{label.replace('.', '-')}-{uuid.uuid4().hex[:8]}"
        self._phase: str | None = None
        self._started = 0.0
        self._lake_read_at_start = 0

    def start(self) -> ComputeMeter:
        self._started = time.perf_counter()
        if not self._remote:
            self._lake_read_at_start = self._lake_bytes_read()
        self.phase("build")
        return self

    def phase(self, name: str) -> None:
        """Jobs from now on belong to phase `name`."""
        self._untag()
        self._phase = name
        tag = f"{self._prefix}-{name}"
        self._spark.addTag(tag) if self._remote else self._spark.sparkContext.addJobTag(tag)

    def stop(self) -> ComputeCost:
        wall = round(time.perf_counter() - self._started, 3)
        self._untag()
        if self._remote:
            return ComputeCost(wall_seconds=wall)
        context = self._spark.sparkContext._jsc.sc()
        context.listenerBus().waitUntilEmpty(LISTENER_DRAIN_MS)  # the status store is fed asynchronously
        phases = {name: self._phase_totals(context, f"{self._prefix}-{name}") for name in self.PHASES}
        lake_read = self._lake_bytes_read() - self._lake_read_at_start
        return ComputeCost(
            wall_seconds=wall,
            cpu_seconds=round(sum(p["cpu_ns"] for p in phases.values()) / 1e9, 3),
            check_cpu_seconds=round(phases["checks"]["cpu_ns"] / 1e9, 3),
            task_seconds=round(sum(p["run_ms"] for p in phases.values()) / 1e3, 3),
            bytes_read=lake_read or phases["build"]["read"],
            shuffle_bytes=sum(p["shuffle"] for p in phases.values()),
            spark_jobs=sum(p["jobs"] for p in phases.values()),
            stages=sum(p["stages"] for p in phases.values()),
        )

    def _untag(self) -> None:
        if self._phase is None:
            return
        tag = f"{self._prefix}-{self._phase}"
        self._spark.removeTag(tag) if self._remote else self._spark.sparkContext.removeJobTag(tag)
        self._phase = None

    def _lake_bytes_read(self) -> int:
        """Bytes this JVM has read through Hadoop file systems (every scheme), since it started."""
        statistics = self._spark.sparkContext._jvm.org.apache.hadoop.fs.FileSystem.getGlobalStorageStatistics()
        names = statistics.iterator()
        total = 0
        while names.hasNext():
            total += names.next().getLong("bytesRead") or 0
        return total

    @staticmethod
    def _phase_totals(context, tag: str) -> dict[str, int]:
        store = context.statusStore()
        totals = dict.fromkeys(("cpu_ns", "run_ms", "read", "shuffle", "stages", "jobs"), 0)
        for job_id in context.statusTracker().getJobIdsForTag(tag):
            totals["jobs"] += 1
            stage_ids = store.job(job_id).stageIds()
            for i in range(stage_ids.size()):
                try:
                    stage = store.lastStageAttempt(stage_ids.apply(i))
                except Exception:  # a stage skipped because its shuffle output was reused
                    continue
                totals["stages"] += 1
                totals["cpu_ns"] += stage.executorCpuTime()
                totals["run_ms"] += stage.executorRunTime()
                totals["read"] += stage.inputBytes()
                totals["shuffle"] += stage.shuffleWriteBytes()
        return totals
