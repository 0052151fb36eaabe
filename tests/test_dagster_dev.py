"""Smoke test of the platform as a user meets it: a real `dagster dev`, driven over GraphQL."""

from __future__ import annotations

import pytest
from deltalake import DeltaTable

from dagster_dev import dagster_dev

pytestmark = pytest.mark.slow

ASSETS = """
{ assetNodes(group: {groupName: "sales", repositoryName: "__repository__", repositoryLocationName: "sales"}) {
    assetKey { path } isMaterializable owners { ... on TeamAssetOwner { team } } kinds
    internalFreshnessPolicy { ... on TimeWindowFreshnessPolicy { failWindowSeconds } }
    assetChecksOrError { ... on AssetChecks { checks { name blocking executionForLatestMaterialization { status } } } }
} }"""

LAUNCH = """
mutation($keys: [AssetKeyInput!]) {
  launchPipelineExecution(executionParams: {
      selector: {repositoryLocationName: "sales", repositoryName: "__repository__",
                 pipelineName: "__ASSET_JOB", assetSelection: $keys},
      mode: "default"}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}"""


def test_dagster_dev_serves_sales_products_and_materializes_one(tmp_path, sales_published, seeded_lake):
    with dagster_dev(tmp_path / "dagster_home", seeded_lake) as server:
        assert "sales" in server.wait_for_locations()
        nodes = {"/".join(n["assetKey"]["path"]): n for n in server.graphql(ASSETS)["assetNodes"]}
        products = {k: n for k, n in nodes.items() if n["isMaterializable"]}
        assert set(products) == {"sales/orders", "sales/customer_lifetime_value", "sales/order_analytics"}
        assert {"sales/bronze/orders", "sales/bronze/order_lines", "sales/bronze/customer"} <= set(nodes)
        clv = products["sales/customer_lifetime_value"]
        assert clv["internalFreshnessPolicy"]["failWindowSeconds"] == 4 * 3600
        assert clv["owners"] == [{"team": "sales"}] and set(clv["kinds"]) == {"spark", "deltalake"}
        checks = {c["name"]: c for c in products["sales/order_analytics"]["assetChecksOrError"]["checks"]}
        assert checks["contract_primary_key"]["blocking"] and "max_fulfilled_share" in checks

        table = DeltaTable(str(seeded_lake / "sales" / "gold" / "order_analytics"))
        before = table.version()
        launched = server.graphql(LAUNCH, {"keys": [{"path": ["sales", "order_analytics"]}]})
        result = launched["launchPipelineExecution"]
        assert result["__typename"] == "LaunchRunSuccess", result
        assert server.wait_for_run(result["run"]["runId"]) == "SUCCESS"

        table.update_incremental()
        assert table.version() == before + 1
        after = server.graphql(ASSETS)["assetNodes"]
        analytics = next(n for n in after if n["assetKey"]["path"] == ["sales", "order_analytics"])
        statuses = {c["name"]: c["executionForLatestMaterialization"]["status"]
                    for c in analytics["assetChecksOrError"]["checks"]}
        assert set(statuses.values()) == {"SUCCEEDED"}, statuses
    assert server.process.poll() is not None  # stopped cleanly, with its process group
