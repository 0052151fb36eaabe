"""The `mesh` command as a user runs it: seed idempotently, materialize, fail loudly on a broken contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from conftest import TEST_SCALE
from mesh_platform.storage import write_arrow

MESH = str(Path(sys.executable).parent / "mesh")


def mesh(*args: str, lake: Path, home: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MESH, *args], capture_output=True, text=True, timeout=600,
        env={**os.environ, "MESH_LAKE_ROOT": str(lake), "DAGSTER_HOME": str(home), "COLUMNS": "200", **env},
    )


def test_seed_is_idempotent(seeded_lake, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(seeded_lake / "_tpch", lake / "_tpch")  # reuse the generated TPC-H files
    first = mesh("seed", "--scale", f"{TEST_SCALE:g}", lake=lake, home=tmp_path / "home")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "sales/bronze/order_lines" in first.stdout and "written" in first.stdout
    versions = {p.name: DeltaTable(str(p)).version() for p in (lake / "sales" / "bronze").iterdir()}
    second = mesh("seed", "--scale", f"{TEST_SCALE:g}", lake=lake, home=tmp_path / "home")
    assert second.returncode == 0 and "written" not in second.stdout and "up to date" in second.stdout
    assert versions == {p.name: DeltaTable(str(p)).version() for p in (lake / "sales" / "bronze").iterdir()}


def test_materialize_publishes_then_refuses_a_contract_breach(seeded_lake, tmp_path):
    lake, home = tmp_path / "lake", tmp_path / "home"
    shutil.copytree(seeded_lake / "sales" / "bronze", lake / "sales" / "bronze")
    ok = mesh("materialize", "--select", "sales/orders", lake=lake, home=home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "sales.orders" in ok.stdout and "published" in ok.stdout and "passed" in ok.stdout
    gold = DeltaTable(str(lake / "sales" / "gold" / "orders"))
    version = gold.version()

    # An operational system ships a duplicated order: the orders contract must refuse it.
    orders = DeltaTable(str(lake / "sales" / "bronze" / "orders")).to_pyarrow_table()
    write_arrow(pa.concat_tables([orders, orders.filter(pc.equal(orders["o_orderkey"], orders["o_orderkey"][0]))]),
                lake / "sales" / "bronze" / "orders")
    refused = mesh("materialize", "--select", "sales/orders", lake=lake, home=home)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "refused" in refused.stdout and "unique_order_id" in refused.stdout
    gold.update_incremental()
    assert gold.version() == version


def test_materialize_as_of_builds_as_of_that_date(seeded_lake, tmp_path):
    from dagster import AssetKey, DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    lake, home = tmp_path / "lake", tmp_path / "home"
    shutil.copytree(seeded_lake / "sales" / "bronze", lake / "sales" / "bronze")
    done = mesh("materialize", "--select", "sales/orders", "--as-of", "1998-06-30", lake=lake, home=home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "published" in done.stdout and "Traceback" not in done.stdout + done.stderr
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        event = instance.get_latest_materialization_event(AssetKey(["sales", "orders"]))
    assert event.asset_materialization.metadata["as_of"].value == "1998-06-30"
    mistyped = mesh("materialize", "--select", "sales/orders", "--as-of", "1998-13-01", lake=lake, home=home)
    assert mistyped.returncode == 2
    assert mistyped.stdout.strip() == "error: --as-of '1998-13-01' is not a date; write YYYY-MM-DD, e.g. 2026-06-30"


def test_unknown_selection_and_unreachable_engine_fail_in_one_line(seeded_lake, tmp_path):
    unknown = mesh("materialize", "--select", "sales/nope", lake=seeded_lake, home=tmp_path)
    assert unknown.returncode == 2 and "'sales.nope' matches no product" in unknown.stdout
    offline = mesh("materialize", "--select", "sales", lake=seeded_lake, home=tmp_path,
                   MESH_SPARK_REMOTE="sc://127.0.0.1:9")
    assert offline.returncode == 2
    assert offline.stdout.strip().splitlines() == [
        "error: no Spark Connect server answers at sc://127.0.0.1:9 (Connection refused); start one or unset "
        "MESH_SPARK_REMOTE"
    ]


def test_lint_and_help_do_not_start_dagster_or_spark(tmp_path):
    # `mesh lint` runs on every commit: it must not pay for Dagster's import (about a second) it never uses.
    probe = """
import sys
from mesh_platform.cli import app
sys.argv = ["mesh", "lint", "--format", "json"]
try:
    app()
except SystemExit:
    pass
heavy = ("dagster", "dagster_deltalake", "pandera", "pyspark.sql.connect.session")
print(sorted(m for m in heavy if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "MESH_LAKE_ROOT": str(tmp_path / "lake")})
    assert result.returncode == 0, result.stderr
    assert '"critical": 0' in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"
