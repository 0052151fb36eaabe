"""Incremental refresh: a change to one month's source rows rebuilds exactly that month, then what reads it.

The sales code location under Dagster's real sensor and automation daemons (tests/automation_sim.py),
on its own lake and instance: the fill builds every month of `sales.orders`; then the order-entry system
updates the orders of one month (a Delta UPDATE stamping `updated_at`, the source's change column), and
the `sales_partition_refresh` sensor requests that month alone; its consumers follow.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from dagster import AssetKey, DagsterEventType
from dagster._core.definitions.data_version import DATA_VERSION_TAG, get_input_data_version_tag
from dagster._core.storage.tags import PARTITION_NAME_TAG
from dagster._core.test_utils import freeze_time
from dagster._daemon.backfill import execute_backfill_iteration
from dagster._time import get_current_timestamp
from deltalake import DeltaTable

from automation_sim import MeshSimulation, copy_bronze
from mesh_platform.contracts import ContractError
from mesh_platform.product.partition_refresh import contiguous_ranges
from mesh_platform.storage.layout import bronze_path, product_path

# Which partitions changed is found without Spark (delta-rs, Parquet footers, ADBC) and the runs' builds
# are the ones test_partitions.py checks on each engine: CI runs this module once, in its Sail pass.
pytestmark = pytest.mark.engine_independent

MINUTE = 60.0
MONTH = "1995-03"
ORDERS = AssetKey(["sales", "orders"])


class WithBackfills(MeshSimulation):
    """The simulation plus the backfill daemon: the automation fills a partitioned product's missing
    partitions as a backfill (AutomationConditionSensorDefinition emit_backfills), which it executes."""

    def tick(self, at: float) -> list[str]:
        before = {r.run_id for r in self.instance.get_runs()}
        super().tick(at)
        with freeze_time(at):
            list(execute_backfill_iteration(self.workspace, logging.getLogger("mesh.sim")))
        return [r.run_id for r in reversed(self.instance.get_runs()) if r.run_id not in before]


def _partitions_built(sim: MeshSimulation, run_ids: list[str]) -> list[str]:
    """The partitions of sales.orders materialized by `run_ids`, one entry per materialization."""
    built = []
    for run_id in run_ids:
        records = sim.instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
        built += [r.event_log_entry.dagster_event.partition for r in records
                  if r.event_log_entry.dagster_event.asset_key == ORDERS]
    return built


def _files_by_partition(table: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name in DeltaTable(str(table)).get_add_actions(flatten=True).column("path").to_pylist():
        key = name.split("/")[1] if name.startswith("partitions/") else "(unaligned)"
        found.setdefault(key, set()).add(name)
    return found


@pytest.fixture(scope="module")
def sales(seeded_lake):
    folder = Path(tempfile.mkdtemp(prefix="mesh-incremental-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    lake = folder / "lake"
    copy_bronze(seeded_lake, lake)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("MESH_LAKE_ROOT", str(lake))
        with WithBackfills(folder, lake, ["sales"]) as sim:
            now, quiet = get_current_timestamp(), 0
            for _ in range(12):  # the fill: every product, every partition
                now += MINUTE
                quiet = 0 if sim.tick(now) else quiet + 1
                if quiet == 2:
                    break
            assert sim.latest("sales.orders") is not None and not sim.failed_runs()
            sim.now = now
            yield sim
    shutil.rmtree(folder, ignore_errors=True)


def test_a_change_to_one_months_orders_rebuilds_exactly_that_month_then_its_consumers(sales):
    sim = sales
    assert not sim.failed_runs()
    table = product_path(sim.lake, "sales", "orders")
    before_files = _files_by_partition(table)
    assert MONTH in before_files and len(before_files) > 12
    before = DeltaTable(str(table)).to_pandas()
    consumers = {k: sim.latest(k).storage_id for k in ("sales.customer_lifetime_value", "sales.order_analytics")}

    # The order-entry system re-prices the month's orders and stamps them (its change column).
    source = DeltaTable(str(bronze_path(sim.lake, "sales", "orders")))
    stamp = datetime(2026, 1, 1, 12, 0, 0).isoformat(sep=" ")
    source.update(updates={"o_totalprice": "o_totalprice + 1", "updated_at": f"CAST('{stamp}' AS TIMESTAMP)"},
                  predicate="o_orderdate >= '1995-03-01' AND o_orderdate < '1995-04-01'")

    runs = []
    for _ in range(3):
        sim.now += MINUTE
        runs += sim.tick(sim.now)
    assert not sim.failed_runs()
    assert _partitions_built(sim, runs) == [MONTH]  # one partition run, of that month alone
    assert len(runs) == 1  # ... which builds the domain's consumers too (unpartitioned: whole)
    tags = [sim.instance.get_run_by_id(r).tags for r in runs]
    assert [t.get(PARTITION_NAME_TAG) for t in tags if t.get("mesh/trigger") == "partition_refresh"] == [MONTH]
    for key, storage_id in consumers.items():  # each consumer rebuilt once
        assert sim.latest(key).storage_id != storage_id, key
    assert sum(len(sim.materialized(r) & set(consumers)) for r in runs) == len(consumers)

    after = DeltaTable(str(table)).to_pandas()
    in_month = before.order_date.astype(str).str.startswith(MONTH)
    old = before[in_month].set_index("order_id").total_price.astype(float)
    new = after[after.order_date.astype(str).str.startswith(MONTH)].set_index("order_id").total_price.astype(float)
    assert len(old) > 0 and (new.loc[old.index] - old).round(2).eq(1.0).all()  # the month's values changed
    others = before[~in_month].sort_values("order_id").reset_index(drop=True)
    assert after[~after.order_date.astype(str).str.startswith(MONTH)].sort_values("order_id").reset_index(
        drop=True).equals(others)
    after_files = _files_by_partition(table)
    assert after_files[MONTH] != before_files[MONTH]
    assert {k: v for k, v in after_files.items() if k != MONTH} == {k: v for k, v in before_files.items() if k != MONTH}

    # The month's build read the changed orders, and recorded so: their new observation came before the run
    # (the refresh sensor's own), whatever order the daemon evaluates the domain's sensors in. Recorded after
    # the run, the build's provenance would name the previous version and sales.orders would never be renewed.
    orders = AssetKey(["sales", "bronze", "orders"])
    build = next(r for r in sim.instance.fetch_materializations(AssetKey(["sales", "orders"]), limit=5).records
                 if r.run_id in runs and r.partition_key == MONTH)
    observed = sim.instance.fetch_observations(orders, limit=1).records[0]
    assert build.event_log_entry.tags[get_input_data_version_tag(orders)] == observed.event_log_entry.tags[
        DATA_VERSION_TAG]

    sim.now += MINUTE
    assert sim.tick(sim.now) == []  # nothing changed since: nothing launched


def test_a_change_to_a_source_without_the_partition_column_rebuilds_every_month(sales):
    sim = sales
    months = len(_files_by_partition(product_path(sim.lake, "sales", "orders")))
    consumers = ("sales.customer_lifetime_value", "sales.order_analytics")
    lines = DeltaTable(str(bronze_path(sim.lake, "sales", "order_lines")))
    lines.update(updates={"l_discount": "l_discount"}, predicate="l_orderkey = 1")  # order_lines carry no date

    runs = []
    for _ in range(3):
        sim.now += MINUTE
        runs += sim.tick(sim.now)
    assert not sim.failed_runs()
    built = _partitions_built(sim, runs)
    assert len(built) == months and len(set(built)) == months  # every month once, in one range run
    assert len([r for r in runs if ORDERS in (sim.instance.get_run_by_id(r).asset_selection or ())]) == 1
    assert sorted(p for r in runs for p in sim.materialized(r) if p in consumers) == sorted(consumers)  # once each


def test_contiguous_ranges_group_consecutive_partitions():
    keys = ["1995-01", "1995-02", "1995-03", "1995-04", "1995-05"]
    assert contiguous_ranges({"1995-02", "1995-03", "1995-05", "2030-01"}, keys) == [
        ("1995-02", "1995-03"), ("1995-05", "1995-05")]


def test_a_mapping_from_a_source_the_contract_does_not_read_is_refused():
    from mesh_platform.contracts import load_domain_contracts
    from mesh_platform.mesh import domains_dir
    from mesh_platform.product.domain import resolve_dependencies
    from mesh_platform.sources import load_domain_sources

    folder = domains_dir() / "sales"
    own = {c.key: c for c in load_domain_contracts(folder)}
    declared = load_domain_sources(folder)
    orders = own["sales.orders"]
    assert orders.partitioning.from_sources == {"orders": "o_orderdate"}
    wrong = orders.model_copy(update={"partitioning": orders.partitioning.model_copy(
        update={"from_sources": {"customer": "c_custkey"}})})
    with pytest.raises(ContractError) as refused:
        resolve_dependencies(wrong, folder, own, tuple(declared), declared)
    assert str(refused.value) == (
        f"{folder / 'contracts' / 'orders.yaml'}: partitioning.from_sources: 'customer' is not one of its "
        "sources (orders, order_lines); list it under sources or remove it")


@pytest.mark.parametrize("declaration, message", [
    ({"kind": "files", "files": {"path": "landing", "format": "csv"}, "change_column": "t"},
     "change_column is for delta and jdbc sources; a files source's changes are its new and changed files"),
    ({"kind": "delta", "change_column": "a"},
     "change_column 'a' is not one of its timestamp columns (declare a: timestamp under columns)"),
])
def test_a_change_column_must_be_a_timestamp_of_a_delta_or_jdbc_source(declaration, message):
    from mesh_platform.sources import SourceError, parse_sources

    source = {"name": "s", "columns": {"a": "bigint", "t": "timestamp"}, **declaration}
    with pytest.raises(SourceError) as refused:
        parse_sources({"sources": [source]}, "domains/x/sources.yaml")
    assert str(refused.value) == f"domains/x/sources.yaml: sources[0]: {message}"


def _dated(days: list[str], stamp: str) -> pa.Table:
    return pa.table({"day": pa.array([date.fromisoformat(d) for d in days], pa.date32()),
                     "updated_at": pa.array([datetime.fromisoformat(stamp)] * len(days), pa.timestamp("us"))})


def test_delta_changes_are_the_rows_past_the_watermark_and_everything_after_an_overwrite(tmp_path):
    from deltalake import write_deltalake

    from mesh_platform.sources.changes import EVERYTHING, changed_values
    from mesh_platform.sources.model import Source

    source = Source(name="events", kind="delta", columns={"day": "date", "updated_at": "timestamp"},
                    change_column="updated_at")
    path = bronze_path(tmp_path, "d", "events")
    write_deltalake(str(path), _dated(["1995-01-03", "1995-02-04"], "2026-01-01T00:00:00"))
    first, mark = changed_values(source, "d", tmp_path, "day", None)
    assert first == set() and mark.watermark == "2026-01-01T00:00:00"  # the first look only sets the mark
    assert changed_values(source, "d", tmp_path, "day", mark)[0] == set()  # same version: nothing read
    write_deltalake(str(path), _dated(["1995-03-05"], "2026-01-02T00:00:00"), mode="append")
    DeltaTable(str(path)).update(updates={"updated_at": "CAST('2026-01-03 00:00:00' AS TIMESTAMP)"},
                                 predicate="day = '1995-01-03'")
    changed, mark = changed_values(source, "d", tmp_path, "day", mark)
    assert sorted(str(d) for d in changed) == ["1995-01-03", "1995-03-05"] and mark.watermark == "2026-01-03T00:00:00"
    write_deltalake(str(path), _dated(["1995-01-03"], "2025-01-01T00:00:00"), mode="overwrite")  # rows deleted
    assert changed_values(source, "d", tmp_path, "day", mark)[0] is EVERYTHING


def test_files_changes_are_the_values_of_new_or_rewritten_files_and_everything_after_a_removal(tmp_path):
    import pyarrow.parquet as pq

    from mesh_platform.sources.changes import EVERYTHING, changed_values
    from mesh_platform.sources.model import Source

    landing = tmp_path / "landing"
    landing.mkdir()
    source = Source(name="events", kind="files", columns={"day": "date", "updated_at": "timestamp"},
                    files={"path": "landing", "glob": "*.parquet", "format": "parquet"})
    pq.write_table(_dated(["1995-01-03"], "2026-01-01T00:00:00"), landing / "a.parquet")
    assert changed_values(source, "d", tmp_path, "day", None)[0] == set()
    _, mark = changed_values(source, "d", tmp_path, "day", None)
    pq.write_table(_dated(["1995-04-01", "1995-04-02", "1995-06-01"], "2026-01-01T00:00:00"), landing / "b.parquet")
    changed, mark = changed_values(source, "d", tmp_path, "day", mark)
    assert sorted(str(d) for d in changed) == ["1995-04-01", "1995-04-02", "1995-06-01"]  # a.parquet not read
    (landing / "a.parquet").unlink()
    assert changed_values(source, "d", tmp_path, "day", mark)[0] is EVERYTHING


def test_jdbc_changes_are_the_distinct_values_of_the_rows_stamped_since_and_everything_after_a_delete(
        postgres_server, seeded_lake, monkeypatch):
    from conftest import TEST_SCALE
    from domains.seeding.postgres import seed_postgres
    from mesh_platform.mesh import domains_dir
    from mesh_platform.sources.changes import EVERYTHING, changed_values
    from mesh_platform.sources.loader import load_domain_sources

    for key, value in postgres_server.env().items():
        monkeypatch.setenv(key, value)
    seed_postgres(seeded_lake, TEST_SCALE, "postgres", force=True)
    orders = load_domain_sources(domains_dir() / "sales", "postgres")["orders"]
    assert orders.change_column == "updated_at"
    _, mark = changed_values(orders, "sales", seeded_lake, "o_orderdate", None)
    before_log = len(postgres_server.log())
    # the trigger stamps updated_at on update
    postgres_server.sql("UPDATE orders SET o_comment = o_comment || '.' WHERE o_orderdate BETWEEN '1995-03-01' AND "
                        "'1995-03-02'")
    changed, mark = changed_values(orders, "sales", seeded_lake, "o_orderdate", mark)
    assert sorted(str(d) for d in changed) == ["1995-03-01", "1995-03-02"]
    assert not any('"o_comment"' in s for s in postgres_server.log()[before_log:])  # two columns, no row read
    postgres_server.sql("DELETE FROM orders WHERE o_orderdate = '1995-04-01'")  # leaves no stamp
    assert changed_values(orders, "sales", seeded_lake, "o_orderdate", mark)[0] is EVERYTHING
