"""A partition mapping across code locations, in a mesh of its own (`mesh init`, `mesh new domain`): a daily
product of one domain read by a monthly product of another with `partition_mapping: window`. A month's
build reads exactly that month's days, and the read audit records the read with its partitions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from mesh_platform.access import audit

# Two domains built by `mesh materialize` processes (a few Spark sessions). It proves the mapping and the
# audit, which no engine changes: CI runs it once, in its Sail pass (the values per engine: test_partitions.py).
pytestmark = [pytest.mark.slow, pytest.mark.engine_independent]

REPO = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
# Variables of this test session that would point the new mesh at the session's lake, instance or mesh.
NOT_PASSED = ("MESH_ROOT", "MESH_LAKE_ROOT", "MESH_AS_OF", "MESH_SOURCES_PROFILE", "DAGSTER_HOME")
FIRST_DAY, AS_OF = date(2026, 2, 25), date(2026, 4, 3)  # days of February, all of March, days of April
STORES = ("north", "south")

SOURCES = """\
sources:
  - name: sales
    kind: delta
    description: Till receipts, several a day per store.
    columns: {sold_on: date, store: string, amount: "decimal(12,2)"}
"""
DAILY = f"""\
name: daily_sales
domain: ticks
version: 1.0.0
owner: team:ticks
kind: aggregate
description: Receipts per store and day.
primary_key: [sold_on, store]
sources: [sales]
sla: {{freshness_hours: 24}}
partitioning: {{column: sold_on, every: day, start: {FIRST_DAY}}}
schema:
  - {{name: sold_on, type: date, nullable: false, description: "Day of the receipts"}}
  - {{name: store, type: string, nullable: false, description: "Store"}}
  - {{name: receipts, type: bigint, nullable: false, description: "Receipts that day"}}
  - {{name: sales_amount, type: "decimal(18,2)", nullable: false, description: "Sum of the receipts"}}
access:
  consumers: [reports]
"""
MONTHLY = """\
name: monthly_sales
domain: reports
version: 1.0.0
owner: team:reports
kind: aggregate
description: Receipts per store and month, from the daily figures.
primary_key: [month_start, store]
dependencies:
  - product: ticks.daily_sales
    partition_mapping: window
sla: {freshness_hours: 24}
partitioning: {column: month_start, every: month, start: 2026-03-01}
schema:
  - {name: month_start, type: date, nullable: false, description: "First day of the month"}
  - {name: store, type: string, nullable: false, description: "Store"}
  - {name: days, type: bigint, nullable: false, description: "Days with receipts read"}
  - {name: first_day, type: date, nullable: false, description: "First day read"}
  - {name: last_day, type: date, nullable: false, description: "Last day read"}
  - {name: sales_amount, type: "decimal(18,2)", nullable: false, description: "Sum over the days read"}
"""
DAILY_TRANSFORM = """

def daily_sales(ctx: BuildContext) -> DataFrame:
    return ctx.in_partition(ctx.source("sales"), "sold_on").groupBy("sold_on", "store").agg(
        F.count(F.lit(1)).alias("receipts"), F.sum("amount").cast("decimal(18,2)").alias("sales_amount"))
"""
# The month comes from the window, not the data: a day from outside the month would be summed into it.
MONTHLY_TRANSFORM = """

def monthly_sales(ctx: BuildContext) -> DataFrame:
    return ctx.product("ticks.daily_sales").groupBy("store").agg(
        F.count(F.lit(1)).alias("days"), F.min("sold_on").alias("first_day"), F.max("sold_on").alias("last_day"),
        F.sum("sales_amount").cast("decimal(18,2)").alias("sales_amount"),
    ).select(F.lit(ctx.partition.start).alias("month_start"), "store", "days", "first_day", "last_day",
             "sales_amount")
