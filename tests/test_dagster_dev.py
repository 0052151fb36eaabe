"""The platform as a user meets it: a real `dagster dev` over the whole workspace, driven over GraphQL."""

from __future__ import annotations

import time

import pytest
from deltalake import DeltaTable

from dagster_dev import LAUNCH, dagster_dev

pytestmark = [pytest.mark.slow, pytest.mark.engine_independent]  # the UI, daemons and runs, not engine values: one pass (Sail)

NODES = """
{ assetNodes { assetKey { path } groupName isMaterializable owners { ... on TeamAssetOwner { team } } kinds
    dependencyKeys { path } repository { location { name } }
    internalFreshnessPolicy { ... on TimeWindowFreshnessPolicy { failWindowSeconds } }
    assetChecksOrError { ... on AssetChecks { checks { name blocking executionForLatestMaterialization { status } } } }
} }"""

LATEST = """
query($key: AssetKeyInput!) { assetOrError(assetKey: $key) { ... on Asset {
    assetMaterializations(limit: 1) { runId timestamp } } } }"""

USAGE = """
query($key: AssetKeyInput!) { assetOrError(assetKey: $key) { ... on Asset {
    assetObservations(limit: 20) { runId metadataEntries { label
        ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } } } } } }"""


@pytest.fixture(scope="module")
def server(dagster_home, mesh_published, seeded_lake):
    with dagster_dev(dagster_home, seeded_lake) as running:
        assert sorted(running.wait_for_locations()) == ["finance", "governance", "marketing", "sales", "supply_chain"]
        yield running
        _wait_until_no_run_in_progress(running)
    assert running.process.poll() is not None  # stopped cleanly, with its process group


IN_PROGRESS = """{ runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) {
    ... on Runs { results { runId } } } }"""


def _wait_until_no_run_in_progress(server, timeout: float = 240) -> None:
    """The daemon's propagation settles before the server stops: a run killed with it would leave its checks
    planned on the session's instance, which the later tests read as the products' latest verdicts."""
    deadline, quiet = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and quiet < 3:
        quiet = 0 if server.graphql(IN_PROGRESS)["runsOrError"]["results"] else quiet + 1
        time.sleep(2)


def _nodes(server) -> dict[str, dict]:
    return {"/".join(n["assetKey"]["path"]): n for n in server.graphql(NODES)["assetNodes"]}


def _launch(server, location: str, *keys: str) -> str:
    result = server.graphql(LAUNCH, {"location": location, "keys": [{"path": k.split("/")} for k in keys]})
    launched = result["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _latest(server, key: str) -> dict | None:
    found = server.graphql(LATEST, {"key": {"path": key.split("/")}})["assetOrError"]["assetMaterializations"]
    return found[0] if found else None


def test_every_product_is_served_with_checks_owners_and_freshness(server):
    nodes = _nodes(server)
    products = {k: n for k, n in nodes.items() if n["isMaterializable"] and n["groupName"] != "governance"}
    assert len(products) == 11 and {n["groupName"] for n in products.values()} == {
        "sales", "supply_chain", "marketing", "finance"}
    clv = products["sales/customer_lifetime_value"]
    assert clv["internalFreshnessPolicy"]["failWindowSeconds"] == 4 * 3600
    assert clv["owners"] == [{"team": "sales"}] and set(clv["kinds"]) == {"spark", "deltalake"}
    assert products["marketing/unified_customer_view"]["internalFreshnessPolicy"]["failWindowSeconds"] == 8 * 3600
    checks = {c["name"]: c for c in products["sales/order_analytics"]["assetChecksOrError"]["checks"]}
    assert checks["contract_primary_key"]["blocking"] and "max_fulfilled_share" in checks


def test_lineage_crosses_code_locations(server):
    nodes = _nodes(server)
    unified = nodes["marketing/unified_customer_view"]
    assert {"/".join(k["path"]) for k in unified["dependencyKeys"]} == {
        "sales/customer_lifetime_value", "marketing/customer_segments", "supply_chain/delivery_preferences"}
    # the upstream nodes in the global graph are the publishing domains' own, materializable assets
    assert nodes["sales/customer_lifetime_value"]["repository"]["location"]["name"] == "sales"
    assert nodes["supply_chain/delivery_preferences"]["isMaterializable"]


def test_a_product_materialized_from_the_ui_api_shows_its_checks(server, seeded_lake):
    # An unpartitioned product: a partition-less launch of a partitioned one (revenue_by_nation) is refused.
    table = DeltaTable(str(seeded_lake / "finance" / "gold" / "pricing_summary"))
    before = table.version()
    assert server.wait_for_run(_launch(server, "finance", "finance/pricing_summary")) == "SUCCESS"
    table.update_incremental()
    assert table.version() == before + 1
    node = _nodes(server)["finance/pricing_summary"]
    statuses = {c["name"]: c["executionForLatestMaterialization"]["status"] for c in node["assetChecksOrError"]["checks"]}
    assert set(statuses.values()) == {"SUCCEEDED"}, statuses


def test_publishing_upstream_rebuilds_downstream_domain_under_the_daemon(server, seeded_lake):
    before = _latest(server, "marketing/unified_customer_view")
    assert server.wait_for_run(_launch(server, "sales", "sales/customer_lifetime_value")) == "SUCCESS"
    # The daemon may also be propagating other changes (a source observation rebuilding sales.orders and so
    # CLV once more): wait until marketing's product is rebuilt from the CLV version that is current by then.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        latest = _latest(server, "marketing/unified_customer_view")
        if latest and latest["runId"] != before["runId"] and server.wait_for_run(latest["runId"]) == "SUCCESS":
            table = DeltaTable(str(seeded_lake / "marketing" / "gold" / "unified_customer_view")).to_pyarrow_table()
            clv_version = DeltaTable(str(seeded_lake / "sales" / "gold" / "customer_lifetime_value")).version()
            if f"sales.customer_lifetime_value@v{clv_version}" in table["_source_products"][0].as_py():
                break
        time.sleep(5)
    else:
        raise AssertionError(f"marketing/unified_customer_view was not rebuilt from the current CLV; see {server.log}")

    # marketing's read of sales' product shows as usage on the sales asset, from that run (the daemon may have
    # launched another consumer's run since: its read is recorded too, so look for this run's)
    usage = server.graphql(USAGE, {"key": {"path": ["sales", "customer_lifetime_value"]}})["assetOrError"]
    observations = [o for o in usage["assetObservations"] if o["runId"] == latest["runId"]]
    assert observations, f"no usage observation from run {latest['runId']}"
    observation = observations[0]
    entries = {e["label"]: e.get("intValue", e.get("text")) for e in observation["metadataEntries"]}
    assert entries["usage/last_consumer"] == "marketing" and entries["usage/read_count"] >= 2
    assert "marketing" in entries["usage/consumers"].split(", ")


def test_run_history_persists_in_the_instance_across_processes(server, mesh_published):
    """Runs launched by `mesh materialize` in another process are served from the on-disk instance."""
    runs = server.graphql("""{ runsOrError(filter: {tags: [{key: "mesh/launched_by", value: "mesh-cli"}]}) {
        ... on Runs { results { runId status } } } }""")["runsOrError"]["results"]
    by_id = {r["runId"]: r["status"] for r in runs}
    assert {r.run_id for r in mesh_published.values()} <= set(by_id)
    assert set(by_id[r.run_id] for r in mesh_published.values()) == {"SUCCESS"}
