"""Partitioned products end to end on a lake of their own: a month built alone equals the same month of a
whole-range build and the oracle; a failed blocking check refuses only its partition; a publish is atomic
against a killed writer, leaves the other partitions' files alone and refuses rows outside its window, on
the Arrow and the Spark write path; `mesh materialize`'s partition options fail in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance
from deltalake import DeltaTable, write_deltalake
from typer.testing import CliRunner

import oracle
from compare import assert_same_rows
from conftest import TEST_SCALE
from mesh_platform.contracts import load_contract
from mesh_platform.mesh import domains_dir
from mesh_platform.product import domain_definitions
from mesh_platform.product.partitions import window_for_keys
from mesh_platform.storage import bronze_path, product_path
from mesh_platform.storage.delta import write_delta
from mesh_platform.storage.partition_write import PARTITIONS_FOLDER, PartitionOverflow

REPO = Path(__file__).parent.parent
ORDERS = AssetKey(["sales", "orders"])
REVENUE = AssetKey(["finance", "revenue_by_nation"])
MONTHS = ["1995-03", "1995-04", "1998-08"]  # 1998-08 is partial: the mesh is as of 1998-08-02


@dataclass
class PartitionLake:
    root: Path
    tpch: Path
    defs: dict
    instance: DagsterInstance

    def build(self, key: AssetKey, keys: list[str] | None = None):
        """One run of `key` over `keys` (all its partitions when None), as `mesh materialize` launches it."""
        job = self.defs[key.path[0]].resolve_implicit_global_asset_job_def()
        if keys is None:
            keys = job.asset_layer.asset_graph.get(key).partitions_def.get_partition_keys()
        tags = ({"dagster/partition": keys[0]} if len(keys) == 1 else
                {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]})
        return job.execute_in_process(instance=self.instance, asset_selection=[key], tags=tags, raise_on_error=False)

    def table(self, key: AssetKey) -> Path:
        return product_path(self.root, *key.path)


@pytest.fixture(scope="module")
def lake(tmp_path_factory, spark):
    """sales and finance seeded in a lake of this module, their code locations bound to it."""
    from domains.seeding.bronze import seed

    root = tmp_path_factory.mktemp("partition-lake")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MESH_LAKE_ROOT", str(root))
        seed(root, TEST_SCALE, domains={"sales", "finance"})
        defs = {d: domain_definitions(domains_dir() / d) for d in ("sales", "finance")}
        with DagsterInstance.ephemeral() as instance:
            yield PartitionLake(root, root / "_tpch" / f"sf{TEST_SCALE:g}", defs, instance)


def _files_by_partition(table: Path) -> dict[str, set[str]]:
    paths = pa.table(DeltaTable(str(table)).get_add_actions(flatten=True)).column("path").to_pylist()
    found = defaultdict(set)
    for path in paths:
        found[path.split("/")[1]].add(path)
    return dict(found)


def _month(frame, column: str, months: list[str]):
    return frame[frame[column].map(lambda d: d.strftime("%Y-%m")).isin(months)]


def _published(result, key: AssetKey) -> list[tuple[str, int]]:
    return [(e.event_specific_data.materialization.partition,
             e.event_specific_data.materialization.metadata["delta_version"].value)
            for e in result.get_asset_materialization_events()
            if e.event_specific_data.materialization.asset_key == key]


@pytest.fixture(scope="module")
def orders_by_month(lake):
    """sales.orders built one month per run into an empty table: the table then."""
    for version, month in enumerate(MONTHS):
        result = lake.build(ORDERS, [month])
        assert result.success and _published(result, ORDERS) == [(month, version)]
    return DeltaTable(str(lake.table(ORDERS))).to_pandas()


@pytest.fixture(scope="module")
def orders_whole(lake, orders_by_month):
    """Then every month in one run (a single-run backfill, one commit)."""
    result = lake.build(ORDERS)
    assert result.success, result
    materializations = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    assert len({m.partition for m in materializations}) == len(materializations) == 80  # one per month, one commit
    assert {(m.metadata["partitions"].value, m.metadata["delta_version"].value) for m in materializations} == {
        ("1992-01..1998-08", len(MONTHS))}
    return DeltaTable(str(lake.table(ORDERS))).to_pandas()


def test_orders_built_month_by_month_equal_the_whole_range_build_and_the_oracle(lake, orders_by_month, orders_whole):
    expected = oracle.sales_orders(lake.tpch)
    assert_same_rows(orders_by_month, _month(expected, "order_date", MONTHS), ["order_id"])
    assert_same_rows(orders_whole, expected, ["order_id"])
    assert_same_rows(_month(orders_whole, "order_date", MONTHS), orders_by_month, ["order_id"])
    assert len(_month(orders_by_month, "order_date", ["1998-08"])) > 0  # the partial month has its orders
    assert sorted(_files_by_partition(lake.table(ORDERS))) == [
        f"{y}-{m:02d}" for y in range(1992, 1999) for m in range(1, 13) if (y, m) <= (1998, 8)]


def test_revenue_by_nation_per_year_equals_the_oracle(lake):
    expected = oracle.finance_revenue_by_nation(lake.tpch)
    for year in (1995, 1998):
        result = lake.build(REVENUE, [str(year)])
        assert result.success and [p for p, _ in _published(result, REVENUE)] == [str(year)]
        published = DeltaTable(str(lake.table(REVENUE))).to_pandas()
        assert_same_rows(published[published.order_year == year], expected[expected.order_year == year],
                         ["nation_name", "order_year"])
    assert sorted(set(DeltaTable(str(lake.table(REVENUE))).to_pandas().order_year)) == [1995, 1998]


def test_a_partition_publish_leaves_the_other_partitions_files_alone(lake, orders_whole):
    before = _files_by_partition(lake.table(ORDERS))
    version = DeltaTable(str(lake.table(ORDERS))).version()
    result = lake.build(ORDERS, ["1995-04"])
    assert result.success and _published(result, ORDERS) == [("1995-04", version + 1)]
    after = _files_by_partition(lake.table(ORDERS))
    assert {k: v for k, v in after.items() if k != "1995-04"} == {k: v for k, v in before.items() if k != "1995-04"}
    assert after["1995-04"].isdisjoint(before["1995-04"])  # the month's files are new ones
    assert DeltaTable(str(lake.table(ORDERS))).history(1)[0]["mesh.partitions"] == "1995-04"
    assert_same_rows(DeltaTable(str(lake.table(ORDERS))).to_pandas(), orders_whole, ["order_id"])


def _check_records(instance: DagsterInstance, check: str) -> list[tuple[str, str]]:
    records = instance.event_log_storage.get_asset_check_execution_history(AssetCheckKey(ORDERS, check), limit=2)
    return [(r.partition, r.status.value) for r in records]


def test_a_failed_blocking_check_refuses_its_month_and_publishes_another(lake, orders_whole):
    bronze = bronze_path(lake.root, "sales", "orders")
    original = DeltaTable(str(bronze)).to_pyarrow_table()
    in_may = pc.equal(pc.strftime(pc.cast(original["o_orderdate"], pa.timestamp("s")), format="%Y-%m"), "1996-05")
    tampered = original.set_column(original.schema.get_field_index("o_orderpriority"), "o_orderpriority",
                                   pc.if_else(in_may, pa.scalar("9-BOGUS"), original["o_orderpriority"]))
    table = lake.table(ORDERS)
    before = _files_by_partition(table)
    version = DeltaTable(str(table)).version()
    write_deltalake(str(bronze), tampered, mode="overwrite")
    try:
        refused = lake.build(ORDERS, ["1996-05"])
        published = lake.build(ORDERS, ["1996-06"])
    finally:
        write_deltalake(str(bronze), original, mode="overwrite")

    assert not refused.success and _published(refused, ORDERS) == []
    failed = [(e.check_name, e.partition) for e in refused.get_asset_check_evaluations() if not e.passed]
    assert failed == [("allowed_values_order_priority", "1996-05")]
    assert _published(published, ORDERS) == [("1996-06", version + 1)]
    assert {e.partition for e in published.get_asset_check_evaluations()} == {"1996-06"}
    assert all(e.passed for e in published.get_asset_check_evaluations())
    # the instance keeps each evaluation with its partition: the newest first
    assert _check_records(lake.instance, "allowed_values_order_priority") == [("1996-06", "SUCCEEDED"),
                                                                              ("1996-05", "FAILED")]
    after = _files_by_partition(table)
    assert after["1996-05"] == before["1996-05"]  # the refused month's previous files are still current
    assert after["1996-06"].isdisjoint(before["1996-06"])
    may = _month(DeltaTable(str(table)).to_pandas(), "order_date", ["1996-05"])
    assert_same_rows(may, _month(orders_whole, "order_date", ["1996-05"]), ["order_id"])
    assert set(may.order_priority) != {"9-BOGUS"} and "9-BOGUS" not in set(may.order_priority)


# A writer that publishes one month through write_delta and stalls where its Delta commit would start (its
# new files all written): the moment a kill leaves the most behind. The stall is delta-rs's commit call.
KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import deltalake
    from deltalake import DeltaTable

    table, month, ready = sys.argv[1], sys.argv[2], Path(sys.argv[3])

    def stall(self, *args, **kwargs):
        ready.write_text("files written, commit not made")
        time.sleep(600)

    deltalake.DeltaTable.create_write_transaction = stall
    from mesh_platform.contracts import load_contract
    from mesh_platform.product.partitions import window_for_keys
    from mesh_platform.spark import SparkResource
    from mesh_platform.storage.delta import write_delta

    window = window_for_keys(load_contract("domains/sales/contracts/orders.yaml"), [month])
    spark = SparkResource.from_env().spark_session
    rows = DeltaTable(table).to_pyarrow_table()
    write_delta(window.filter(spark.createDataFrame(rows)), table, {"mesh.partitions": month},
                partitions=window.layout())
""")


