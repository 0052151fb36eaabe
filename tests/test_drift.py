"""Drift checks on real publishes: a distribution band learned from history, and schema drift."""

from __future__ import annotations

import pyarrow as pa
import pytest
from dagster import DagsterInstance, materialize
from deltalake import DeltaTable, write_deltalake

from mesh_platform.checks.drift import MIN_HISTORY, learn_band
from mesh_platform.contracts.loader import parse_contract
from mesh_platform.product.factory import bronze_spec, product_asset
from mesh_platform.product.resources import platform_resources
from mesh_platform.storage import bronze_path, product_path, write_arrow

PARCELS = {
    "name": "parcels", "domain": "depot", "version": "1.0.0", "owner": "team:depot",
    "description": "Parcels in the depot", "primary_key": ["parcel_id"], "sources": ["parcels"],
    "sla": {"freshness_hours": 1},
    "schema": [{"name": "parcel_id", "type": "string", "nullable": False, "description": "Parcel"},
               {"name": "note", "type": "string", "description": "Free text"}],
}


@pytest.fixture
def lake_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MESH_LAKE_ROOT", str(tmp_path / "lake"))  # platform resources bind it when built
    return tmp_path / "lake"


def _source(lake_root, rows: int, null_share: float) -> None:
    nulls = round(rows * null_share)
    write_arrow(pa.table({"parcel_id": [f"p{i}" for i in range(rows)],
                          "note": [None if i < nulls else "ok" for i in range(rows)]}),
                bronze_path(lake_root, "depot", "parcels"))


def _publish(instance, contract_data=PARCELS):
    contract = parse_contract(contract_data, "parcels.yaml")
    columns = [c.name for c in contract.columns]

    def transform(ctx):
        df = ctx.source("parcels")
        return df.selectExpr(*[c if c in df.columns else f"cast(null as string) as {c}" for c in columns])

    result = materialize([bronze_spec("depot", "parcels", "team:depot"), product_asset(contract, transform)],
                         resources=platform_resources("depot"), instance=instance)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    return result.asset_materializations_for_node("depot__parcels")[0].metadata, checks


def test_the_band_is_a_robust_spread_around_the_median():
    assert learn_band([100, 100], 0.1, 1) is None  # still learning
    band = learn_band([100, 102, 98, 100, 101], relative=0.0, absolute=0.0)
    assert (band.center, band.history) == (100, 5)
    assert band.high - band.center == pytest.approx(3 * 1.4826 * 1)  # 3 robust sigmas, MAD = 1
    assert learn_band([100] * 4, relative=0.1, absolute=1).low == 90  # flat history: the relative floor


def test_distribution_drift_warns_outside_the_learned_band_and_still_publishes(lake_root, spark):
    instance = DagsterInstance.ephemeral()
    for rows in (100, 104, 96):  # a normal history
        _source(lake_root, rows, 0.1)
        metadata, checks = _publish(instance)
        assert checks["drift_distribution"].passed and "learning" in checks["drift_distribution"].metadata["note"].text
    assert metadata["drift/rows"].value == 96 and metadata["drift/null_share/note"].value == pytest.approx(0.1, abs=0.01)

    _source(lake_root, 101, 0.1)
    metadata, checks = _publish(instance)
    assert checks["drift_distribution"].passed
    assert checks["drift_distribution"].metadata["history"].value == MIN_HISTORY
    low, high = metadata["drift/rows_low"].value, metadata["drift/rows_high"].value
    spread = 3 * 1.4826 * 4  # history 100, 104, 96: median 100, median absolute deviation 4
    assert (low, high) == pytest.approx((100 - spread, 100 + spread))

    table = DeltaTable(str(product_path(lake_root, "depot", "parcels")))
    _source(lake_root, 40, 0.1)  # a feed that lost most of its rows
    metadata, checks = _publish(instance)
    drift = checks["drift_distribution"]
    assert not drift.passed and drift.severity.value == "WARN"
    assert drift.metadata["outside_band"].value["rows"]["value"] == 40
    assert DeltaTable(str(product_path(lake_root, "depot", "parcels"))).version() == table.version() + 1  # published

    _source(lake_root, 100, 0.7)  # a column that went mostly empty
    metadata, checks = _publish(instance)
    outside = checks["drift_distribution"].metadata["outside_band"].value
    assert list(outside) == ["null_share/note"] and outside["null_share/note"]["value"] == pytest.approx(0.7)


def test_schema_drift_is_expected_with_a_new_contract_version_and_flagged_without_one(lake_root, spark):
    instance = DagsterInstance.ephemeral()
    _source(lake_root, 50, 0.0)
    _, checks = _publish(instance)
    assert checks["drift_schema"].passed and "vs_previous" not in checks["drift_schema"].metadata  # first publish
    _, checks = _publish(instance)
    assert checks["drift_schema"].passed
    assert checks["drift_schema"].metadata["vs_previous"].value == {"added": [], "removed": [], "retyped": {}}

    wider = {**PARCELS, "version": "1.1.0",
             "schema": [*PARCELS["schema"], {"name": "weight_kg", "type": "string", "description": "Weight"}]}
    _, checks = _publish(instance, wider)
    drift = checks["drift_schema"]
    assert drift.passed
    assert drift.metadata["vs_previous"].value == {"added": ["weight_kg"], "removed": [], "retyped": {}}
    assert drift.metadata["contract_versions"].text == "1.0.0 -> 1.1.0"

    # Someone rewrites the table outside the platform, dropping a column: the next publish under the
    # same contract version sees a schema change no contract version explains.
    path = product_path(lake_root, "depot", "parcels")
    current = DeltaTable(str(path)).to_pyarrow_table().drop_columns(["weight_kg"])
    write_deltalake(str(path), current, mode="overwrite", schema_mode="overwrite")
    _, checks = _publish(instance, wider)
    drift = checks["drift_schema"]
    assert not drift.passed and drift.severity.value == "WARN"
    assert drift.metadata["vs_previous"].value["added"] == ["weight_kg"]
    assert drift.metadata["unexplained"].text == "the schema changed but the contract version did not"
