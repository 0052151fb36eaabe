"""The executor-side publish path: Spark writes the Parquet files, delta-rs commits them atomically."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from conftest import ON_JVM, jvm_only
from mesh_platform.settings import ARROW_WRITE_MAX_ROWS
from mesh_platform.storage.delta import read_delta, write_delta, write_path
from mesh_platform.storage.spark_write import STAGING_PREFIX

ROOT = Path(__file__).parent.parent


def _typed_frame(spark, rows: int = 5000):
    """Every column type contracts use, with nulls, over several partitions."""
    return spark.range(0, rows, 1, 4).select(
        F.col("id").cast("string").alias("key"),
        F.col("id").cast("int").alias("small"),
        (F.col("id") * 1_000_000_007).alias("big"),
        (F.col("id") / 7).alias("ratio"),
        (F.col("id") / 3).cast("decimal(18,2)").alias("amount"),
        F.date_add(F.lit("1995-01-01").cast("date"), (F.col("id") % 900).cast("int")).alias("day"),
        F.timestamp_seconds(F.lit(800_000_000) + F.col("id")).alias("at"),
        (F.col("id") % 2 == 0).alias("flag"),
        F.when(F.col("id") % 5 == 0, None).otherwise(F.concat(F.lit("n"), F.col("id").cast("string"))).alias("maybe"),
        F.array(F.lit("sales.orders@v3"), F.col("id").cast("string")).alias("labels"),
    )


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by("key")


def test_spark_written_table_equals_the_arrow_written_one(spark, tmp_path, monkeypatch):
    df = _typed_frame(spark).persist()
    monkeypatch.setenv("MESH_WRITE_PATH", "arrow")
    via_arrow = write_delta(df, tmp_path / "arrow", {"product.name": "typed"})
    monkeypatch.setenv("MESH_WRITE_PATH", "spark")
    via_spark = write_delta(df, tmp_path / "spark", {"product.name": "typed"})
    a, s = DeltaTable(str(tmp_path / "arrow")), DeltaTable(str(tmp_path / "spark"))
    assert s.schema().to_arrow() == a.schema().to_arrow()
    assert _sorted(pa.table(s.to_pyarrow_table())).equals(_sorted(pa.table(a.to_pyarrow_table())))
    assert (via_spark.row_count, via_spark.version) == (via_arrow.row_count, via_arrow.version) == (5000, 0)
    assert len(s.file_uris()) == 4  # one file per partition, written by the executors
    assert all(f"/{STAGING_PREFIX}" in uri for uri in s.file_uris())
    assert s.history(1)[0]["product.name"] == "typed"  # the contract travels in the commit either way
    # a second publish replaces the first in one commit, and Spark reads exactly the new files back
    again = write_delta(df.where("small < 100"), tmp_path / "spark", {})
    assert (again.version, again.row_count, read_delta(spark, tmp_path / "spark").count()) == (1, 100, 100)
    df.unpersist()


def test_the_path_is_chosen_by_size(spark, monkeypatch):
    monkeypatch.delenv("MESH_WRITE_PATH", raising=False)
    small = spark.range(10)
    assert write_path(small) == "arrow"
    if ON_JVM:  # by the plan's estimated size
        monkeypatch.setenv("MESH_ARROW_WRITE_MAX_MB", "0")
        assert write_path(small) == "spark"
    else:  # Spark Connect: by row count, the size being the server's
        assert write_path(spark.range(ARROW_WRITE_MAX_ROWS + 1)) == "spark"


def test_a_failed_spark_write_leaves_the_previous_version_current(spark, tmp_path, monkeypatch):
    monkeypatch.setenv("MESH_WRITE_PATH", "spark")
    uri = tmp_path / "t"
    write_delta(_typed_frame(spark, 100), uri, {})

    @F.udf("string")
    def explode_on_one_row(key):  # the job dies after other partitions have written their files
        if key == "4321":
            raise ValueError("disk full")
        return key

    with pytest.raises(Exception, match="disk full"):
        write_delta(_typed_frame(spark).withColumn("key", explode_on_one_row("key")), uri, {})
    table = DeltaTable(str(uri))
    assert (table.version(), read_delta(spark, uri).count()) == (0, 100)
    assert [p.name for p in uri.iterdir() if p.name.startswith(STAGING_PREFIX)] == [
        Path(table.file_uris()[0]).parent.name]  # the failed write's folder is gone


def _running(command_line: str) -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if command_line in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                return True
        except OSError:  # the process ended while we looked
            continue
    return False


def _wait_until_gone(command_line: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _running(command_line):
        assert time.monotonic() < deadline, f"{command_line} still runs"
        time.sleep(0.2)


KILLED_WRITER = textwrap.dedent("""
    import pathlib, sys, time
    from pyspark.sql import functions as F
    from mesh_platform.spark import SparkResource
    from mesh_platform.storage.delta import write_delta
    spark = SparkResource.from_env().spark_session  # the engine under test
    marker = pathlib.Path(sys.argv[2])  # captured by the UDF: workers have their own argv
    @F.udf("bigint")
    def stuck_on_the_last_row(i):  # the job runs, other partitions finish, the write never completes
        marker.touch()
        if i == 39_999:
            time.sleep(600)
        return i
    write_delta(spark.range(0, 40000, 1, 8).withColumn("id", stuck_on_the_last_row("id")), sys.argv[1], {})
