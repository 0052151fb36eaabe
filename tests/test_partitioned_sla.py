"""A partitioned product's SLA is judged, and renewed, on its newest partition (the last key of its
partitions definition: 1998-08 for sales.orders, the month of the mesh's as-of date 1998-08-02).

Real builds through Dagster on a fresh instance, the real `<domain>_sources` observation and renewal code,
the freshness alert sensor; a hand-reported materialization (what `report_runless_asset_event` records)
stands for a newest partition built three hours ago.
"""

from __future__ import annotations

import json
import time

import pytest
from dagster import AssetKey, AssetMaterialization, DagsterInstance, MetadataValue, build_sensor_context

from mesh_platform.mesh import all_contracts, domain_sources
from mesh_platform.monitoring.data_time import DATA_TIME, newest_partition, sla_verdicts
from mesh_platform.monitoring.freshness import freshness_alert_sensor
from mesh_platform.monitoring.health import mesh_health
from mesh_platform.monitoring.records import STILL_CURRENT, latest
from mesh_platform.product.automation import renew_after_seconds
from mesh_platform.product.partitions import partitions_def
from mesh_platform.product.sources_sensor import observe_sources, renew_products
from mesh_platform.runner import PartitionChoice, materialize_domain
from mesh_platform.settings import fixed_as_of

ORDERS = AssetKey(["sales", "orders"])
NEWEST = "1998-08"


@pytest.fixture
def fresh_instance(tmp_path):
    (tmp_path / "home").mkdir()
    with DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        yield instance


def _build(instance, partition: str):
    (result,) = materialize_domain("sales", ["sales.orders"], instance, partitions=PartitionChoice(partition=partition))
    assert result.status == "published" and result.partitions == [partition], result


def _observe_sales_sources(instance, lake_root, now: float):
    """What the sales_sources sensor reports first: the sources' data versions, which builds then record."""
    events, states = observe_sources("sales", domain_sources("sales"), {}, instance, lake_root, now)
    for event in events:
        instance.report_runless_asset_event(event)
    return states


def test_a_partitioned_product_fails_its_sla_while_its_newest_partition_is_missing_or_old(
        seeded_lake, spark, fresh_instance, tmp_path, monkeypatch):
    contracts = all_contracts()
    orders = {"sales.orders": contracts["sales.orders"]}
    for key, newest in (("sales.orders", NEWEST), ("finance.revenue_by_nation", "1998")):  # as the assets define it
        defined = partitions_def(contracts[key], fixed_as_of())
        assert newest_partition(contracts[key]) == newest == defined.get_last_partition_key()
    assert newest_partition(contracts["sales.order_analytics"]) is None

    _build(fresh_instance, "1995-03")  # an old month, just built: the newest is still missing
    verdict = sla_verdicts(orders, fresh_instance, time.time())["sales.orders"]
    assert (verdict.state, verdict.partition, verdict.data_time, verdict.within_sla) == ("failing", NEWEST, None, False)
    sales = next(row for row in mesh_health(contracts, fresh_instance) if row.domain == "sales")
    assert sales.freshness_compliance < 1.0  # mesh health counts it out of its SLA
    # The freshness alerts sensor announces the breach, naming the partition it judged.
    monkeypatch.setenv("MESH_ALERT_LOG", str(tmp_path / "alerts.jsonl"))
    freshness_alert_sensor(orders, sources=[])(build_sensor_context(instance=fresh_instance))
    (alert,) = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert (alert["kind"], alert["product"], alert["partition"], alert["data_time"]) == (
        "breach", "sales.orders", NEWEST, None)

    # The newest month built three hours ago (2 h SLA), then an older one rebuilt now: still failing.
    three_hours_ago = time.time() - 3 * 3600
    fresh_instance.report_runless_asset_event(AssetMaterialization(
        ORDERS, partition=NEWEST, metadata={DATA_TIME: MetadataValue.float(three_hours_ago)}))
    _build(fresh_instance, "1994-01")
    verdict = sla_verdicts(orders, fresh_instance, time.time())["sales.orders"]
    assert (verdict.state, verdict.partition) == ("failing", NEWEST)
    assert verdict.data_time == pytest.approx(three_hours_ago) and verdict.age_hours == pytest.approx(3, abs=0.1)

    _build(fresh_instance, NEWEST)  # the newest month rebuilt: passing
    verdict = sla_verdicts(orders, fresh_instance, time.time())["sales.orders"]
    assert (verdict.state, verdict.partition) == ("passing", NEWEST) and verdict.age_hours < 0.5


def test_a_partitioned_product_is_renewed_on_its_newest_partition_only(seeded_lake, spark, fresh_instance):
    contracts = {"sales.orders": all_contracts()["sales.orders"]}
    now = time.time()
    states = _observe_sales_sources(fresh_instance, seeded_lake, now)
    _build(fresh_instance, "1995-03")
    later = now + renew_after_seconds(contracts["sales.orders"]) + 60
    assert renew_products(contracts, fresh_instance, dict(states), later) == []  # newest never built: no renewal

    _build(fresh_instance, NEWEST)
    build = latest(fresh_instance, ORDERS, NEWEST)
    assert renew_products(contracts, fresh_instance, dict(states), time.time()) == []  # not yet half its SLA old
    (renewal,) = renew_products(contracts, fresh_instance, dict(states), later)
    assert renewal.partition == NEWEST and renewal.metadata[STILL_CURRENT].value is True
    assert not {"dagster/partition", "dagster/asset_partition_range_start"} & set(renewal.tags)
    fresh_instance.report_runless_asset_event(renewal)
    renewed = latest(fresh_instance, ORDERS, NEWEST)
    assert renewed.partition_key == NEWEST and renewed.storage_id > build.storage_id
    assert latest(fresh_instance, ORDERS, "1995-03").run_id  # older partitions keep their builds
    assert latest(fresh_instance, ORDERS).partition_key == NEWEST  # no partition-less materialization
