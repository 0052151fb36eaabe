"""The documentation site (`mesh docs build`): hostile contract text stays text, and each page tells a user
where a product is, how to read it and what state it is in. Pages are checked as a browser's HTML parser
sees them (html.parser); the search runs in Debian's Chromium when it is installed."""

from __future__ import annotations

import json
import os
import re
import shlex
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, DagsterInstance
from typer.testing import CliRunner

from mesh_platform.catalog import catalog_entries
from mesh_platform.catalog.site import build_site
from mesh_platform.cli import app
from mesh_platform.contracts.loader import parse_contract
from mesh_platform.mesh import all_contracts

SCRIPT_BREAK = "</script><script>alert('script')</script>"
IMG = '<img src=x onerror="alert(`img`)">'
COMMENT = "<!-- <script>alert('comment')</script>"
HOSTILE = f"Parcels {SCRIPT_BREAK} {IMG} {COMMENT} \"double\" 'single' & done"
HOSTILE_TAG = 'x"><img src=x onerror=alert(3)>'
HOSTILE_OWNER = "team:depot\" onmouseover=\"alert(4)"
BUILT_AT = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
PARCELS = {
    "name": "parcels", "domain": "depot", "version": "1.0.0", "owner": HOSTILE_OWNER, "description": HOSTILE,
    "primary_key": ["parcel_id"], "sources": ["parcels"], "sla": {"freshness_hours": 1}, "tags": [HOSTILE_TAG, "logistics"],
    "schema": [
        {"name": "parcel_id", "type": "string", "nullable": False, "description": HOSTILE},
        {"name": "recipient_email", "type": "string", "pii": True, "classification": "restricted",
         "description": "Where the delivery notice goes"},
    ],
}
PLAIN = {**PARCELS, "name": "vans", "owner": "team:fleet", "description": "Vans of the fleet", "tags": ["fleet"],
         "primary_key": ["van_id"], "sources": ["vans"],
         "schema": [{"name": "van_id", "type": "string", "nullable": False, "description": "Plate number"}]}


