"""A failing critical check blocks publication: nothing is committed and downstream does not run."""

from __future__ import annotations

import pyarrow as pa
from dagster import AssetIn, AssetKey, asset, materialize
from deltalake import DeltaTable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mesh_platform.contracts.loader import parse_contract
from mesh_platform.contracts.revisions import published_table
from mesh_platform.product.domain import upstream_stub
from mesh_platform.product.factory import bronze_spec, product_asset
from mesh_platform.product.resources import platform_resources
from mesh_platform.storage import bronze_path, product_path, write_arrow

SCHEMA = [
    {"name": "item_id", "type": "string", "nullable": False, "description": "item"},
    {"name": "price", "type": "decimal(18,2)", "nullable": False, "description": "price"},
]
CLEAN = parse_contract(
    {"name": "items", "domain": "shop", "version": "1.0.0", "owner": "team:shop", "description": "items",
     "primary_key": ["item_id"], "sources": ["items"], "sla": {"freshness_hours": 1}, "schema": SCHEMA,
     "quality": [{"rule": "min", "column": "price", "value": 0}]},
    "items.yaml",
)
SUMMARY = parse_contract(
    {"name": "item_summary", "domain": "shop", "version": "1.0.0", "owner": "team:shop",
     "description": "summary", "dependencies": [{"product": "shop.items"}], "sla": {"freshness_hours": 1},
     "primary_key": ["items"],
     "schema": [{"name": "items", "type": "bigint", "nullable": False}]},
    "item_summary.yaml",
)


def _items(ctx):
    return ctx.source("items").select(F.col("item_id"), F.col("price").cast("decimal(18,2)"))


def _summary(ctx):
    return ctx.product("shop.items").agg(F.count(F.lit(1)).alias("items"))


ASSETS = [
    bronze_spec("shop", "items", "team:shop"),
    product_asset(CLEAN, _items),
    product_asset(SUMMARY, _summary, {"shop.items": CLEAN}),
]


def _write_bronze(lake_root, ids, prices):
    data = pa.table({"item_id": ids, "price": pa.array(prices, pa.float64())})
    write_arrow(data, bronze_path(lake_root, "shop", "items"))


def test_blocked_publish_keeps_previous_version_and_skips_downstream(lake_root, instance, spark):
    _write_bronze(lake_root, ["a", "b", "c"], [1.0, 2.0, 3.0])
    first = materialize(ASSETS, resources=platform_resources("shop"), instance=instance)
    assert first.success
    table_uri = str(product_path(lake_root, "shop", "items"))
    published_version = DeltaTable(table_uri).version()

    _write_bronze(lake_root, ["a", "a", "d"], [1.0, -5.0, 3.0])  # a duplicate key and a negative price
    second = materialize(ASSETS, resources=platform_resources("shop"), instance=instance, raise_on_error=False)

    assert not second.success
    checks = {e.check_name: e for e in second.get_asset_check_evaluations()}
    assert not checks["contract_primary_key"].passed and not checks["min_price"].passed
    assert checks["contract_primary_key"].metadata["examples"].value == ["item_id=a (2 rows)"]
    assert second.get_asset_materialization_events() == []  # neither product was published
    assert DeltaTable(table_uri).version() == published_version
    assert sorted(DeltaTable(table_uri).to_pyarrow_table()["item_id"].to_pylist()) == ["a", "b", "c"]
    started = {e.step_key for e in second.all_events if e.event_type_value == "STEP_START"}
    assert started == {"shop__items"}  # downstream never ran
    latest = instance.get_latest_materialization_event(AssetKey(["shop", "item_summary"]))
    assert latest.run_id == first.run_id


def test_published_materialization_records_contract_metadata(lake_root, instance, spark):
    _write_bronze(lake_root, ["x", "y"], [1.0, 2.0])
    result = materialize(ASSETS, resources=platform_resources("shop"), instance=instance, selection=["shop/items"])
    event = next(iter(result.get_asset_materialization_events()))
    metadata = event.materialization.metadata
    assert metadata["dagster/row_count"].value == 2
    assert metadata["dagster/table_name"].value == "shop.items"
    assert metadata["dagster/uri"].value == str(product_path(lake_root, "shop", "items"))
    assert metadata["delta_version"].value == DeltaTable(metadata["dagster/uri"].value).version()
    columns = {c.name: (c.type, c.description) for c in metadata["dagster/column_schema"].value.columns}
    assert columns["price"] == ("decimal(18,2)", "price") and "_computed_at" in columns
    history = DeltaTable(metadata["dagster/uri"].value).history(1)[0]
    assert history["product.version"] == "1.0.0" and history["dagster.run_id"] == result.run_id


def test_the_commit_records_the_contract_the_build_was_checked_against(lake_root, instance, spark):
    """The contract reaches the IO manager with the build's output (not as definition metadata) and the
    Delta commit records it whole: the next build's version check reads back an equal contract."""
    _write_bronze(lake_root, ["x"], [1.0])
    items = next(a for a in ASSETS if getattr(a, "keys", ()) == {AssetKey(["shop", "items"])})
    assert "commit_metadata" not in items.specs_by_key[AssetKey(["shop", "items"])].metadata
    result = materialize(ASSETS, resources=platform_resources("shop"), instance=instance, selection=["shop/items"])
    published = published_table(lake_root, CLEAN)
    assert published.contract == CLEAN
    assert published.table.history(1)[0]["dagster.run_id"] == result.run_id  # recorded by this very commit


def test_io_manager_loads_another_locations_product_as_a_spark_dataframe(mesh_published, instance, seeded_lake):
    """A user asset in any code location can take a published product as a plain Dagster input."""

    @asset(key=["finance", "big_orders"], ins={"orders": AssetIn(key=["sales", "orders"])})
    def big_orders(orders: DataFrame) -> None:
        assert isinstance(orders, DataFrame)
        assert orders.count() == mesh_published["sales.orders"].row_count
        assert "order_id" in orders.columns

    result = materialize([upstream_stub("sales.orders"), big_orders], resources=platform_resources("finance"), instance=instance)
    assert result.success