def _rows_by_partition(table: Path) -> dict[str, int]:
    frame = DeltaTable(str(table)).to_pandas()
    return frame.order_date.map(lambda d: d.strftime("%Y-%m")).value_counts().to_dict()


@pytest.mark.slow  # the writer starts a Spark session of its own: about a minute
@pytest.mark.parametrize("write_path", ["arrow", "spark"])
def test_a_writer_killed_while_publishing_leaves_every_partition_current(lake, orders_whole, tmp_path, write_path):
    table = lake.table(ORDERS)
    version, counts, files = DeltaTable(str(table)).version(), _rows_by_partition(table), _files_by_partition(table)
    on_disk = set((table / PARTITIONS_FOLDER).rglob("*.parquet"))
    ready, log = tmp_path / "ready", tmp_path / "writer.log"
    env = {**os.environ, "PYTHONPATH": str(REPO), "MESH_LAKE_ROOT": str(lake.root), "MESH_WRITE_PATH": write_path}
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(table), "1995-03", str(ready)], cwd=REPO,
                              env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        deadline = time.monotonic() + 300
        while not ready.exists() and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), log.read_text()[-3000:]
    finally:
        os.killpg(writer.pid, signal.SIGKILL)  # the writer and its JVM, at once
        writer.wait(30)

    assert DeltaTable(str(table)).version() == version
    assert _rows_by_partition(table) == counts
    assert _files_by_partition(table) == files
    left = set((table / PARTITIONS_FOLDER).rglob("*.parquet")) - on_disk
    assert left and {f.parent.name for f in left} == {"1995-03"}  # the killed writer's files, referenced by none

    result = lake.build(ORDERS, ["1995-03"])  # a later publish of the month succeeds
    assert result.success and _published(result, ORDERS) == [("1995-03", version + 1)]
    assert _rows_by_partition(table) == counts
    referenced = {p for paths in _files_by_partition(table).values() for p in paths}
    assert referenced.isdisjoint({str(f.relative_to(table)) for f in left})
    assert_same_rows(DeltaTable(str(table)).to_pandas(), orders_whole, ["order_id"])


