"""The Dagster UI as a user sees it: Debian's Chromium, driven by Playwright, against a real `dagster dev`.

Assertions are on what the browser renders (group and asset nodes, lineage edges, check rows, status
tags); GraphQL only finds ids and cross-checks. Screenshots of each page are kept as test artifacts in
$MESH_UI_SCREENSHOTS (default: a pytest temp folder), and refreshed in docs/screenshots/ when
MESH_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from dagster_dev import ROOT, dagster_dev

pytestmark = [pytest.mark.slow, pytest.mark.engine_independent]  # the UI, daemons and runs, not engine values: one pass (Sail)

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox (root in a container); no GPU; and no background traffic: the test network is closed.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOMAINS = ["sales", "marketing", "supply_chain", "finance"]
STALE_PRODUCT = "finance/revenue_by_nation"  # 24 h SLA; materialized two days ago before the server starts
UI_PRODUCT = "supply_chain/supplier_performance"  # materialized from the browser; its bronze sources are seeded
PARTITIONED_PRODUCT = "sales/orders"  # monthly, 1992-01 .. 1998-08: a few months backfilled from the browser
BACKFILLED = ["1998-06", "1998-07", "1998-08"]


def _missing_browser() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[test]')"
    return None if CHROMIUM.exists() else f"no Chromium at {CHROMIUM} (apt-get install chromium)"


if missing := _missing_browser():
    if os.environ.get("MESH_REQUIRE_BROWSER") == "1":  # set by .ci/run: in CI this test must run
        pytest.fail(missing, pytrace=False)
    pytest.skip(missing, allow_module_level=True)

from playwright.sync_api import Locator, Page, expect, sync_playwright  # noqa: E402

# Pages load slowly while Spark runs share the machine's cores; a missing element still fails in 30 s.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def ui_home(tmp_path_factory, seeded_lake, spark) -> Path:
    """A fresh instance holding one product last materialized two days ago (a breached 24 h SLA).

    Freshness is judged on the materialization's timestamp, which Dagster takes from its own clock:
    freezing that clock in the past while building is the one real way to get an old materialization.
    """
    from dagster import DagsterInstance
    from dagster._core.test_utils import freeze_time

    from mesh_platform.runner import materialize_domain

    home = tmp_path_factory.mktemp("ui_dagster_home")
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    domain, product = STALE_PRODUCT.split("/")
    with DagsterInstance.from_config(str(home)) as instance, freeze_time(time.time() - 2 * 86400):
        (built,) = materialize_domain(domain, [f"{domain}.{product}"], instance)
    assert built.ok, built
    return home


@pytest.fixture(scope="module")
def server(ui_home, seeded_lake):
    # Automation paused: these tests stage what the UI shows (a product never materialized, one past its SLA);
    # the daemon would fill and renew them. test_ui_fills_itself.py tests the UI with automation on.
    with dagster_dev(ui_home, seeded_lake, {"MESH_AUTOMATION": "paused"}) as running:
        running.wait_for_locations()
        # On localhost Dagster greets a new instance with a newsletter dialog over the page; dismiss it once.
        running.graphql("mutation { setNuxSeen }")
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Page:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def screenshot(tmp_path_factory):
    folder = Path(os.environ.get("MESH_UI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    docs = ROOT / "docs" / "screenshots" if os.environ.get("MESH_UPDATE_SCREENSHOTS") == "1" else None

    def save(page: Page, name: str) -> None:
        page.screenshot(path=folder / f"{name}.png", full_page=True)
        if docs:
            docs.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / f"{name}.png", docs / f"{name}.png")

    return save


def status_field(page: Page, label: str) -> Locator:
    """A field of the asset page's Status section: its label and, beside it, its value."""
    return page.get_by_text(label, exact=True).first.locator("xpath=..")


