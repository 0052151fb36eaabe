"""Access policies in the read path: who may read, masking, row filters, and bypass attempts.

Reads run on the mesh published by Dagster (the `mesh_published` fixture), through the read API, the
product factory's dependency reads and the IO manager.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
from pathlib import Path

import pyarrow.compute as pc
import pytest
import yaml
from dagster import AssetIn, asset, materialize
from deltalake import DeltaTable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mesh_platform.access import AccessDenied, read_product
from mesh_platform.access.masking import REDACTED, masking_key
from mesh_platform.access.reader import open_product
from mesh_platform.contracts import ContractError
from mesh_platform.contracts.loader import parse_contract
from mesh_platform.mesh import domains_dir, find_contract
from mesh_platform.product.domain import upstream_stub
from mesh_platform.product.factory import product_asset
from mesh_platform.product.resources import platform_resources
from mesh_platform.storage import product_path, write_arrow

CLV = "sales.customer_lifetime_value"
REVENUE = "finance.revenue_by_nation"


def partial(name: str) -> str:
    return name[: min(3, len(name) // 2)] + "****"


def expected_mask(rule: str, name: str | None, key: bytes) -> str | None:
    if name is None:
        return None
    return {
        "partial_mask": partial(name),
        "hash": hmac.new(key, name.encode(), hashlib.sha256).hexdigest(),
        "redact": REDACTED,
        "null": None,
    }[rule]


def with_access(product: str, **access) -> object:
    """The shipped contract of `product` with another access policy, validated like a contract file."""
    data = find_contract(product).model_dump(by_alias=True, mode="json")
    return parse_contract({**data, "access": access}, f"{product}.yaml")


def clear_names(lake_root: Path) -> dict[str, str]:
    table = DeltaTable(str(product_path(lake_root, "sales", "customer_lifetime_value"))).to_pyarrow_table()
    return dict(zip(table["customer_id"].to_pylist(), table["customer_name"].to_pylist(), strict=True))


def rows(df: DataFrame, *columns: str) -> list[tuple]:
    return [tuple(r) for r in df.select(*columns).collect()]


# --- contracts ----------------------------------------------------------------------------------------

CONTRACT_FILE = domains_dir() / "sales" / "contracts" / "customer_lifetime_value.yaml"


@pytest.mark.parametrize(
    ("access", "field", "problem"),
    [
        ({"row_filters": {"marketing": "segment = "}}, "access.row_filters.marketing", "is not valid Spark SQL"),
        ({"row_filters": {"marketing": "segment = 'gold'; DROP TABLE x"}}, "access.row_filters.marketing",
         "must be one SQL predicate"),
        ({"row_filters": {"marketing": "customer_id IN (SELECT id FROM t)"}}, "access.row_filters.marketing",
         "must not contain a subquery"),
        ({"row_filters": {"marketing": "sum(order_count) > 1"}}, "access.row_filters.marketing", "must not aggregate"),
        ({"row_filters": {"marketing": "region = 'EUROPE'"}}, "access.row_filters.marketing",
         "names columns not in the product: region"),
        ({"row_filters": {"logistics": "segment = 'gold'"}}, "access.row_filters.logistics",
         "logistics is not in access.consumers; add it there or drop the filter"),
        ({"masking": {"customer_name": "partial_mask", "order_count": "hash"}}, "access.masking.order_count",
         "hash applies to string columns and order_count is int; use null"),
        ({"masking": {"nickname": "redact"}}, "access.masking.nickname", "names a column not in the schema"),
        ({"consumers": ["sales", "marketing"]}, "access.consumers", "sales owns the product; list only other domains"),
    ],
)
def test_invalid_access_policies_are_contract_errors_naming_file_and_field(access, field, problem):
    data = yaml.safe_load(CONTRACT_FILE.read_text())
    data["access"] = {"consumers": ["marketing", "finance"], "masking": {"customer_name": "partial_mask"}} | access
    with pytest.raises(ContractError) as error:
        parse_contract(data, str(CONTRACT_FILE))
    message = str(error.value)
    assert message.startswith(f"{CONTRACT_FILE}: {field}: ") and problem in message, message


def test_a_denied_dependency_fails_its_code_location_load(tmp_path):
    from mesh_platform.governance import lint_domain
    from mesh_platform.product.domain import domain_definitions

    root = tmp_path / "domains"
    shutil.copytree(domains_dir() / "sales", root / "sales", ignore=shutil.ignore_patterns("__pycache__"))
    contracts = root / "logistics" / "contracts"
    contracts.mkdir(parents=True)
    (contracts / "route_plan.yaml").write_text(yaml.safe_dump({
        "name": "route_plan", "domain": "logistics", "version": "1.0.0", "owner": "team:logistics",
        "description": "Routes by customer", "primary_key": ["customer_id"],
        "dependencies": [{"product": CLV}], "sla": {"freshness_hours": 24},
        "schema": [{"name": "customer_id", "type": "string", "nullable": False}],
    }))
    expected = (
        "dependencies[0].product: logistics.route_plan consumes sales.customer_lifetime_value, whose contract "
        "does not allow logistics (it allows marketing, finance, executive). Fix: ask its owner team:sales: "
        "mesh access request sales.customer_lifetime_value --as logistics"
    )
    assert any(expected in v.line() for v in lint_domain(root / "logistics"))

    class Transforms:
        __name__ = "logistics.transforms"

        @staticmethod
        def route_plan(ctx):
            return ctx.product(CLV).select("customer_id")

    with pytest.raises(ContractError, match="ACCESS-001") as error:
        domain_definitions(root / "logistics", Transforms)
    assert expected in str(error.value)


# --- the read API ---------------------------------------------------------------------------------------

def test_owner_reads_clear_values_and_consumers_see_the_contracts_mask(mesh_published, spark, instance, lake_root):
    clear = clear_names(lake_root)
    owner = dict(rows(read_product(CLV, "sales", spark=spark, instance=instance), "customer_id", "customer_name"))
    assert owner == clear
    consumer = dict(rows(read_product(CLV, "marketing", spark=spark, instance=instance), "customer_id", "customer_name"))
    assert consumer.keys() == clear.keys()
    assert all(consumer[k] == partial(clear[k]) for k in clear) and not set(consumer.values()) & set(clear.values())


@pytest.mark.parametrize("rule", ["partial_mask", "hash", "redact", "null"])
def test_each_masking_rule_in_the_read_path(mesh_published, spark, lake_root, rule):
    contract = with_access(CLV, consumers=["marketing"], masking={"customer_name": rule})
    read = open_product(spark, contract, "marketing", lake_root)
    seen = dict(rows(read.df, "customer_id", "customer_name"))
    key = masking_key(lake_root)
    assert seen == {k: expected_mask(rule, v, key) for k, v in clear_names(lake_root).items()}
    assert dict(read.df.dtypes)["customer_name"] == "string"  # a consumer's schema does not depend on its access


def test_hashed_keys_still_join_across_products(mesh_published, spark, lake_root):
    hashed = {"customer_id": "hash"}
    orders = open_product(spark, with_access("sales.orders", consumers=["marketing"], masking=hashed), "marketing", lake_root).df
    clv = open_product(spark, with_access(CLV, consumers=["marketing"], masking={**hashed, "customer_name": "null"}),
                       "marketing", lake_root).df
    clear_orders = open_product(spark, find_contract("sales.orders"), "sales", lake_root).df
    clear_clv = open_product(spark, find_contract(CLV), "sales", lake_root).df
    assert orders.join(clv, "customer_id").count() == clear_orders.join(clear_clv, "customer_id").count() > 0
    assert not {r[0] for r in rows(clv, "customer_id")} & {r[0] for r in rows(clear_clv, "customer_id")}


def test_row_filter_limits_a_consumer_to_its_rows(mesh_published, spark, instance, lake_root):
    table = DeltaTable(str(product_path(lake_root, "finance", "revenue_by_nation"))).to_pyarrow_table()
    europe = pc.sum(pc.equal(table["region_name"], "EUROPE")).as_py()
    marketing = read_product(REVENUE, "marketing", spark=spark, instance=instance)
    assert {r[0] for r in rows(marketing, "region_name")} == {"EUROPE"} and marketing.count() == europe > 0
    assert read_product(REVENUE, "finance", spark=spark, instance=instance).count() == table.num_rows > europe


def test_a_consumer_not_in_the_contract_is_denied_and_nothing_is_audited(mesh_published, spark, instance, lake_root):
    from mesh_platform.access.audit import reads

    before = len(reads(lake_root, REVENUE))
    with pytest.raises(AccessDenied) as error:
        read_product(REVENUE, "sales", spark=spark, instance=instance)
    assert str(error.value) == (
        "sales may not read finance.revenue_by_nation: its contract allows executive, marketing; ask its owner "
        "team:finance (mesh access request finance.revenue_by_nation --as sales --reason '...')"
    )
    assert len(reads(lake_root, REVENUE)) == before


def test_masks_and_filters_cannot_be_bypassed(mesh_published, spark, lake_root, tmp_path):
    # A lake of our own with two versions of each product, so that older versions can be read.
    lake = tmp_path / "lake"
    for domain, name in [("sales", "customer_lifetime_value"), ("finance", "revenue_by_nation")]:
        source = product_path(lake_root, domain, name)
        shutil.copytree(source, product_path(lake, domain, name))
        write_arrow(DeltaTable(str(source)).to_pyarrow_table(), product_path(lake, domain, name))
    clear = set(clear_names(lake_root).values())
    clv = find_contract(CLV)

    df = open_product(spark, clv, "marketing", lake).df
    df.createOrReplaceTempView("clv_as_marketing")
    attempts = {
        "selected column": open_product(spark, clv, "marketing", lake, columns=["customer_name"]).df,
        "alias": df.select(F.col("customer_name").alias("name")),
        "expression": df.selectExpr("upper(customer_name) AS shout", "customer_name || '' AS raw"),
        "SQL over a view": spark.sql("SELECT customer_name FROM clv_as_marketing"),
        "older version": open_product(spark, clv, "marketing", lake, version=0).df.select("customer_name"),
    }
    for label, attempt in attempts.items():
        values = {v for r in attempt.collect() for v in r}
        assert values and not values & clear and not {v.lower() for v in values if v} & {c.lower() for c in clear}, label
    assert df.where(F.col("customer_name") == sorted(clear)[0]).count() == 0  # no probing by predicate

    revenue = find_contract(REVENUE)
    for version in (None, 0):
        filtered = open_product(spark, revenue, "marketing", lake, version=version, columns=["nation_name"]).df
        assert filtered.count() > 0 and filtered.where("nation_name NOT IN ('FRANCE', 'GERMANY', 'ROMANIA', "
                                                       "'RUSSIA', 'UNITED KINGDOM')").count() == 0
        full = open_product(spark, revenue, "marketing", lake, version=version).df
        assert full.where("region_name <> 'EUROPE'").count() == 0
    with pytest.raises(ValueError, match="has no version 7"):
        open_product(spark, revenue, "marketing", lake, version=7)


# --- Dagster: the product factory and the IO manager ---------------------------------------------------

WATCH = {
    "name": "customer_watch", "domain": "finance", "version": "1.0.0", "owner": "team:finance",
    "description": "Platinum customers as finance sees them", "primary_key": ["customer_id"],
    "dependencies": [{"product": CLV}], "sla": {"freshness_hours": 24},
    "schema": [
        {"name": "customer_id", "type": "string", "nullable": False},
        {"name": "customer_name", "type": "string", "pii": True},
        {"name": "segment", "type": "string", "nullable": False},
    ],
    "access": {"masking": {"customer_name": "redact"}},
}


@pytest.mark.parametrize("rule", ["partial_mask", "hash", "redact", "null"])
def test_a_dependency_is_read_masked_and_filtered_in_a_dagster_build(mesh_published, instance, lake_root, rule):
    upstream = with_access(CLV, consumers=["finance"], masking={"customer_name": rule},
                           row_filters={"finance": "segment = 'platinum'"})
    watch = parse_contract(WATCH, "customer_watch.yaml")
    built = product_asset(watch, lambda ctx: ctx.product(CLV).select("customer_id", "customer_name", "segment"),
                          {CLV: upstream})
    result = materialize([upstream_stub(CLV), built], resources=platform_resources("finance"), instance=instance)
    assert result.success
    published = DeltaTable(str(product_path(lake_root, "finance", "customer_watch"))).to_pyarrow_table()
    clv = DeltaTable(str(product_path(lake_root, "sales", "customer_lifetime_value"))).to_pyarrow_table()
    platinum = {i: n for i, n, s in zip(*(clv[c].to_pylist() for c in ("customer_id", "customer_name", "segment")),
                                        strict=True) if s == "platinum"}
    key = masking_key(lake_root)
    assert set(published["segment"].to_pylist()) == {"platinum"}
    assert dict(zip(published["customer_id"].to_pylist(), published["customer_name"].to_pylist(), strict=True)) == {
        i: expected_mask(rule, n, key) for i, n in platinum.items()
    }


def test_unified_customer_view_sees_sales_names_masked_and_joins_on_keys(mesh_published, lake_root):
    view = DeltaTable(str(product_path(lake_root, "marketing", "unified_customer_view"))).to_pyarrow_table()
    clear = clear_names(lake_root)
    seen = dict(zip(view["customer_id"].to_pylist(), view["customer_name"].to_pylist(), strict=True))
    assert seen == {k: partial(v) for k, v in clear.items()}  # every customer joined, none in clear
    assert pc.sum(pc.is_valid(view["marketing_segment"])).as_py() > 0.4 * view.num_rows  # keys still join


def test_io_manager_inputs_follow_the_same_policy(mesh_published, instance, lake_root):
    clear = clear_names(lake_root)

    @asset(key=["marketing", "name_peek"], ins={"clv": AssetIn(key=["sales", "customer_lifetime_value"])})
    def allowed(clv: DataFrame) -> None:
        names = dict(rows(clv, "customer_id", "customer_name"))
        assert names == {k: partial(v) for k, v in clear.items()}

    @asset(key=["supply_chain", "name_peek"], ins={"clv": AssetIn(key=["sales", "customer_lifetime_value"])})
    def denied(clv: DataFrame) -> None:
        raise AssertionError("a denied input must not load")

    assert materialize([upstream_stub(CLV), allowed], resources=platform_resources("marketing"), instance=instance).success
    result = materialize([upstream_stub(CLV), denied], resources=platform_resources("supply_chain"), instance=instance,
                         raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    cause = failure.event_specific_data.error.cause
    assert cause.cls_name == "AccessDenied"
    assert cause.message.startswith("mesh_platform.access.policy.AccessDenied: supply_chain may not read sales.")
