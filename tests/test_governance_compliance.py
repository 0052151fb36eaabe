"""The mesh-wide compliance asset: share of products passing governance, by domain."""

from __future__ import annotations

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    SensorResult,
    SkipReason,
    build_sensor_context,
    materialize,
)
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from governance.definitions import defs
from mesh_platform.mesh import all_contracts

compliance = defs.get_assets_def(AssetKey(["governance", "compliance"]))


def _materialize(instance):
    result = materialize([compliance], instance=instance)
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_compliance_counts_products_passing_by_domain(mesh_published, instance):
    everything = _materialize(instance)
    assert everything["mesh_compliance"] == 1.0
    assert {k: v for k, v in everything.items() if k.startswith("compliance_")} == {
        "compliance_finance": 1.0, "compliance_marketing": 1.0, "compliance_sales": 1.0, "compliance_supply_chain": 1.0}

    # a later verdict on sales.orders' data fails its governance report: sales drops to 2 of 3
    instance.report_runless_asset_event(AssetCheckEvaluation(
        asset_key=AssetKey(["sales", "orders"]), check_name="governance_report", passed=False, metadata={},
        severity=AssetCheckSeverity.ERROR))
    degraded = _materialize(instance)
    assert degraded["compliance_sales"] == 2 / 3 and degraded["compliance_marketing"] == 1.0
    assert degraded["mesh_compliance"] == 10 / 11
    assert "| sales.orders | no | 0 | failed |" in degraded["products"]


def test_governance_assets_are_no_products_child_and_recompute_when_one_publishes():
    """No lineage edge to the products (a catalog would draw the council's assets as every product's child);
    the governance_propagation sensor follows the products' data versions instead: a publish requests one run
    of the three council assets, a renewal (same data version) none."""
    council = [AssetKey(["governance", n]) for n in ("compliance", "mesh_health", "cost")]
    graph = defs.resolve_asset_graph()
    assert all(not graph.get(key).parent_keys for key in council)
    assert not graph.has(AssetKey(["sales", "orders"]))  # products are not even stubs here

    sensor = defs.get_sensor_def("governance_propagation")
    orders, clv = AssetKey(["sales", "orders"]), AssetKey(["sales", "customer_lifetime_value"])

    def publish(instance, key, version):
        instance.report_runless_asset_event(AssetMaterialization(asset_key=key, tags={DATA_VERSION_TAG: version}))

    def tick(instance, cursor):
        with build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
            result = sensor(context)
        return result, context.cursor if not isinstance(result, SensorResult) else result.cursor

    products = [AssetKey([c.domain, c.asset_name]) for c in all_contracts().values()]
    with DagsterInstance.ephemeral() as instance:
        for key in products[:-1]:
            publish(instance, key, "v1")
        result, cursor = tick(instance, None)
        assert str(result.skip_message) == "1 of 11 products never published"  # a filling mesh: wait
        publish(instance, products[-1], "v1")
        result, cursor = tick(instance, cursor)
        (request,) = result.run_requests
        assert sorted(request.asset_selection) == sorted(council)
        publish(instance, orders, "v1")  # a renewal: checked, still current
        assert isinstance(tick(instance, cursor)[0], SkipReason)
        publish(instance, clv, "v2")
        result, cursor = tick(instance, cursor)
        assert [r.tags["mesh/changed_products"] for r in result.run_requests] == ["sales/customer_lifetime_value"]


def test_a_failed_contract_check_judging_a_policy_counts_against_compliance(mesh_published, instance):
    """The gate leaves schema, null and key breaches to the contract checks (reported once, there), so
    compliance reads those checks' verdicts too."""
    key = AssetKey(["finance", "revenue_by_nation"])

    def schema_check(passed: bool) -> None:
        instance.report_runless_asset_event(AssetCheckEvaluation(
            asset_key=key, check_name="contract_schema", passed=passed, metadata={},
            severity=AssetCheckSeverity.ERROR))

    schema_check(False)  # the governance report of that build passed: nothing of its own to say
    degraded = _materialize(instance)
    assert degraded["compliance_finance"] == 1 / 2
    assert "| finance.revenue_by_nation | no | 0 | failed |" in degraded["products"]
    schema_check(True)  # a later build with the contract's columns
    assert _materialize(instance)["compliance_finance"] == 1.0