def test_global_lineage_shows_every_domain_and_a_cross_domain_edge(server, page, screenshot):
    page.goto(f"{server.url}/asset-groups")
    expect(page.get_by_text("Global asset lineage")).to_be_visible()
    group_nodes = page.locator("foreignObject.group")  # the graph's collapsed group boxes, not the sidebar
    for group in [*DOMAINS, "governance"]:
        expect(group_nodes.get_by_text(group, exact=True)).to_be_visible()
    expect(group_nodes.get_by_text(re.compile("fetching statuses"))).to_have_count(0)  # loaded, for the picture
    screenshot(page, "lineage-global")

    # The URL the UI itself produces for this selection with both groups expanded: one sales product and
    # the marketing product that consumes it, each in its domain's group.
    selection = 'key:"sales/orders" or key:"marketing/campaign_attribution"'
    expanded = "global@global:sales,global@global:marketing"
    page.goto(f"{server.url}/asset-groups~{quote(selection, safe='')}?expanded={quote(expanded)}")
    graph = page.locator("foreignObject")
    for name in ["sales", "marketing", "orders", "campaign_attribution"]:
        expect(graph.get_by_text(name, exact=True)).to_be_visible()
    # With just these two nodes on the canvas, the one edge drawn is the one between the domains.
    expect(page.locator("svg path[marker-end]")).to_have_count(1)
    expect(graph.get_by_text(re.compile(r"^Loading"))).to_have_count(0)  # node statuses in, for the picture
    screenshot(page, "lineage-cross-domain")


def test_a_product_past_its_sla_shows_as_failing_freshness(server, page, screenshot):
    server.wait_for_freshness(STALE_PRODUCT, "DEGRADED")  # the freshness daemon has judged it
    page.goto(f"{server.url}/assets/{STALE_PRODUCT}")
    expect(status_field(page, "Latest materialization")).to_contain_text("2 days ago")
    expect(status_field(page, "Freshness policy")).to_contain_text("Failed")
    expect(page.get_by_text("Fails if more than 24 hours since last materialization")).to_be_visible()
    screenshot(page, "freshness-failing")


def _run_id(server, prefix: str) -> str:
    runs = server.graphql("{ runsOrError(limit: 20) { ... on Runs { results { runId } } } }")["runsOrError"]["results"]
    (run_id,) = [r["runId"] for r in runs if r["runId"].startswith(prefix)]
    return run_id


def _check_names(server, key: str) -> list[str]:
    query = """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {
        ... on AssetNode { assetChecksOrError { ... on AssetChecks { checks { name } } } } } }"""
    node = server.graphql(query, {"key": {"path": key.split("/")}})["assetNodeOrError"]
    return [c["name"] for c in node["assetChecksOrError"]["checks"]]


def test_a_product_materialized_from_the_ui_shows_its_run_and_passed_checks(server, page, screenshot):
    page.goto(f"{server.url}/assets/{UI_PRODUCT}")
    expect(status_field(page, "Latest materialization")).to_contain_text("Never materialized")

    # Products need no run config, so Dagster launches the run at once (no launchpad) and says so in a toast.
    page.get_by_role("button").filter(has_text=re.compile(r"^Materialize$")).click()
    launched = page.get_by_text(re.compile(r"^Launched run [0-9a-f]{8}$"))
    expect(launched).to_be_visible()
    run_id = _run_id(server, launched.inner_text().split()[-1])
    assert server.wait_for_run(run_id) == "SUCCESS"

    page.reload()
    # The latest materialization now links to the run launched from the button.
    expect(status_field(page, "Latest materialization").locator(f'a[href^="/runs/{run_id}"]')).to_be_visible()

    page.get_by_role("tab", name="Checks").click()
    names = _check_names(server, UI_PRODUCT)
    assert len(names) >= 10  # the contract's checks: schema, nullability, key, quality rules, governance, drift
    expect(page.get_by_text(f"Checks ({len(names)})", exact=True)).to_be_visible()
    for name in names:  # each check's row: its name and the status of its latest execution
        expect(page.locator(f'[title="{name}"]').locator("xpath=..")).to_contain_text("Succeeded")
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()  # the selected check's evaluation result
    screenshot(page, "asset-checks")


