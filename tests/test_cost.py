"""Cost attribution of real builds: Spark's own metrics per publish, `mesh cost` and governance/cost."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from dagster import AssetKey, materialize
from typer.testing import CliRunner

from conftest import ON_JVM
from governance.definitions import defs as governance_defs
from mesh_platform.cli import app
from mesh_platform.mesh import all_contracts
from mesh_platform.storage import bronze_path
from mesh_platform.storage.delta import open_table

COST = ("cost/wall_seconds", "cost/cpu_seconds", "cost/check_cpu_seconds", "cost/task_seconds", "cost/bytes_read", "cost/bytes_written",
        "cost/storage_bytes", "cost/spark_jobs")


def _metadata(instance, contract, run_id: str) -> dict:
    key = AssetKey([contract.domain, contract.asset_name])
    record = next(r for r in instance.fetch_materializations(key, limit=50).records if r.run_id == run_id)
    return {k: getattr(v, "value", v) for k, v in record.asset_materialization.metadata.items()}


def _files_bytes(path, version: int) -> int:
    table = open_table(path, version)
    return sum(pa.table(table.get_add_actions(flatten=True))["size_bytes"].to_pylist())


def test_each_publish_records_plausible_compute_and_storage(mesh_published, instance, lake_root):
    contracts = all_contracts()
    if not ON_JVM:  # a Spark Connect server keeps its task metrics: wall time, what was written, storage
        for product, result in mesh_published.items():
            meta = _metadata(instance, contracts[product], result.run_id)
            assert meta["cost/wall_seconds"] > 0 and "cost/cpu_seconds" not in meta, product
            assert meta["cost/bytes_written"] == meta["size_bytes"] < meta["cost/storage_bytes"], product
        return
    for product, result in mesh_published.items():
        contract, meta = contracts[product], _metadata(instance, contracts[product], result.run_id)
        assert all(name in meta for name in COST), (product, sorted(meta))
        assert 0 < meta["cost/cpu_seconds"] <= meta["cost/task_seconds"] * 1.05, product  # CPU is part of run time
        assert 0 < meta["cost/check_cpu_seconds"] < meta["cost/cpu_seconds"], product
        assert meta["cost/spark_jobs"] >= 2, product  # at least the staged write and the checks' aggregation
        assert meta["cost/bytes_written"] == meta["size_bytes"]
        assert meta["cost/storage_bytes"] > meta["size_bytes"]  # plus the Delta log (and older versions)
        if not contract.dependencies:  # its bronze files, scanned once per use in the transform
            sources = sum(_files_bytes(bronze_path(lake_root, contract.domain, t), None) for t in contract.sources)
            assert 0.2 * sources <= meta["cost/bytes_read"] <= 3 * sources, product  # (and footers)
    # sales.orders scans each source once (its staged write computes the build); the checks then read the staged
    # files (the one aggregation, the key grouping, with footers): not the sources again
    orders = _metadata(instance, contracts["sales.orders"], mesh_published["sales.orders"].run_id)
    sources = sum(_files_bytes(bronze_path(lake_root, "sales", t), None) for t in contracts["sales.orders"].sources)
    assert 0.2 * sources <= orders["cost/bytes_read"] <= sources + 2.5 * orders["size_bytes"]


def test_mesh_cost_and_the_governance_asset_sum_publishes_by_product_and_domain(
    mesh_published, instance, dagster_home, monkeypatch
):
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    report = json.loads(CliRunner().invoke(app, ["cost", "--format", "json"]).output)
    products = {p["product"]: p for p in report["products"]}
    contracts = all_contracts()
    orders = products["sales.orders"]
    assert orders["publishes"] >= 1 and orders["bytes_written"] > 0
    assert (orders["cpu_seconds"] > 0) == ON_JVM  # Spark Connect servers keep CPU time to themselves
    for domain, total in report["domains"].items():
        mine = [p for p in products.values() if p["domain"] == domain]
        assert total["publishes"] == sum(p["publishes"] for p in mine)
        assert total["cpu_seconds"] == pytest.approx(sum(p["cpu_seconds"] for p in mine), abs=0.01)
        assert total["storage_bytes"] == sum(p["storage_bytes"] for p in mine)
    assert set(report["domains"]) == {c.domain for c in contracts.values()}

    monkeypatch.setenv("COLUMNS", "160")
    table = CliRunner().invoke(app, ["cost"]).output
    assert "sales (total)" in table and "sales.orders" in table

    # the council's asset: the same numbers, in the UI
    result = materialize([governance_defs.get_assets_def(AssetKey(["governance", "cost"]))], instance=instance)
    metadata = result.asset_materializations_for_node("governance__cost")[0].metadata
    assert metadata["sales/cpu_seconds"].value == pytest.approx(report["domains"]["sales"]["cpu_seconds"], abs=0.01)
    assert "| sales.orders |" in metadata["by_product"].value
