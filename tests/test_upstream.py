"""Partial failure: a consumed product that is missing, stale or failing its checks is never used silently."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest
from dagster import AssetCheckEvaluation, AssetCheckSeverity, AssetKey, materialize
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from deltalake import DeltaTable
from pyspark.sql import functions as F

from mesh_platform.contracts.loader import parse_contract
from mesh_platform.product.factory import bronze_spec, product_asset
from mesh_platform.product.resources import platform_resources
from mesh_platform.storage import bronze_path, product_path, write_arrow

STOCK = {"name": "stock", "domain": "depot", "version": "1.0.0", "owner": "team:depot", "description": "stock",
         "primary_key": ["sku"], "sources": ["stock"], "sla": {"freshness_hours": 24},
         "schema": [{"name": "sku", "type": "string", "nullable": False}, {"name": "qty", "type": "bigint"}]}


def _contract(data: dict, **changes):
    return parse_contract({**data, **changes}, f"{data['name']}.yaml")


def _report(on_stale: str, upstream: str = "depot.stock"):
    return _contract({
        "name": "report", "domain": "depot", "version": "1.0.0", "owner": "team:depot", "kind": "composed",
        "description": "report", "dependencies": [{"product": upstream, "on_stale": on_stale}],
        "primary_key": ["total"], "sla": {"freshness_hours": 24}, "schema": [{"name": "total", "type": "bigint"}],
    })


def _stock_build(ctx):
    return ctx.source("stock").select("sku", F.col("qty").cast("bigint"))


def _report_build(ctx):
    (upstream,) = ctx.products.values()
    return upstream.agg(F.sum("qty").cast("bigint").alias("total"))


def _publish_stock(lake_root, instance, qty: list[int]):
    write_arrow(pa.table({"sku": [f"s{i}" for i in range(len(qty))], "qty": qty}), bronze_path(lake_root, "depot", "stock"))
    assets = [bronze_spec("depot", "stock", "team:depot"), product_asset(_contract(STOCK), _stock_build)]
    assert materialize(assets, resources=platform_resources("depot"), instance=instance).success
    return DeltaTable(str(product_path(lake_root, "depot", "stock"))).version()


def _build_report(instance, report, upstream_contract):
    upstream_key = report.dependencies[0].product
    asset = product_asset(report, _report_build, {upstream_key: upstream_contract})
    return materialize([asset], resources=platform_resources("depot"), instance=instance, raise_on_error=False)


def _failure_message(result) -> str:
    return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message


def _published_report(lake_root):
    return DeltaTable(str(product_path(lake_root, "depot", "report"))).to_pyarrow_table().to_pylist()[0]


def test_never_published_source_fails_the_build_naming_it(lake_root, instance, spark):
    ghost = _contract(STOCK, name="ghost")
    result = _build_report(instance, _report("use_last_good", "depot.ghost"), ghost)
    assert not result.success
    assert "its source depot.ghost was never published" in _failure_message(result)


def test_stale_source_is_used_with_a_recorded_degradation(lake_root, instance, spark):
    version = _publish_stock(lake_root, instance, [1, 2, 3])
    impatient = _contract(STOCK, sla={"freshness_hours": 0.0002})  # stale after 0.72 s
    time.sleep(1.5)
    result = _build_report(instance, _report("use_last_good"), impatient)
    assert result.success
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "upstream_health"]
    assert not check.passed and check.severity == AssetCheckSeverity.WARN
    assert check.metadata["degraded"].value["depot.stock"].startswith("stale: published")
    row = _published_report(lake_root)
    assert row["total"] == 6 and row["_source_products"] == [f"depot.stock@v{version}"]
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["source_versions"].value["depot.stock"]["state"] == "stale"


def test_stale_source_with_on_stale_fail_is_not_built(lake_root, instance, spark):
    _publish_stock(lake_root, instance, [5])
    impatient = _contract(STOCK, sla={"freshness_hours": 0.0002})
    time.sleep(1.5)
    before = DeltaTable(str(product_path(lake_root, "depot", "report"))).version() if (
        product_path(lake_root, "depot", "report").exists()) else None
    result = _build_report(instance, _report("fail"), impatient)
    assert not result.success
    assert "beyond its 0.0002 h SLA (the contract sets on_stale: fail)" in _failure_message(result)
    report = product_path(lake_root, "depot", "report")
    assert (DeltaTable(str(report)).version() if report.exists() else None) == before  # nothing written


def _fail_latest_check(instance):
    key = AssetKey(["depot", "stock"])
    latest = instance.fetch_materializations(key, limit=1).records[0]
    instance.report_runless_asset_event(AssetCheckEvaluation(
        asset_key=key, check_name="contract_primary_key", passed=False, metadata={},
        severity=AssetCheckSeverity.ERROR,
        target_materialization_data=AssetCheckEvaluationTargetMaterializationData(
            storage_id=latest.storage_id, run_id=latest.run_id, timestamp=latest.timestamp),
    ))


@pytest.mark.parametrize("on_stale", ["use_last_good", "fail"])
def test_source_failing_its_checks_is_replaced_by_last_good_version_or_stops_the_build(lake_root, instance, spark, on_stale):
    good = _publish_stock(lake_root, instance, [10, 20])
    bad = _publish_stock(lake_root, instance, [1000])
    _fail_latest_check(instance)  # e.g. a steward's or an external monitor's verdict on the new version
    result = _build_report(instance, _report(on_stale), _contract(STOCK))
    if on_stale == "fail":
        assert not result.success
        assert f"depot.stock version {bad} failed its blocking checks" in _failure_message(result)
        return
    assert result.success
    row = _published_report(lake_root)
    assert row["total"] == 30 and row["_source_products"] == [f"depot.stock@v{good}"]
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "upstream_health"]
    assert "last_good" in check.metadata["degraded"].value["depot.stock"]


def test_refused_build_does_not_taint_the_version_that_stays_current(lake_root, instance, spark):
    good = _publish_stock(lake_root, instance, [7, 8])
    write_arrow(pa.table({"sku": ["x", "x"], "qty": [1, 2]}), bronze_path(lake_root, "depot", "stock"))
    assets = [bronze_spec("depot", "stock", "team:depot"), product_asset(_contract(STOCK), _stock_build)]
    assert not materialize(assets, resources=platform_resources("depot"), instance=instance, raise_on_error=False).success
    result = _build_report(instance, _report("fail"), _contract(STOCK))
    assert result.success and _published_report(lake_root)["_source_products"] == [f"depot.stock@v{good}"]


def _crashing_build(ctx):
    raise RuntimeError("bronze table unreadable")


@pytest.mark.parametrize("on_stale", ["use_last_good", "fail"])
def test_crashed_build_is_no_verdict_and_consumers_keep_reading_the_good_version(
        lake_root, instance, spark, on_stale):
    good = _publish_stock(lake_root, instance, [4, 5])
    assets = [bronze_spec("depot", "stock", "team:depot"), product_asset(_contract(STOCK), _crashing_build)]
    crashed = materialize(assets, resources=platform_resources("depot"), instance=instance, raise_on_error=False)
    (failure,) = [e for e in crashed.all_events if e.is_step_failure]
    assert "bronze table unreadable" in failure.step_failure_data.error.cause.message
    # The crash left its checks planned and never evaluated: consumers must still build, every time.
    for _ in range(2):
        result = _build_report(instance, _report(on_stale), _contract(STOCK))
        assert result.success, _failure_message(result)
        row = _published_report(lake_root)
        assert row["total"] == 9 and row["_source_products"] == [f"depot.stock@v{good}"]
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "upstream_health"]
    assert check.passed
