"""The mesh health scorecard of the shipped mesh, against values worked out by hand from its contracts."""

from __future__ import annotations

import json

import pytest
from dagster import AssetKey, DagsterInstance, materialize
from typer.testing import CliRunner

from mesh_platform.cli import app
from mesh_platform.mesh import all_contracts
from mesh_platform.monitoring.health import discoverability, mesh_health
from mesh_platform.runner import materialize_domain

# CDR: products consuming another domain's product / products of the domain.
#   marketing: campaign_attribution (sales.orders) and unified_customer_view (sales, supply_chain) of 3
#   sales, finance, supply_chain: none of their products reads another domain.
CDR = {"finance": 0.0, "marketing": round(2 / 3, 4), "sales": 0.0, "supply_chain": 0.0}
# Discoverability = 0.4 x documented columns + 0.3 x guarded columns + 0.3 x declared lineage. Every
# shipped column is documented and every product declares its lineage; unguarded columns (no rule, not
# in the key, nullable): unified_customer_view 3 of 14 (customer_name, preferred_channel,
# preferred_delivery_speed); every other product guards all its columns.
MARKETING = (1.0 + 1.0 + (0.7 + 0.3 * 11 / 14)) / 3
DISCOVERABILITY = {"finance": 1.0, "marketing": round(MARKETING, 4), "sales": 1.0, "supply_chain": 1.0}


def test_discoverability_weights_what_a_consumer_needs():
    contract = all_contracts()["marketing.unified_customer_view"]
    assert discoverability(contract) == pytest.approx(0.4 + 0.3 * 11 / 14 + 0.3)
    bare = contract.model_copy(update={"columns": [c.model_copy(update={"description": ""}) for c in contract.columns],
                                       "sources": [], "dependencies": [], "quality": []})
    assert discoverability(bare) == pytest.approx(0.3 * 7 / 14)  # only non-null / key columns still guarded


def test_scorecard_of_the_shipped_mesh(seeded_lake, spark, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    runner = CliRunner()
    before = json.loads(runner.invoke(app, ["health", "--format", "json"]).output)
    instance = DagsterInstance.get()
    assert {r["domain"]: r["cross_domain_dependency_ratio"] for r in before} == CDR
    assert {r["domain"]: r["discoverability"] for r in before} == DISCOVERABILITY
    assert {r["domain"]: r["products"] for r in before} == {"finance": 2, "marketing": 3, "sales": 3, "supply_chain": 3}
    assert all(r["governance_compliance"] == r["freshness_compliance"] == 0 for r in before)  # nothing built yet
    assert [r["cdr_within_target"] for r in before] == [True, False, True, True]

    results = materialize_domain("finance", ["finance.pricing_summary", "finance.revenue_by_nation"], instance)
    assert all(r.status == "published" for r in results)
    after = {r.domain: r for r in mesh_health(all_contracts(), instance)}
    assert (after["finance"].governance_compliance, after["finance"].freshness_compliance) == (1.0, 1.0)
    assert (after["sales"].governance_compliance, after["sales"].freshness_compliance) == (0.0, 0.0)

    from governance.definitions import defs as governance_defs

    health_asset = governance_defs.get_assets_def(AssetKey(["governance", "mesh_health"]))

    result = materialize([health_asset], instance=instance, selection=[AssetKey(["governance", "mesh_health"])])
    metadata = result.asset_materializations_for_node("governance__mesh_health")[0].metadata
    assert metadata["marketing/cross_domain_dependency_ratio"].value == CDR["marketing"]
    assert metadata["finance/freshness_compliance"].value == 1.0
    assert "| marketing | 3 | 0.67 (over target) |" in metadata["scorecard"].value
