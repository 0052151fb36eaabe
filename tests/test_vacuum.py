"""`mesh vacuum`, the publish's own cleanup and the daily vacuum: garbage goes, every version stays readable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from conftest import ON_JVM, jvm_only
from mesh_platform.storage.delta import read_delta, write_arrow, write_delta
from mesh_platform.storage.layout import product_path
from mesh_platform.storage.spark_write import STAGING_PREFIX
from mesh_platform.storage.vacuum import referenced_files
from test_spark_write import KILLED_WRITER, _wait_until_gone

ROOT = Path(__file__).parent.parent
MESH = str(Path(sys.executable).parent / "mesh")
A_DAY_AGO = 2 * 24 * 3600


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MESH_WRITE_PATH": "spark", **extra}


def _start_doomed_writer(uri: Path, marker: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(uri), str(marker)], env=_env(),
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_midway(writer: subprocess.Popen, uri: Path, marker: Path, timeout: float = 300) -> None:
    """SIGKILL to the writer's process group once its Spark job is writing (see test_spark_write.py)."""
    known = set(uri.glob(f"{STAGING_PREFIX}*"))

    def midway():  # the JVM's tasks write their files as they go; Sail writes a job's files when it completes
        return marker.exists() and (not ON_JVM or any(
            list(f.glob("**/*.parquet")) for f in set(uri.glob(f"{STAGING_PREFIX}*")) - known))

    deadline = time.monotonic() + timeout
    while not midway():
        assert writer.poll() is None and time.monotonic() < deadline, "the writer never started writing"
        time.sleep(0.2)
    os.killpg(writer.pid, signal.SIGKILL)
    writer.wait()
    # Sail's server stops its held job before it exits: on a loaded machine that takes longer than a bare stop
    _wait_until_gone(f"mesh_platform.spark.sail {writer.pid}", timeout=120)


def _kill_a_writer_midway(uri: Path, tmp_path: Path) -> list[Path]:
    """The staging folders the killed writer left (none on Sail, which writes at the job's end)."""
    before = set(uri.glob(f"{STAGING_PREFIX}*"))
    marker = tmp_path / f"running-{time.monotonic_ns()}"
    _kill_midway(_start_doomed_writer(uri, marker), uri, marker)
    return sorted(set(uri.glob(f"{STAGING_PREFIX}*")) - before)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder.parent)) for p in folder.rglob("*") if p.is_file()}


def _age(folder: Path, seconds: float) -> None:
    then = time.time() - seconds
    for entry in [*folder.rglob("*"), folder]:
        os.utime(entry, (then, then))


def _vacuum(lake: Path, *args: str) -> dict:
    done = subprocess.run([MESH, "vacuum", "--format", "json", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "MESH_LAKE_ROOT": str(lake)})
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def _history_intact(uri: Path) -> dict[int, int]:
    """Rows of every version in the log: each opens, every file it references exists, counts match the log."""
    current = DeltaTable(str(uri)).version()
    rows = {}
    for version in range(current + 1):
        table = DeltaTable(str(uri), version=version)
        assert all(Path(f.removeprefix("file://")).exists() for f in table.file_uris()), version
        data = table.to_pyarrow_table()
        counts = pa.table(table.get_add_actions(flatten=True))["num_records"].to_pylist()
        assert data.num_rows == sum(counts), version
        rows[version] = data.num_rows
    return rows