""")


def test_a_writer_killed_midway_leaves_no_visible_files(spark, tmp_path):
    uri, running = tmp_path / "t", tmp_path / "write-job-running"
    write_delta(spark.range(7).withColumn("key", F.col("id").cast("string")), uri, {})
    env = {**os.environ, "MESH_WRITE_PATH": "spark", "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(uri), str(running)], env=env,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # the JVM's tasks write their files as they go; Sail writes a job's files when it completes
    def midway():
        return running.exists() and (not ON_JVM or list(uri.glob(f"{STAGING_PREFIX}*/**/*.parquet")))

    deadline = time.monotonic() + 120
    while not midway():
        assert writer.poll() is None and time.monotonic() < deadline, "the writer never started writing"
        time.sleep(0.2)
    os.killpg(writer.pid, signal.SIGKILL)
    writer.wait()
    _wait_until_gone(f"mesh_platform.spark.sail {writer.pid}")  # a Sail server the writer started stops too
    if ON_JVM:
        assert list(uri.glob(f"{STAGING_PREFIX}*/**/*.parquet"))  # half-written files are left behind...
    table = DeltaTable(str(uri))
    assert table.version() == 0  # ...but no commit references them
    assert all(STAGING_PREFIX not in f for f in table.file_uris())
    assert sorted(r.id for r in read_delta(spark, uri).collect()) == list(range(7))


LARGE_TABLE = textwrap.dedent("""
    import sys
    from pyspark.sql import functions as F
    from mesh_platform.spark.resource import create_session
    from mesh_platform.storage.delta import read_delta, write_delta, write_path
    rows = int(sys.argv[2])
    spark = create_session(None, "local[2]", {"spark.driver.memory": "512m"})
    df = spark.range(0, rows, 1, 16).select("id", (F.col("id") * 0.5).alias("half"),
                                            F.sha2(F.col("id").cast("string"), 256).alias("digest"))
    heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()
    size = int(str(df._jdf.queryExecution().optimizedPlan().stats().sizeInBytes()))
    commit = write_delta(df, sys.argv[1], {})
    back = read_delta(spark, sys.argv[1]).agg(F.count("*"), F.sum("id"), F.countDistinct("digest")).first()
    print(write_path(df), heap, size, commit.row_count, back[0], back[1], back[2])
""")


@jvm_only("the JVM driver's memory; with Spark Connect the data never reaches the client on this path")
def test_a_table_larger_than_the_driver_memory_publishes_and_reads_back(tmp_path):
    rows = 8_000_000
    arrow_bytes_a_row = 8 + 8 + 64 + 4  # id, half, a 64-character digest and its offset
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MESH_WRITE_PATH", None)
    done = subprocess.run([sys.executable, "-c", LARGE_TABLE, str(tmp_path / "big"), str(rows)], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    path, heap, size, committed, count, total, distinct = done.stdout.split()[-7:]
    assert path == "spark" and int(size) > 64 * 2**20  # auto chose the executors, by the plan's size
    assert rows * arrow_bytes_a_row > int(heap)  # the Arrow round trip would hold more than the driver has
    assert int(committed) == int(count) == int(distinct) == rows
    assert int(total) == rows * (rows - 1) // 2
