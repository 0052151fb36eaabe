"""A fresh `dagster dev` fills the mesh with no click, and the UI's refresh launches rebuild what they promise.

One real `dagster dev` on a fresh instance and a freshly seeded lake (nothing materialized). Nobody
launches anything until the automation daemon has built every product; the browser then shows each one
materialized and fresh. Then the two documented refreshes are launched from the browser, as the README says:
`sales_refresh` (sales and everything downstream of it, in other code locations too) and governance's
`refresh_mesh` (the whole mesh).

The sensors tick every few seconds here (MESH_SENSOR_INTERVAL): what they do is what a user gets, only sooner.
"""

import os
import re
import shutil
import time

import pytest
from playwright.sync_api import expect

from dagster_dev import ROOT, dagster_dev
from test_ui_browser import browser, page, screenshot, status_field  # noqa: F401 (fixtures), skips without a browser

pytestmark = [
    pytest.mark.slow,
    # What this tests is the automation and the UI, which do not depend on the engine; CI runs it once, in
    # its Sail pass, where a run starts in a second (the JVM's start per run is measured by bench/fresh_dev_fill.py).
    pytest.mark.skipif(os.environ.get("MESH_UI_FILL_TEST") == "off", reason="MESH_UI_FILL_TEST=off (CI runs it "
                       "in the Sail pass)"),
]

SCALE = float(os.environ.get("MESH_TEST_SCALE", "0.01"))
FILL_TIMEOUT = float(os.environ.get("MESH_FILL_TIMEOUT", "1500"))  # seconds; 2 shared cores, one JVM per run

RUNS = """{ runsOrError { ... on Runs { results { runId status jobName
    repositoryOrigin { repositoryLocationName } tags { key value } } } } }"""

MATERIALIZATIONS = """query($key: AssetKeyInput!) { assetOrError(assetKey: $key) { ... on Asset {
    assetMaterializations { runId timestamp partition } } } }"""



def _products() -> dict[str, set[str]]:
    """Every built product of the mesh ("domain/name") and the products it reads."""
    from mesh_platform.contracts.lifecycle import today
    from mesh_platform.mesh import all_contracts

    return {f"{c.domain}/{c.asset_name}": {f"{d.domain}/{d.name}" for d in c.dependencies}
            for c in all_contracts().values() if not c.retired(today())}


PRODUCTS = _products()


def _downstream(of: set[str]) -> set[str]:
    found, frontier = set(), set(of)
    while frontier:
        frontier = {p for p, deps in PRODUCTS.items() if deps & frontier} - found
        found |= frontier
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from domains.seeding.bronze import seed

    lake = tmp_path_factory.mktemp("fresh_lake")
    seed(lake, SCALE)
    home = tmp_path_factory.mktemp("fresh_dagster_home")
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    with dagster_dev(home, lake, {"MESH_SENSOR_INTERVAL": "5"}) as running:
        running.wait_for_locations()
        running.graphql("mutation { setNuxSeen }")  # the newsletter dialog a new instance greets localhost with
        yield running


def _runs(server) -> list[dict]:
    runs = server.graphql(RUNS)["runsOrError"]["results"]
    for run in runs:
        run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
        run["location"] = run["repositoryOrigin"]["repositoryLocationName"]
    return runs


def _built(server, key: str) -> list[dict]:
    """The materializations of `key` by a run (a renewal has none), newest first."""
    found = server.graphql(MATERIALIZATIONS, {"key": {"path": key.split("/")}})["assetOrError"]
    return [m for m in (found or {}).get("assetMaterializations", []) if m["runId"]]


def _wait_until_built(server, keys, since_runs: dict[str, str | None], timeout: float) -> dict[str, dict]:
    """Until each of `keys` has a build by a successful run other than `since_runs[key]`; fails fast on a failed run."""
    deadline = time.monotonic() + timeout
    while True:
        runs = {r["runId"]: r for r in _runs(server)}
        failed = [r for r in runs.values() if r["status"] == "FAILURE"]
        assert not failed, f"runs failed: {[(r['runId'], r['jobName'], r['location']) for r in failed]}; see {server.log}"
        latest = {k: next(iter(_built(server, k)), None) for k in keys}
        done = {k: m for k, m in latest.items() if m and m["runId"] != since_runs.get(k)
                and runs.get(m["runId"], {}).get("status") == "SUCCESS"}
        if len(done) == len(keys):
            return done
        if time.monotonic() > deadline:
            raise TimeoutError(f"not built within {timeout:.0f} s: {sorted(set(keys) - set(done))}; see {server.log}")
        time.sleep(5)


def _wait_until_built_for(server, keys, request: str, timeout: float) -> dict[str, str]:
    """Until each of `keys` has a build by a successful run tagged with the refresh `request`: its run id."""
    deadline = time.monotonic() + timeout
    while True:
        runs = {r["runId"]: r for r in _runs(server) if r["tags"].get("mesh/refresh_request") == request}
        failed = [r["runId"] for r in runs.values() if r["status"] == "FAILURE"]
        assert not failed, f"runs of refresh {request} failed: {failed}; see {server.log}"
        done = {k: m["runId"] for k in keys for m in _built(server, k)
                if runs.get(m["runId"], {}).get("status") == "SUCCESS"}
        if len(done) == len(keys):
            return done
        if time.monotonic() > deadline:
            raise TimeoutError(f"not built for {request} within {timeout:.0f} s: {sorted(set(keys) - set(done))}")
        time.sleep(5)