@jvm_only("the JVM's tasks leave half-written files when killed; Sail writes a job's files when it completes")
def test_mesh_vacuum_removes_a_killed_writers_staging_after_the_retention_only(spark, tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    uri = product_path(lake, "sales", "orders")
    monkeypatch.setenv("MESH_WRITE_PATH", "spark")
    write_delta(spark.range(0, 3000, 1, 3).withColumn("v", F.lit(0)), uri, {})
    write_delta(spark.range(0, 2000, 1, 2).withColumn("v", F.lit(1)), uri, {})
    live = sorted(uri.glob(f"{STAGING_PREFIX}*"))
    assert len(live) == 2  # version 0's folder stays: consumers may still read version 0
    [garbage] = _kill_a_writer_midway(uri, tmp_path)
    garbage_files = _files(garbage)
    assert garbage_files and not garbage_files & referenced_files(uri)

    kept = _vacuum(lake, "--product", "sales.orders")["tables"]
    assert kept == [{"table": "sales.orders", "removed_files": 0, "removed_bytes": 0, "dry_run": False,
                     "kept_recent_staging": [garbage.name], "removed": []}]  # a write of the last day may run
    listed = _vacuum(lake, "--product", "sales.orders", "--retention-hours", "0", "--dry-run")["tables"][0]
    assert set(listed["removed"]) == garbage_files and listed["dry_run"] and _files(garbage) == garbage_files
    size = sum((uri / f).stat().st_size for f in garbage_files)
    assert listed["removed_bytes"] == size

    removed = _vacuum(lake, "--product", "sales", "--retention-hours", "0")["tables"][0]
    assert (set(removed["removed"]), removed["removed_bytes"]) == (garbage_files, size)
    assert not garbage.exists() and sorted(uri.glob(f"{STAGING_PREFIX}*")) == live
    assert DeltaTable(str(uri)).version() == 1  # nothing was committed
    assert _history_intact(uri) == {0: 3000, 1: 2000}
    assert read_delta(spark, uri).where("v = 1").count() == 2000


@jvm_only("the JVM's tasks leave half-written files when killed; Sail writes a job's files when it completes")
def test_a_publish_removes_staging_a_writer_killed_a_day_ago_left(spark, tmp_path, monkeypatch):
    uri = tmp_path / "t"
    monkeypatch.setenv("MESH_WRITE_PATH", "spark")
    write_delta(spark.range(0, 1000, 1, 2), uri, {})
    [old] = _kill_a_writer_midway(uri, tmp_path)
    _age(old, A_DAY_AGO)
    [recent] = _kill_a_writer_midway(uri, tmp_path)
    commit = write_delta(spark.range(0, 500, 1, 2), uri, {})
    assert not old.exists() and recent.exists()  # the killed writer of a minute ago might still be running
    assert (commit.version, read_delta(spark, uri).count()) == (1, 500) and _history_intact(uri) == {0: 1000, 1: 500}


def test_vacuum_keeps_files_of_every_version_in_the_log_and_removes_expired_ones(tmp_path):
    from mesh_platform.storage.vacuum import vacuum_table

    uri = tmp_path / "t"
    for version in range(3):
        write_arrow(pa.table({"n": list(range(version + 10))}), uri)
    assert vacuum_table(uri, retention_hours=0).removed == []  # versions 0 and 1 stay readable
    assert _history_intact(uri) == {0: 10, 1: 11, 2: 12}
    expired = {Path(f).name for v in (0, 1) for f in DeltaTable(str(uri), version=v).file_uris()}
    DeltaTable(str(uri)).create_checkpoint()  # the log's cleanup then expires the commits before it
    for version in (0, 1):
        (uri / "_delta_log" / f"{version:020d}.json").unlink()
    size = sum((uri / name).stat().st_size for name in expired)
    assert vacuum_table(uri, retention_hours=0, dry_run=True).removed_bytes == size
    assert all((uri / name).exists() for name in expired)
    report = vacuum_table(uri, retention_hours=0)
    assert (set(report.removed), report.removed_bytes) == (expired, size)
    assert not any((uri / name).exists() for name in expired)
    assert DeltaTable(str(uri)).to_pyarrow_table().num_rows == 12


def test_the_daily_vacuum_runs_in_the_governance_location_and_removes_garbage(tmp_path, instance):
    from dagster import AssetKey, DefaultScheduleStatus

    from governance.definitions import defs

    schedule = defs.resolve_schedule_def("daily_lake_vacuum")
    assert schedule.cron_schedule == "30 3 * * *" and schedule.default_status == DefaultScheduleStatus.RUNNING
    lake = tmp_path / "lake"
    uri = product_path(lake, "finance", "pricing_summary")
    write_arrow(pa.table({"n": list(range(10))}), uri)
    garbage, recent = uri / f"{STAGING_PREFIX}dead", uri / f"{STAGING_PREFIX}busy"
    for folder in (garbage, recent):  # as a killed JVM writer leaves them
        (folder / "_temporary" / "0").mkdir(parents=True)
        (folder / "_temporary" / "0" / "part-00000.snappy.parquet").write_bytes(b"x" * 1000)
        (folder / "_SUCCESS").write_bytes(b"")
    _age(garbage, A_DAY_AGO)

    job = defs.resolve_job_def(schedule.job_name)
    result = job.execute_in_process(
        run_config={"ops": {"governance__lake_vacuum": {"config": {"lake_root": str(lake)}}}}, instance=instance)
    assert result.success
    [event] = result.get_asset_materialization_events()
    materialization = event.event_specific_data.materialization
    assert materialization.asset_key == AssetKey(["governance", "lake_vacuum"])
    metadata = materialization.metadata
    assert (metadata["removed_files"].value, metadata["removed_bytes"].value) == (2, 1000)
    assert metadata["retention_hours"].value == 24
    assert "| finance.pricing_summary | 2 | 1000 | 1 |" in metadata["by_product"].value
    assert not garbage.exists() and recent.exists()
    assert DeltaTable(str(uri)).to_pyarrow_table().num_rows == 10


PUBLISHER = """
import sys
from pyspark.sql import functions as F
from mesh_platform.spark import SparkResource
from mesh_platform.storage.delta import write_delta
writer, rows = int(sys.argv[2]), int(sys.argv[3])
spark = SparkResource.from_env().spark_session
try:
    write_delta(spark.range(0, rows, 1, 3).withColumn("writer", F.lit(writer)), sys.argv[1],
                {"writer": str(writer), "rows": str(rows)})
except Exception as exc:  # a concurrent publish won: Delta's optimistic concurrency refuses this one
    print(type(exc).__name__, str(exc).splitlines()[0])
    sys.exit(3)
print("published")
"""


def _staging(uri: Path) -> set[str]:
    return {f.name for f in uri.glob(f"{STAGING_PREFIX}*")}


def _referenced_staging(uri: Path) -> set[str]:
    return {p.split("/")[0] for p in referenced_files(uri) if p.startswith(STAGING_PREFIX)}


def _publish(uri: Path, writer: int, rows: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", PUBLISHER, str(uri), str(writer), str(rows)], env=_env(),
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _complete_versions(uri: Path) -> None:
    """Every version holds exactly the rows of the one publish that committed it, none of another's."""
    rows = _history_intact(uri)
    history = {h["version"]: h for h in DeltaTable(str(uri)).history()}
    for version, count in rows.items():
        data = DeltaTable(str(uri), version=version).to_pyarrow_table()
        assert set(data["writer"].to_pylist()) == {int(history[version]["writer"])}, version
        assert count == int(history[version]["rows"]), version


# Each round starts two Spark processes: 5 in CI; MESH_TEST_KILL_ROUNDS=10 for the review's ten.
KILL_ROUNDS = int(os.environ.get("MESH_TEST_KILL_ROUNDS", "5"))


@pytest.mark.slow
def test_concurrent_publishes_and_killed_writers_leave_every_version_complete(spark, tmp_path):
    lake = tmp_path / "lake"
    uri = product_path(lake, "sales", "orders")
    write_delta(spark.range(0, 100).withColumn("writer", F.lit(0)), uri, {"writer": "0", "rows": "100"})
    publishers = [_publish(uri, writer, 1000 * writer) for writer in range(1, 6)]
    outcomes = [(p.wait(timeout=900), p.stdout.read().strip()) for p in publishers]
    print("concurrent publishes:", outcomes)
    assert any(code == 0 for code, _ in outcomes), outcomes
    assert all(code == 0 or (code == 3 and "Commit" in out) for code, out in outcomes), outcomes
    # losers removed their own staging: every folder left is a committed version's
    assert _staging(uri) == _referenced_staging(uri)
    _complete_versions(uri)

    for round_ in range(KILL_ROUNDS):  # a writer killed midway, then a publish next to its fresh garbage
        marker = tmp_path / f"doomed-{round_}"
        _kill_midway(_start_doomed_writer(uri, marker), uri, marker)
        publisher = _publish(uri, 10 + round_, 700 + round_)
        assert publisher.wait(timeout=900) == 0, publisher.stdout.read()
    _complete_versions(uri)
    committed = DeltaTable(str(uri))
    last = KILL_ROUNDS - 1
    assert int(committed.history(1)[0]["writer"]) == 10 + last and read_delta(spark, uri).count() == 700 + last

    removed = _vacuum(lake, "--product", "sales.orders", "--retention-hours", "0")["tables"][0]
    if ON_JVM:
        assert len({p.split("/")[0] for p in removed["removed"]}) == KILL_ROUNDS  # each killed writer's folder
    assert _staging(uri) == _referenced_staging(uri)
    _complete_versions(uri)
    assert read_delta(spark, uri).count() == 700 + last
