"""The sales products, materialized through Dagster, equal an independent DuckDB computation."""

from __future__ import annotations

import pytest
from deltalake import DeltaTable

import oracle
from compare import assert_same_rows
from mesh_platform.mesh import all_contracts

KEYS = {
    "orders": ["order_id"],
    "customer_lifetime_value": ["customer_id"],
    "order_analytics": ["order_month", "order_priority"],
}


@pytest.mark.parametrize("product", sorted(KEYS))
def test_sales_product_equals_independent_computation(sales_published, tpch_dir, seeded_lake, product):
    actual = oracle.published(seeded_lake, "sales", product)
    expected = getattr(oracle, f"sales_{product}")(tpch_dir)
    assert_same_rows(actual, expected, KEYS[product])


@pytest.mark.parametrize("product", sorted(KEYS))
def test_published_table_carries_audit_columns_and_contract_schema(sales_published, seeded_lake, product):
    contract = all_contracts()[f"sales.{product}"]
    table = DeltaTable(str(seeded_lake / "sales" / "gold" / product))
    assert [f.name for f in table.schema().fields] == list(contract.published_columns)
    data = table.to_pandas(columns=["_product_version", "_computed_at"])
    assert set(data["_product_version"]) == {contract.version}
    assert data["_computed_at"].nunique() == 1  # one build time per publish, not per row
    assert sales_published[f"sales.{product}"].row_count == len(data)


def test_segments_cover_the_thresholds(sales_published, seeded_lake):
    clv = oracle.published(seeded_lake, "sales", "customer_lifetime_value")
    for segment, low, high in [("platinum", 1e6, float("inf")), ("gold", 5e5, 1e6),
                               ("silver", 2.5e5, 5e5), ("bronze", -float("inf"), 2.5e5)]:
        scores = clv.loc[clv.segment == segment, "ltv_score"]
        assert ((scores >= low) & (scores < high)).all(), segment