@pytest.mark.parametrize("write_path", ["arrow", "spark"])
def test_rows_outside_the_window_are_refused_and_nothing_is_published(lake, orders_whole, spark, monkeypatch,
                                                                      write_path):
    monkeypatch.setenv("MESH_WRITE_PATH", write_path)
    table = lake.table(ORDERS)
    version, entries = DeltaTable(str(table)).version(), set(table.rglob("*"))
    contract = load_contract(domains_dir() / "sales" / "contracts" / "orders.yaml")
    two_months = window_for_keys(contract, ["1995-03", "1995-04"])
    rows = two_months.filter(spark.createDataFrame(DeltaTable(str(table)).to_pyarrow_table()))
    with pytest.raises(PartitionOverflow) as refused:
        write_delta(rows, table, {}, partitions=window_for_keys(contract, ["1995-03"]).layout())
    assert str(refused.value) == (f"{table}: rows of partition(s) 1995-04 in a build of 1995-03; filter the "
                                  "transform's inputs with ctx.in_partition(df, column)")
    assert DeltaTable(str(table)).version() == version
    assert set(table.rglob("*")) == entries  # no file written, none left over


@pytest.mark.parametrize("write_path", ["spark", "arrow"])
def test_the_spark_and_the_arrow_write_path_publish_a_month(lake, orders_whole, monkeypatch, write_path):
    monkeypatch.setenv("MESH_WRITE_PATH", write_path)
    table = lake.table(ORDERS)
    before = _files_by_partition(table)
    result = lake.build(ORDERS, ["1997-02"])
    assert result.success and [p for p, _ in _published(result, ORDERS)] == ["1997-02"]
    after = _files_by_partition(table)
    assert after["1997-02"].isdisjoint(before["1997-02"])
    assert {k: v for k, v in after.items() if k != "1997-02"} == {k: v for k, v in before.items() if k != "1997-02"}
    assert_same_rows(_month(DeltaTable(str(table)).to_pandas(), "order_date", ["1997-02"]),
                     _month(oracle.sales_orders(lake.tpch), "order_date", ["1997-02"]), ["order_id"])