class Page(HTMLParser):
    """What a browser's parser makes of a page: its elements, scripts, comments and visible text."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self.comments: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.html = html
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)

    def handle_comment(self, data):
        self.comments.append(data)

    def visible(self) -> str:
        return "".join(self.text)

    def by_id(self, ident: str) -> str:  # the text of the element with that id (ids of leaf elements only)
        html = self.html
        start = html.index(f"id={ident}>") + len(f"id={ident}>")
        return html[start:html.index("</", start)]


@pytest.fixture
def hostile_site(tmp_path) -> Path:
    contracts = {c.key: c for c in (parse_contract(PARCELS, "parcels.yaml"), parse_contract(PLAIN, "vans.yaml"))}
    entries = catalog_entries(contracts, DagsterInstance.ephemeral(), tmp_path / "lake")
    build_site(contracts, entries, tmp_path / "site", BUILT_AT)
    return tmp_path / "site"


def _records(index: Page) -> list[dict]:
    (script,) = index.scripts
    return json.loads(script.split("const products=", 1)[1].split(";const list=", 1)[0])


def test_hostile_contract_text_is_shown_as_text_and_never_becomes_markup(hostile_site):
    index = Page((hostile_site / "index.html").read_text())
    assert [t for t, _ in index.tags] == ["html", "head", "meta", "title", "style", "body", "h1", "input", "p", "p",
                                          "ul", "script", "footer", "time", "code"]  # nothing injected
    assert not index.comments
    (script,) = index.scripts
    assert "</" not in script and "<!--" not in script  # so the parser cannot end the script or open a comment
    records = {r["product"]: r for r in _records(index)}
    assert HOSTILE in records["depot.parcels"]["line"]  # the description, intact, rendered with textContent
    assert "textContent" in script and "innerHTML" not in script

    page = Page((hostile_site / "depot.parcels.html").read_text())
    assert {t for t, _ in page.tags} <= {"html", "head", "meta", "title", "style", "body", "p", "a", "h1", "small", "b",
                                         "h2", "code", "pre", "span", "table", "tr", "th", "td", "ul", "li", "footer",
                                         "time"}
    assert not page.scripts and not page.comments
    assert not [name for _, attrs in page.tags for name in attrs if name.startswith("on")]  # no event handler
    visible = page.visible()
    assert visible.count(HOSTILE) == 2  # the description and the column's, as the contract wrote them
    assert HOSTILE_TAG in visible and HOSTILE_OWNER in visible
    for _, attrs in page.tags:  # quoted attribute values hold the escaped value whole
        assert all('"' not in value for name, value in attrs.items() if name in {"href", "class"}), attrs


def test_index_searches_owners_columns_descriptions_pii_and_tags(hostile_site):
    index = Page((hostile_site / "index.html").read_text())
    records = _records(index)

    def found(query: str) -> list[str]:  # the page's own rule: every word is in the record's text
        return [r["product"] for r in records if all(w in r["text"] for w in query.lower().split())]

    assert found("team:fleet") == ["depot.vans"]  # owner
    assert found("plate number") == ["depot.vans"]  # a column's description
    assert found("recipient_email") == ["depot.parcels"]  # a column
    assert found("pii restricted") == ["depot.parcels"]  # PII and its classification
    assert found("logistics") == ["depot.parcels"]  # a tag
    assert found("no such thing") == []
    script = index.scripts[0]
    assert "No product matches" in script and "empty.hidden=n>0" in script  # the empty result says so


def test_every_page_says_when_the_site_was_built(hostile_site):
    for page in hostile_site.iterdir():
        footer = Page(page.read_text())
        (time_attrs,) = [attrs for tag, attrs in footer.tags if tag == "time"]
        assert time_attrs["datetime"] == "2026-12-01T15:30:00+00:00", page.name
        assert "Site built 2026-12-01 15:30 UTC" in footer.visible(), page.name


@pytest.fixture
def cli(dagster_home, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("COLUMNS", "250")
    return CliRunner()


def test_product_page_shows_location_how_to_read_rows_last_publish_and_latest_checks(
    mesh_published, instance, lake_root, cli, tmp_path
):
    built = cli.invoke(app, ["docs", "build", "--out", str(tmp_path / "site")])
    assert built.exit_code == 0, built.output
    product = "sales.customer_lifetime_value"
    contract = all_contracts()[product]
    page = Page((tmp_path / "site" / f"{product}.html").read_text())
    visible = page.visible()
    assert f"Location {lake_root / 'sales' / 'gold' / 'customer_lifetime_value'}" in visible

    latest = instance.get_latest_materialization_event(AssetKey(["sales", "customer_lifetime_value"]))
    rows = latest.asset_materialization.metadata["dagster/row_count"].value
    assert page.by_id("rows") == f"{rows:,}" and rows > 0
    assert page.by_id("published") == datetime.fromtimestamp(latest.timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
    html = page.html
    latest_checks = {e.product: e.checks for e in catalog_entries(all_contracts(), instance, lake_root)}[product]
    shown = dict(re.findall(r"<tr><td><code>([^<]+)</code></td><td>[^<]+</td><td class=\"[A-Z]+\">([a-z ]+)</td>", html))
    assert shown == {name: {"SUCCEEDED": "passed", "FAILED": "failed"}[s] for name, s in latest_checks.items()}
    assert {"contract_schema", "governance_report"} <= set(shown) and set(shown.values()) == {"passed"}

    # the two ways to read it the page shows, run as shown
    command, snippet = [unescape(code) for code in re.findall(r"<pre><code>(.*?)</code></pre>", html, re.S)]
    python = snippet.splitlines()[-1]
    read = cli.invoke(app, shlex.split(command)[1:] + ["--format", "json"])
    assert read.exit_code == 0, read.output
    assert len(json.loads(read.stdout)) == 20 and set(json.loads(read.stdout)[0]) >= {c.name for c in contract.columns}
    assert python == f"df = read_product({product!r}, as_domain={contract.access.consumers[0]!r})"
    scope: dict = {}
    exec(snippet, scope)  # noqa: S102 (the page's own snippet)
    assert scope["df"].count() == rows


@pytest.mark.slow  # a browser
def test_the_search_runs_in_a_browser_without_running_injected_code(hostile_site):
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not chromium.exists():
        if os.environ.get("MESH_REQUIRE_BROWSER") == "1":
            pytest.fail("playwright and /usr/bin/chromium are needed (MESH_REQUIRE_BROWSER=1)")
        pytest.skip("no playwright or no /usr/bin/chromium")
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: dialogs.append(f"error: {e}"))
            for name in ("index.html", "depot.parcels.html"):
                page.goto((hostile_site / name).as_uri())
                page.mouse.move(200, 200)
            page.goto((hostile_site / "index.html").as_uri())
            assert page.locator("#list li").count() == 2
            assert HOSTILE in page.locator("#list").inner_text()
            page.fill("#q", "team:fleet")
            assert page.locator("#list li").all_inner_texts()[0].startswith("depot.vans")
            page.fill("#q", "pii restricted")
            assert page.locator("#list a").all_inner_texts() == ["depot.parcels"]
            page.fill("#q", "zebra")
            assert page.locator("#list li").count() == 0
            assert page.locator("#empty").inner_text().startswith('No product matches "zebra".')
            assert page.locator("#count").inner_text() == "0 of 2 products"
        finally:
            browser.close()
    assert dialogs == []  # no injected alert ran, no script broke


def test_row_count_after_a_renewal_is_the_count_of_the_build_it_renews(tmp_path):
    from dagster import AssetMaterialization

    contract = parse_contract(PLAIN, "vans.yaml")
    instance = DagsterInstance.ephemeral()
    key = AssetKey(["depot", "vans"])
    instance.report_runless_asset_event(AssetMaterialization(key, metadata={"dagster/row_count": 1234}))
    instance.report_runless_asset_event(AssetMaterialization(key, metadata={"mesh/still_current": True}))
    (entry,) = catalog_entries({contract.key: contract}, instance, tmp_path / "lake")
    assert entry.row_count == 1234 and entry.location == str(tmp_path / "lake" / "depot" / "gold" / "vans")
    instance.report_runless_asset_event(AssetMaterialization(key, metadata={"dagster/row_count": 7}))
    (entry,) = catalog_entries({contract.key: contract}, instance, tmp_path / "lake")
    assert entry.row_count == 7


def test_a_hostile_contract_imported_from_odcs_stays_text_on_its_page(tmp_path):
    from mesh_platform.contracts.odcs import from_odcs, to_odcs

    document = yaml.safe_load(yaml.safe_dump(to_odcs(parse_contract(PARCELS, "parcels.yaml"))))  # a foreign file
    imported = from_odcs(document, "parcels.odcs.yaml")
    assert imported.description == HOSTILE  # import keeps the text as it is: the site is where it must be safe
    entries = catalog_entries({imported.key: imported}, DagsterInstance.ephemeral(), tmp_path / "lake")
    build_site({imported.key: imported}, entries, tmp_path / "site", BUILT_AT)
    page = Page((tmp_path / "site" / "depot.parcels.html").read_text())
    assert "img" not in {t for t, _ in page.tags} and not page.scripts and HOSTILE in page.visible()
    (script,) = Page((tmp_path / "site" / "index.html").read_text()).scripts
    assert "</" not in script and "<!--" not in script
