"""A killed `mesh materialize` does not leave its run STARTED: a later materialize or the sensor fails it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter, build_sensor_context
from dagster._core.instance.ref import InstanceRef

ROOT = Path(__file__).parent.parent
MESH = str(Path(sys.executable).parent / "mesh")


def _killed_materialize(instance, lake: Path, home: Path) -> str:
    """Starts `mesh materialize`, SIGKILLs its process group once its run is STARTED; the run id."""
    env = {**os.environ, "MESH_LAKE_ROOT": str(lake), "DAGSTER_HOME": str(home)}
    known = {r.run_id for r in instance.get_runs()}
    process = subprocess.Popen([MESH, "materialize", "--select", "sales/orders"], env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while True:
        runs = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED]))
        started = [r for r in runs if r.run_id not in known]
        if started:
            break
        assert process.poll() is None and time.monotonic() < deadline, "mesh materialize never started its run"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(1)
    [run] = started
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED  # nobody noticed by itself
    return run.run_id


def _failure_message(instance, run_id: str) -> str:
    run = instance.get_run_by_id(run_id)
    assert run.status == DagsterRunStatus.FAILURE, run.status
    return " ".join(e.message or "" for e in instance.all_logs(run_id))


def test_a_killed_materialize_run_is_failed_by_the_sensor_and_by_a_later_materialize(seeded_lake, tmp_path):
    from governance.definitions import defs

    lake, home = tmp_path / "lake", tmp_path / "home"
    shutil.copytree(seeded_lake / "sales" / "bronze", lake / "sales" / "bronze")
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        first = _killed_materialize(instance, lake, home)
        sensor = defs.resolve_sensor_def("orphaned_cli_runs")
        result = sensor(build_sensor_context(instance=instance))
        assert result.skip_message == f"marked failed: {first}"
        assert "ended without finishing it (killed?); marked failed by the governance location's orphaned_cli_runs " \
               "sensor" in _failure_message(instance, first)

        second = _killed_materialize(instance, lake, home)
        done = subprocess.run([MESH, "materialize", "--select", "sales/orders"], capture_output=True, text=True,
                              timeout=600, env={**os.environ, "MESH_LAKE_ROOT": str(lake), "DAGSTER_HOME": str(home)})
        assert done.returncode == 0, done.stdout + done.stderr
        assert "marked failed by a later mesh materialize" in _failure_message(instance, second)
        assert sensor(build_sensor_context(instance=instance)).skip_message == "no orphaned mesh materialize run"
