"""Refreshing a domain (or the mesh) whose products are partly partitioned: the request runs, and the
backfill each sensor then requests of every partition (product/refresh.py).

Real definitions of the sample mesh, a real (ephemeral) instance, the request jobs executed in process
and the sensors evaluated as the daemon does (`evaluate_tick`); what the backfill daemon then builds of
such a request is what tests/test_ui_fills_itself.py checks in a real `dagster dev`.
"""

from __future__ import annotations

import pytest
from dagster import AssetKey, DagsterInstance, build_sensor_context

import domains.sales.definitions as sales
import governance.definitions as governance

pytestmark = pytest.mark.engine_independent  # sensor requests only, no Spark: one pass (Sail) runs it

ORDERS = AssetKey(["sales", "orders"])
UNPARTITIONED_SALES = {AssetKey(["sales", "customer_lifetime_value"]), AssetKey(["sales", "order_analytics"])}


def _tick(sensor, instance, repository, cursor):
    result = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor, repository_def=repository))
    return result.run_requests, result.cursor


def test_refreshing_sales_requests_one_backfill_of_every_partition_and_product():
    repository = sales.defs.get_repository_def()
    sensor = repository.get_sensor_def("sales_refresh_products")
    all_months = repository.asset_graph.get(ORDERS).partitions_def.get_partition_keys()
    assert (all_months[0], all_months[-1], len(all_months)) == ("1992-01", "1998-08", 80)
    with DagsterInstance.ephemeral() as instance:
        requests, cursor = _tick(sensor, instance, repository, None)
        assert requests == []  # nothing requested yet (and no run before its first tick counts)

        request = sales.defs.get_job_def("sales_refresh").execute_in_process(instance=instance)
        assert request.success
        (backfill,), cursor = _tick(sensor, instance, repository, cursor)
        subset = backfill.asset_graph_subset
        assert backfill.requires_backfill_daemon()
        assert sorted(subset.get_partitions_subset(ORDERS).get_partition_keys()) == all_months
        assert set(subset.non_partitioned_asset_keys) == UNPARTITIONED_SALES
        assert backfill.tags["mesh/refresh_request"] == request.run_id
        assert backfill.tags["dagster/sensor_name"] == "sales_refresh_products"

        assert _tick(sensor, instance, repository, cursor)[0] == []  # each request acted on once


def test_refresh_mesh_backfills_every_partition_of_each_domains_source_aligned_products():
    repository = sales.defs.get_repository_def()
    sensor = repository.get_sensor_def("sales_mesh_refresh")
    with DagsterInstance.ephemeral() as instance:
        _, cursor = _tick(sensor, instance, repository, None)
        request = governance.defs.get_job_def("refresh_mesh").execute_in_process(instance=instance)
        (backfill,), cursor = _tick(sensor, instance, repository, cursor)
        subset = backfill.asset_graph_subset
        assert set(subset.asset_keys) == {ORDERS}  # sales' only product reading nothing but its sources
        assert len(subset.get_partitions_subset(ORDERS).get_partition_keys()) == 80
        assert (backfill.tags["mesh/refresh"], backfill.tags["mesh/refresh_request"]) == ("mesh", request.run_id)
        assert _tick(sensor, instance, repository, cursor)[0] == []
