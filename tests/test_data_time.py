"""The SLA is judged on data time: a product materialized a moment ago whose data is older than its SLA is
failing in `mesh catalog`, in `mesh health`, and in the freshness alerts (once on the breach, once on the
recovery), on a real Dagster instance holding runless materializations, as the "still current" renewals are."""

from __future__ import annotations

import json
import time

import pytest
from dagster import AssetMaterialization, DagsterInstance, build_sensor_context
from typer.testing import CliRunner

from mesh_platform.catalog import catalog_entries
from mesh_platform.cli import app
from mesh_platform.mesh import all_contracts
from mesh_platform.monitoring.data_time import DATA_TIME, newest_partition, sla_verdicts
from mesh_platform.monitoring.freshness import freshness_alert_sensor
from mesh_platform.monitoring.health import mesh_health
from mesh_platform.storage.layout import product_key

ORDERS = "sales.orders"  # SLA 2 h, no warning window


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MESH_LAKE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("MESH_ALERT_LOG", str(tmp_path / "alerts.jsonl"))
    monkeypatch.delenv("MESH_ALERT_WEBHOOK", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    (tmp_path / "home").mkdir()
    with DagsterInstance.get() as instance:
        yield instance


def _report(instance: DagsterInstance, product: str, data_time: float | None, **metadata) -> float:
    """A runless materialization of `product` (as a "still current" renewal is, of the newest partition of a
    partitioned product: the one judged), holding data of `data_time`."""
    contract = all_contracts()[product]
    if data_time is not None:
        metadata[DATA_TIME] = data_time
    key = product_key(contract.domain, contract.asset_name)
    instance.report_runless_asset_event(AssetMaterialization(asset_key=key, metadata=metadata,
                                                             partition=newest_partition(contract)))
    return instance.fetch_materializations(key, limit=1).records[0].timestamp


def _ticker(sensor, instance: DagsterInstance, log):
    """One evaluation of the alert sensor per call, its cursor kept; the alerts that call appended to `log`."""
    cursor = None

    def tick() -> list[dict]:
        nonlocal cursor
        before = len(log.read_text().splitlines()) if log.exists() else 0
        context = build_sensor_context(instance=instance, cursor=cursor)
        sensor(context)
        cursor = context.cursor
        return [json.loads(line) for line in log.read_text().splitlines()[before:]] if log.exists() else []

    return tick


def test_a_fresh_materialization_of_old_data_fails_its_sla_in_catalog_and_health(home, tmp_path):
    now = time.time()
    materialized = _report(home, ORDERS, now - 3 * 3600, **{"mesh/still_current": True})  # data 3 h old
    _report(home, "sales.order_analytics", None)  # no data time recorded: judged on the record's own time

    verdicts = sla_verdicts(all_contracts(), home, time.time())
    orders = verdicts[ORDERS]
    assert (orders.state, orders.data_time, orders.materialized_at) == ("failing", pytest.approx(now - 3 * 3600),
                                                                        materialized)
    assert orders.age_hours == pytest.approx(3.0, abs=0.01) and time.time() - materialized < 60
    analytics = verdicts["sales.order_analytics"]
    assert (analytics.state, analytics.data_time) == ("passing", analytics.materialized_at)
    assert verdicts["sales.customer_lifetime_value"].state == "never published"

    entries = {e.product: e for e in catalog_entries(all_contracts(), home, tmp_path / "lake")}
    assert (entries[ORDERS].freshness, entries[ORDERS].sla_state) == ("stale", "failing")
    assert entries[ORDERS].data_time == pytest.approx(now - 3 * 3600)
    assert entries[ORDERS].data_age_hours == pytest.approx(3.0, abs=0.01)
    assert (entries["sales.order_analytics"].freshness, entries["sales.customer_lifetime_value"].freshness) == (
        "fresh", "never published")

    runner = CliRunner()
    listed = {e["product"]: e for e in json.loads(runner.invoke(app, ["catalog", "--format", "json"]).stdout)}
    assert (listed[ORDERS]["sla_state"], listed[ORDERS]["data_age_hours"]) == ("failing", pytest.approx(3.0, abs=0.01))
    shown = runner.invoke(app, ["catalog", "show", ORDERS])
    assert shown.exit_code == 0, shown.output
    assert "state: stale (failing: data 3.0 h old, as of " in shown.stdout
    table = runner.invoke(app, ["catalog", "--domain", "sales"]).stdout
    assert "failing (3.0 h)" in table and "passing (0.0 h)" in table

    health = {r.domain: r for r in mesh_health(all_contracts(), home)}
    assert health["sales"].freshness_compliance == round(1 / 3, 4)  # order_analytics only; orders' data is old


def test_the_alert_sensor_judges_data_time_once_per_change(home, tmp_path):
    log = tmp_path / "alerts.jsonl"
    tick = _ticker(freshness_alert_sensor(all_contracts()), home, log)

    assert tick() == []  # nothing published
    old_data = time.time() - 3 * 3600
    _report(home, ORDERS, old_data)  # materialized now, from 3 h old data: Dagster's policy sees it fresh
    (breach,) = tick()
    assert (breach["kind"], breach["product"], breach["state"], breach["previous_state"]) == (
        "breach", ORDERS, "failing", "passing")
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(int(t)))  # noqa: E731
    assert (breach["data_time"], breach["at"], breach["sla_hours"]) == (iso(old_data), iso(old_data + 2 * 3600), 2.0)
    assert tick() == [] and tick() == []  # still failing: not repeated

    _report(home, ORDERS, old_data, **{"mesh/still_current": True})  # a renewal confirming the same old data
    assert tick() == []
    _report(home, ORDERS, time.time() - 600)  # new data, 10 minutes old
    (recovery,) = tick()
    assert (recovery["kind"], recovery["state"], recovery["previous_state"]) == ("recovery", "passing", "failing")
    assert tick() == []
    assert [json.loads(line)["kind"] for line in log.read_text().splitlines()] == ["breach", "recovery"]


def test_a_source_older_than_its_freshness_expectation_alerts_once_and_recovers(home, tmp_path):
    """Dagster 1.13 leaves an observed source's freshness policy unknown; the alert sensor keeps it."""
    from dagster import AssetObservation

    from mesh_platform.monitoring.data_time import SourceExpectation
    from mesh_platform.sources.assets import NEWEST_DATA_TIME
    from mesh_platform.storage.layout import bronze_key

    key = bronze_key("sales", "orders")
    watched = [SourceExpectation("sales.bronze.orders", key, "team:sales", 1.0)]
    tick = _ticker(freshness_alert_sensor(all_contracts(), watched), home, tmp_path / "alerts.jsonl")

    assert tick() == []  # never observed: nothing to judge
    newest = time.time() - 90 * 60  # observed just now, its newest row 1.5 h old: beyond the 1 h expectation
    home.report_runless_asset_event(AssetObservation(asset_key=key, metadata={NEWEST_DATA_TIME: newest}))
    (breach,) = tick()
    assert (breach["kind"], breach["product"], breach["owner"], breach["sla_hours"], breach["state"]) == (
        "breach", "sales.bronze.orders", "team:sales", 1.0, "failing")
    assert tick() == []
    home.report_runless_asset_event(AssetObservation(asset_key=key, metadata={NEWEST_DATA_TIME: time.time() - 60}))
    (recovery,) = tick()
    assert (recovery["kind"], recovery["product"], recovery["state"]) == ("recovery", "sales.bronze.orders", "passing")