"""


def _receipts() -> pa.Table:
    """Three receipts per store and day; their amounts tell the day and the store apart."""
    rows = []
    day = FIRST_DAY
    while day <= AS_OF:
        for s, store in enumerate(STORES):
            for n in range(3):
                rows.append((day, store, Decimal(day.day * 100 + s * 10 + n) / 100))
        day += timedelta(days=1)
    return pa.table({"sold_on": pa.array([r[0] for r in rows], pa.date32()),
                     "store": [r[1] for r in rows],
                     "amount": pa.array([r[2] for r in rows], pa.decimal128(12, 2))})


def _mesh(folder: Path, env: dict, *command: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(BIN / "mesh"), *command], cwd=folder, env=env, capture_output=True, text=True,
                            timeout=900, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"mesh {' '.join(command)}: {result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result


@pytest.fixture(scope="module")
def mesh(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("partition_mesh") / "shops"
    env = {**{k: v for k, v in os.environ.items() if k not in NOT_PASSED}, "COLUMNS": "250",
           "PYTHONPATH": str(REPO)}
    _mesh(folder.parent, env, "init", folder.name)
    for domain in ("ticks", "reports"):
        _mesh(folder, env, "new", "domain", domain)
    with (folder / "mesh.yaml").open("a") as mesh_yaml:
        mesh_yaml.write(f"as_of: {AS_OF}\n")
    (folder / "domains/ticks/sources.yaml").write_text(SOURCES)
    (folder / "domains/ticks/contracts/daily_sales.yaml").write_text(DAILY)
    (folder / "domains/reports/contracts/monthly_sales.yaml").write_text(MONTHLY)
    with (folder / "domains/ticks/transforms.py").open("a") as transforms:
        transforms.write(DAILY_TRANSFORM)
    with (folder / "domains/reports/transforms.py").open("a") as transforms:
        transforms.write(MONTHLY_TRANSFORM)
    write_deltalake(str(folder / ".lake/ticks/bronze/sales"), _receipts())
    home = folder.parent / "dagster_home"
    home.mkdir()
    shutil.copyfile(folder / "dagster.yaml", home / "dagster.yaml")
    env["DAGSTER_HOME"] = str(home)
    _mesh(folder, env, "lint")
    return folder, env


def _expected(month: date) -> list[dict]:
    receipts = _receipts().to_pylist()
    found = []
    for store in STORES:
        days = sorted({r["sold_on"] for r in receipts if r["store"] == store and r["sold_on"].replace(day=1) == month})
        found.append({"month_start": month, "store": store, "days": len(days), "first_day": days[0],
                      "last_day": days[-1], "sales_amount": sum(r["amount"] for r in receipts if r["store"] == store
                                                                and r["sold_on"] in days)})
    return found


def test_a_monthly_product_reads_exactly_its_month_of_a_daily_product_of_another_domain(mesh):
    folder, env = mesh
    _mesh(folder, env, "materialize", "--select", "ticks")  # every day, one run
    daily = DeltaTable(str(folder / ".lake/ticks/gold/daily_sales")).to_pyarrow_table()
    assert sorted(set(daily["sold_on"].to_pylist())) == [FIRST_DAY + timedelta(days=d)
                                                         for d in range((AS_OF - FIRST_DAY).days + 1)]
    _mesh(folder, env, "materialize", "--select", "reports", "--partition", "2026-03")
    _mesh(folder, env, "materialize", "--select", "reports", "--partition", "2026-04")

    monthly = DeltaTable(str(folder / ".lake/reports/gold/monthly_sales")).to_pyarrow_table()
    rows = sorted(monthly.drop_columns(["_computed_at", "_product_version"]).to_pylist(),
                  key=lambda r: (r["month_start"], r["store"]))
    assert rows == _expected(date(2026, 3, 1)) + _expected(date(2026, 4, 1))
    assert [(r["days"], r["first_day"], r["last_day"]) for r in rows[:2]] == [(31, date(2026, 3, 1), date(2026, 3, 31))] * 2

    reads = [e for e in audit.reads(folder / ".lake", "ticks.daily_sales") if e.consumer == "reports"]
    assert sorted(e.read_by for e in reads) == ["reports.monthly_sales (partitions 2026-03)",
                                                "reports.monthly_sales (partitions 2026-04)"]
    usage = json.loads(_mesh(folder, env, "usage", "--product", "ticks.daily_sales", "--reads", "5",
                             "--format", "json").stdout)
    assert "reports.monthly_sales (partitions 2026-03)" in json.dumps(usage)
