"""A whole mesh under Dagster's real daemons, on its own lake and instance, with a clock the caller sets.

Each `tick(at)` runs one iteration of the sensor daemon (the `<domain>_sources` sensors: observations and
renewals) and then one of the automation daemon (dagster._daemon.asset_daemon.AssetDaemon: the
`<domain>_propagation` sensors) at Dagster time `at` (freeze_time). The instance's run launcher is
Dagster's SyncInMemoryRunLauncher: a run the automation daemon launches executes, in this process, during
the iteration that launched it, so its events carry the frozen time too.

The code locations are loaded from small files under the simulation's folder that build each domain's
Definitions, so they bind this lake (MESH_LAKE_ROOT is set before they load), not the test session's.
Used by tests/test_sla_automation.py and bench/source_to_publish.py.
"""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import ExitStack, contextmanager
from pathlib import Path

from dagster import AssetKey, DagsterEventType, DagsterInstance, RunsFilter
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.asset_daemon import AssetDaemon
from dagster._daemon.backfill import execute_backfill_iteration
from dagster._daemon.sensor import execute_sensor_iteration
from deltalake import DeltaTable, write_deltalake

from mesh_platform.mesh import all_contracts, domain_names
from mesh_platform.monitoring.records import DATA_TIME, STILL_CURRENT
from mesh_platform.storage.layout import BRONZE, bronze_path

INSTANCE_YAML = """\
telemetry: {enabled: false}
auto_materialize: {enabled: true, use_sensors: true}
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
run_launcher:
  module: dagster._core.launcher.sync_in_memory_run_launcher
  class: SyncInMemoryRunLauncher
"""
LOCATION = """\
from pathlib import Path
import importlib
from mesh_platform.mesh import domains_dir
from mesh_platform.product import domain_definitions
defs = domain_definitions(domains_dir() / {domain!r}, importlib.import_module("domains.{domain}.transforms"))
"""
log = logging.getLogger("mesh.sim")


def copy_bronze(seeded_lake: Path, lake: Path) -> None:
    for domain in domain_names():
        source = Path(seeded_lake) / domain / BRONZE
        if source.is_dir():
            shutil.copytree(source, lake / domain / BRONZE)


def new_source_version(lake: Path, domain: str, table: str) -> int:
    """The operational system rewrites `table` (same rows): a new Delta version; returns it."""
    path = bronze_path(lake, domain, table)
    write_deltalake(str(path), DeltaTable(str(path)).to_pyarrow_table(), mode="overwrite")
    return DeltaTable(str(path)).version()


class MeshSimulation:
    def __init__(self, folder: Path, lake: Path, domains: list[str] | None = None):
        self.folder, self.lake = Path(folder), Path(lake)
        self.domains = domains or domain_names()
        self._stack = ExitStack()
        self.daemon = AssetDaemon(settings={}, pre_sensor_interval_seconds=0)

    def __enter__(self) -> MeshSimulation:
        home = self.folder / "home"
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text(INSTANCE_YAML)
        self.instance = self._stack.enter_context(DagsterInstance.from_config(str(home)))
        origins = []
        for domain in self.domains:
            file = self.folder / f"sim_location_{domain}.py"
            file.write_text(LOCATION.format(domain=domain))
            origins.append(InProcessCodeLocationOrigin(
                LoadableTargetOrigin(python_file=str(file), attribute="defs", working_directory=os.getcwd()),
                location_name=domain))
        self.workspace = self._stack.enter_context(
            create_test_daemon_workspace_context(InProcessWorkspaceLoadTarget(origins), self.instance))
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def tick(self, at: float) -> list[str]:
        """One sensor-daemon, one automation-daemon and two backfill-daemon iterations at Dagster time `at`; the
        runs launched."""
        before = {r.run_id for r in self.instance.get_runs()}
        with freeze_time(at):
            list(execute_sensor_iteration(self.workspace, log, threadpool_executor=None,
                                          submit_threadpool_executor=None))
            self.daemon._run_iteration_impl(self.workspace, threadpool_executor=None, amp_tick_futures={},
                                            debug_crash_flags={})
            # The backfill daemon (as `dagster dev` runs it): the automation requests partitioned products as
            # backfills; one iteration launches (and, in process, runs) their single run, the next completes them.
            for _ in range(2):
                list(execute_backfill_iteration(self.workspace, log))
        return [r.run_id for r in reversed(self.instance.get_runs()) if r.run_id not in before]

    def materialized(self, run_id: str) -> set[str]:
        records = self.instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
        return {".".join(r.event_log_entry.dagster_event.asset_key.path) for r in records}

    def failed_runs(self) -> list[str]:
        """Each failed run as `run_id: step: error`, so that a failing assertion says why it failed."""
        from dagster import DagsterRunStatus

        failures = []
        for run in self.instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE])):
            errors = [f"{e.step_key}: {e.dagster_event.event_specific_data.error.message.strip()}"
                      for e in self.instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE)]
            failures.append(f"{run.run_id} ({run.tags.get('dagster/asset_partition_range_start', '')}): "
                            + ("; ".join(errors) or self._run_failure(run.run_id)))
        return failures

    def _run_failure(self, run_id: str) -> str:
        events = self.instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)
        return events[-1].message if events else "no failure event"

    def latest(self, product: str):
        key = AssetKey(product.split("."))
        return next(iter(self.instance.fetch_materializations(key, limit=1).records), None)

    def data_time(self, product: str) -> float | None:
        record = self.latest(product)
        if record is None:
            return None
        entry = record.asset_materialization.metadata.get(DATA_TIME)
        return float(entry.value) if entry is not None else record.timestamp

    def is_renewal(self, record) -> bool:
        entry = record.asset_materialization.metadata.get(STILL_CURRENT)
        return bool(entry and entry.value)


@contextmanager
def simulation(folder: Path, seeded_lake: Path, monkeypatch):
    """A MeshSimulation on a copy of `seeded_lake`'s bronze tables; MESH_LAKE_ROOT points at the copy."""
    lake = Path(folder) / "lake"
    copy_bronze(seeded_lake, lake)
    monkeypatch.setenv("MESH_LAKE_ROOT", str(lake))
    with MeshSimulation(folder, lake) as sim:
        yield sim


def automated_products() -> dict:
    from mesh_platform.product.automation import automated

    return {k: c for k, c in all_contracts().items() if automated(c)}
