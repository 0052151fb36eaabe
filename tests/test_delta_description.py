"""Delta tables that describe themselves, on both write paths: required columns non-nullable (and enforced),
column comments, the table's name and description, as deltalake and polars read them."""

from __future__ import annotations

import polars as pl
import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from mesh_platform.product.catalog_metadata import delta_description
from mesh_platform.storage import product_path
from mesh_platform.storage.delta import write_delta
from mesh_platform.storage.description import RequiredColumnNull, TableDescription

DESCRIBED = TableDescription(
    name="shop.items", description="Items on sale", required=frozenset({"item_id"}),
    comments={"item_id": "Item key", "price": "Price in EUR"}, source="shop/contracts/items.yaml",
)


def _items(spark, *ids):
    return spark.createDataFrame([(i, 1.5) for i in ids], "item_id string, price double")


@pytest.mark.parametrize("path", ["arrow", "spark"])
def test_both_write_paths_commit_the_description(spark, tmp_path, monkeypatch, path):
    monkeypatch.setenv("MESH_WRITE_PATH", path)
    uri = tmp_path / "items"
    write_delta(_items(spark, "a", "b"), uri, {}, DESCRIBED)
    write_delta(_items(spark, "a", "b", "c"), uri, {}, DESCRIBED)  # an existing table keeps it
    table = DeltaTable(str(uri))
    fields = {f.name: f for f in table.schema().fields}
    assert fields["item_id"].nullable is False and fields["price"].nullable is True
    assert fields["item_id"].metadata["comment"] == "Item key" and fields["price"].metadata["comment"] == "Price in EUR"
    assert (table.metadata().name, table.metadata().description) == ("shop.items", "Items on sale")
    assert pl.read_delta(str(uri)).sort("item_id")["item_id"].to_list() == ["a", "b", "c"]  # polars reads it

    renamed = TableDescription(name="shop.items", description="Items on sale, now in EUR",
                               required=DESCRIBED.required, comments=DESCRIBED.comments)
    write_delta(_items(spark, "d"), uri, {}, renamed)  # a changed description reaches the table
    assert DeltaTable(str(uri)).metadata().description == "Items on sale, now in EUR"


@pytest.mark.parametrize("path", ["arrow", "spark"])
def test_a_null_in_a_required_column_is_refused_and_the_previous_version_stays(spark, tmp_path, monkeypatch, path):
    monkeypatch.setenv("MESH_WRITE_PATH", path)
    uri = tmp_path / "items"
    write_delta(_items(spark, "a"), uri, {}, DESCRIBED)
    version = DeltaTable(str(uri)).version()
    broken = _items(spark, "b").union(_items(spark, "x").withColumn("item_id", F.lit(None).cast("string")))
    with pytest.raises(RequiredColumnNull) as refused:
        write_delta(broken, uri, {}, DESCRIBED)
    assert str(refused.value).startswith("shop/contracts/items.yaml: required column item_id of shop.items holds")
    assert "declare the column nullable: true" in str(refused.value)
    assert DeltaTable(str(uri)).version() == version
    assert pl.read_delta(str(uri))["item_id"].to_list() == ["a"]


def test_the_sample_contracts_describe_their_tables():
    from mesh_platform.mesh import all_contracts

    contract = all_contracts()["sales.orders"]
    described = delta_description(contract)
    assert described.name == "sales.orders" and described.description == contract.description
    assert described.required >= {c.name for c in contract.columns if not c.nullable} | {"_computed_at"}
    assert described.comments["_product_version"] == "contract version of the build"


def test_every_published_sample_table_describes_itself(mesh_published, lake_root):
    """The sample mesh as Dagster publishes it: every required column non-nullable in the Delta schema."""
    from mesh_platform.mesh import all_contracts

    required = non_nullable = 0
    for contract in all_contracts().values():
        table = DeltaTable(str(product_path(lake_root, contract.domain, contract.asset_name)))
        fields = {f.name: f for f in table.schema().fields}
        assert (table.metadata().name, table.metadata().description) == (contract.key, contract.description)
        for column in contract.columns:
            required += not column.nullable
            non_nullable += not column.nullable and not fields[column.name].nullable
            assert fields[column.name].nullable is column.nullable, f"{contract.key}.{column.name}"
            assert fields[column.name].metadata.get("comment", "") == column.description
    assert required == non_nullable >= 70  # issue 19: 60 of the 76 were nullable
    frame = pl.read_delta(str(product_path(lake_root, "sales", "orders")))
    assert frame.height > 0 and "_computed_at" in frame.columns