BACKFILL = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs(limit: 10) { runId status tags { key value } } } } }"""

PARTITION_STATS = """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {
    ... on AssetNode { partitionStats { numMaterialized numPartitions } } } }"""

PARTITION_MATERIALIZATIONS = """query($key: AssetKeyInput!, $partitions: [String!]) { assetOrError(assetKey: $key) {
    ... on Asset { assetMaterializations(partitions: $partitions) { partition runId } } } }"""


def _wait_for_backfill(server, backfill_id: str, timeout: float = 900) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        backfill = server.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill["status"] not in ("REQUESTED", "CANCELING", "FAILING"):
            return backfill
        if time.monotonic() > deadline:
            raise TimeoutError(f"backfill {backfill_id} still {backfill['status']} after {timeout:.0f} s; see {server.log}")
        time.sleep(3)


def test_a_backfill_of_a_few_partitions_launched_from_the_ui_publishes_exactly_them(
        server, page, screenshot, seeded_lake):
    import pyarrow as pa
    from deltalake import DeltaTable

    from mesh_platform.storage.layout import product_path

    page.goto(f"{server.url}/assets/{PARTITIONED_PRODUCT}")
    # A partitioned asset's Materialize opens the partition dialog: type the range, launch the backfill.
    page.get_by_role("button").filter(has_text=re.compile(r"^Materialize")).first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Backfills all partitions in a single run.")  # the products' backfill policy
    selection = dialog.get_by_placeholder(re.compile(r"^ex: 1992-01"))  # the partition selection, a range allowed
    selection.fill(f"[{BACKFILLED[0]}...{BACKFILLED[-1]}]")
    selection.press("Enter")
    expect(dialog.get_by_text(f"{len(BACKFILLED)} partitions", exact=True)).to_be_visible()
    launch = dialog.get_by_role("button", name="Launch backfill")
    expect(launch).to_be_enabled()
    screenshot(page, "backfill-partitions")
    launch.click()
    created = page.get_by_text(re.compile(r"^Created backfill"))
    expect(created).to_be_visible()
    backfill_id = created.inner_text().split()[-1]

    backfill = _wait_for_backfill(server, backfill_id)
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), (backfill, server.log)
    (run,) = backfill["runs"]  # the single-run backfill policy: the three months in one run
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert run["status"] == "SUCCESS"
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        BACKFILLED[0], BACKFILLED[-1])
    found = server.graphql(PARTITION_MATERIALIZATIONS, {"key": {"path": PARTITIONED_PRODUCT.split("/")}})
    built = {m["partition"]: m["runId"] for m in found["assetOrError"]["assetMaterializations"]}
    assert built == {key: run["runId"] for key in BACKFILLED}  # those months, by that run, and no other

    # The Delta table: one commit, by that run, of those months, whose files sit under each partition's folder.
    table = DeltaTable(str(product_path(seeded_lake, *PARTITIONED_PRODUCT.split("/"))))
    latest = table.history(1)[0]
    assert latest.get("mesh.partitions") == f"{BACKFILLED[0]}..{BACKFILLED[-1]}", latest
    files = pa.table(table.get_add_actions(flatten=True)).column("path").to_pylist()
    months = {f.split("/")[1] for f in files if f.startswith("partitions/")}
    assert months >= set(BACKFILLED), files  # (a lake shared with other tests may hold more months)
    stats = server.graphql(PARTITION_STATS, {"key": {"path": PARTITIONED_PRODUCT.split("/")}})["assetNodeOrError"]
    assert stats["partitionStats"] == {"numMaterialized": len(BACKFILLED), "numPartitions": 80}

    page.goto(f"{server.url}/assets/{PARTITIONED_PRODUCT}?view=partitions")
    expect(page.get_by_text(BACKFILLED[-1], exact=True).first).to_be_visible()
    screenshot(page, "backfill-partitions-materialized")