def test_a_fresh_dagster_dev_fills_the_whole_mesh_with_no_click(server, page, screenshot):
    started = time.monotonic()
    built = _wait_until_built(server, PRODUCTS, {}, FILL_TIMEOUT)
    print(f"mesh filled by the daemon in {time.monotonic() - started:.0f} s after the locations loaded")

    # Nobody clicked: every run was launched by a sensor or a schedule (the governance location's maintenance
    # schedules may tick meanwhile), and every product was built by its own location's automation sensor.
    runs = _runs(server)
    by_hand = [r for r in runs if not {"dagster/sensor_name", "dagster/schedule_name"} & set(r["tags"])]
    assert not by_hand, by_hand
    builders = {_built(server, k)[-1]["runId"] for k in PRODUCTS}
    assert {(r["location"], r["tags"].get("dagster/sensor_name")) for r in runs if r["runId"] in builders} == {
        (d, f"{d}_propagation") for d in ("sales", "supply_chain", "marketing", "finance")}
    # Dependency order across code locations: a product's first build comes after each input's first build.
    first = {k: float(_built(server, k)[-1]["timestamp"]) for k in PRODUCTS}
    for product, deps in PRODUCTS.items():
        for dep in deps:
            assert first[dep] < first[product], f"{product} was built before its input {dep}"

    for key in PRODUCTS:  # what the browser shows: materialized by the run that built it, and fresh
        server.wait_for_freshness(key, "HEALTHY")
        page.goto(f"{server.url}/assets/{key}")
        latest = status_field(page, "Latest materialization")
        expect(latest.locator(f'a[href^="/runs/{built[key]["runId"]}"]')).to_be_visible()
        expect(status_field(page, "Freshness policy")).to_contain_text("Passing")
    screenshot(page, "mesh-filled-product")  # the last product's page: materialized, checks, Passing


def test_refreshing_sales_from_its_job_rebuilds_what_reads_it_in_other_locations(server, page):
    sales = {k for k in PRODUCTS if k.startswith("sales/")}
    consumers = _downstream(sales) - sales
    assert {k.split("/")[0] for k in consumers} >= {"marketing"}
    before = {k: _built(server, k)[0]["runId"] for k in PRODUCTS}

    # The README's way: Overview -> Jobs -> sales_refresh -> Launchpad -> Launch run; the UI opens the request run.
    page.goto(f"{server.url}/locations/sales/jobs/sales_refresh/playground")
    page.get_by_role("button").filter(has_text=re.compile(r"^Launch run$", re.I)).click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"))
    request = re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)
    assert server.wait_for_run(request) == "SUCCESS"
    # Its sensor backfills every sales product, every month of sales.orders in one run (its backfill policy).
    # (The sales automation may rebuild a consumer of orders again meanwhile: the builds asked for are looked for.)
    refreshed = _wait_until_built_for(server, sales, request, 900)
    runs = {r["runId"]: r for r in _runs(server)}
    assert all("dagster/backfill" in runs[run]["tags"] for run in refreshed.values())
    orders_run = runs[refreshed["sales/orders"]]["tags"]
    assert (orders_run["dagster/asset_partition_range_start"], orders_run["dagster/asset_partition_range_end"]) == (
        "1992-01", "1998-08")
    months = server.graphql(MATERIALIZATIONS, {"key": {"path": ["sales", "orders"]}})["assetOrError"]
    rebuilt_months = {m["partition"] for m in months["assetMaterializations"] if m["runId"] == refreshed["sales/orders"]}
    assert len(rebuilt_months) == 80  # every partition, by that one run
    rebuilt = _wait_until_built(server, consumers, before, 900)
    runs = {r["runId"]: r for r in _runs(server)}
    for key, materialization in rebuilt.items():  # by the consumer's own location's automation
        run = runs[materialization["runId"]]
        assert run["tags"].get("dagster/sensor_name") == f"{key.split('/')[0]}_propagation", (key, run)
    time.sleep(15)  # three more sensor ticks: nothing outside sales' downstream was rebuilt
    untouched = set(PRODUCTS) - sales - consumers
    assert untouched and {k: _built(server, k)[0]["runId"] for k in untouched} == {k: before[k] for k in untouched}


def test_refresh_mesh_from_the_governance_location_rebuilds_every_product(server, page):
    before = {k: _built(server, k)[0]["runId"] for k in PRODUCTS}
    # The README's way: Overview -> Jobs -> refresh_mesh -> Launchpad -> Launch run; the UI opens the run.
    page.goto(f"{server.url}/locations/governance/jobs/refresh_mesh/playground")
    page.get_by_role("button").filter(has_text=re.compile(r"^Launch run$", re.I)).click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"))
    request = re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)
    assert server.wait_for_run(request) == "SUCCESS"
    rebuilt = _wait_until_built(server, PRODUCTS, before, FILL_TIMEOUT)
    runs = {r["runId"]: r for r in _runs(server)}
    roots = {k for k, deps in PRODUCTS.items() if not deps}
    for key, materialization in rebuilt.items():
        run = runs[materialization["runId"]]
        domain = key.split("/")[0]
        if key in roots:  # launched by its domain's mesh-refresh sensor, for this request
            assert run["tags"].get("dagster/sensor_name") == f"{domain}_mesh_refresh", (key, run)
            assert run["tags"].get("mesh/refresh_request") == request
        else:  # rebuilt after its inputs by its domain's automation
            assert run["tags"].get("dagster/sensor_name") == f"{domain}_propagation", (key, run)