CLI_ERRORS = {
    "unknown partition": (["--select", "sales/orders", "--partition", "2001-03"],
                          "sales.orders has no partition 2001-03; its partitions are 1992-01 .. 1998-08 (80)"),
    "range backwards": (["--select", "sales/orders", "--from", "1995-06", "--to", "1995-03"],
                        "--from 1995-06 comes after --to 1995-03"),
    "partition and range": (["--select", "sales/orders", "--partition", "1995-03", "--from", "1995-01"],
                            "give --partition, or --from/--to, not both"),
    "unpartitioned selection": (["--select", "sales/customer_lifetime_value", "--partition", "1995-03"],
                                "--partition/--from/--to: none of the selected products is partitioned"),
}


@pytest.mark.parametrize("case", sorted(CLI_ERRORS))
def test_mesh_materialize_refuses_partition_options_in_one_line(case, lake_root, dagster_home, spark, monkeypatch):
    from mesh_platform.cli import app

    # the session's lake, as every other module's code locations (the CLI loads them once per process)
    monkeypatch.setenv("MESH_LAKE_ROOT", str(lake_root))
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    arguments, message = CLI_ERRORS[case]
    result = CliRunner().invoke(app, ["materialize", *arguments], env={"COLUMNS": "250"})
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [f"error: {message}"]


def test_a_table_last_written_whole_is_migrated_by_its_first_partition_publish(lake, orders_whole, spark, tmp_path):
    contract = load_contract(domains_dir() / "sales" / "contracts" / "orders.yaml")
    rows = spark.createDataFrame(DeltaTable(str(lake.table(ORDERS))).to_pyarrow_table())
    table = tmp_path / "orders"
    write_delta(rows, table)  # whole, as before the contract was partitioned: files of no partition
    assert not (table / PARTITIONS_FOLDER).exists()
    march = window_for_keys(contract, ["1995-03"])
    write_delta(march.filter(rows), table, {"mesh.partitions": "1995-03"}, partitions=march.layout())
    migrated = DeltaTable(str(table))
    assert migrated.version() == 1  # the migration and the month in one commit
    assert_same_rows(migrated.to_pandas(), orders_whole, ["order_id"])
    files = _files_by_partition(table)
    assert sorted(files) == sorted(_files_by_partition(lake.table(ORDERS)))  # every row now in its month's files
    for month, paths in files.items():
        assert all(p.startswith(f"{PARTITIONS_FOLDER}/{month}/") for p in paths)
        in_files = pa.concat_tables([pq.read_table(table / p) for p in paths])
        assert set(pc.strftime(pc.cast(in_files["order_date"], pa.timestamp("s")), format="%Y-%m").to_pylist()) == {month}
