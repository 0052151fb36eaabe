"""The catalog, the documentation site and ODCS interoperability, over the published mesh."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from mesh_platform.catalog import catalog_entries, search
from mesh_platform.cli import app
from mesh_platform.contracts import load_contract
from mesh_platform.contracts.odcs import from_odcs, odcs_schema_errors, to_odcs
from mesh_platform.mesh import all_contracts


@pytest.fixture
def cli(dagster_home, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("COLUMNS", "250")
    return CliRunner()


def test_catalog_entries_join_contracts_with_state_usage_and_lineage(mesh_published, instance, lake_root):
    entries = {e.product: e for e in catalog_entries(all_contracts(), instance, lake_root)}
    assert len(entries) == 11 and {e.freshness for e in entries.values()} == {"fresh"}
    clv = entries["sales.customer_lifetime_value"]
    assert clv.version == "1.0.0" and clv.sla_hours == 4 and clv.pii_columns == ["customer_name"]
    assert set(clv.checks) >= {"contract_schema", "governance_report"} and not clv.checks_failed
    assert clv.depends_on == ["sales.orders"] and clv.used_by == ["marketing.unified_customer_view"]
    assert entries["sales.orders"].used_by == [
        "marketing.campaign_attribution", "sales.customer_lifetime_value", "sales.order_analytics"]
    assert clv.reads >= 1  # marketing's build read it

    found = lambda **kw: sorted(e.product for e in search(list(entries.values()), **kw))  # noqa: E731
    assert found(text="engagement segment") == ["marketing.customer_segments", "marketing.unified_customer_view"]
    assert found(owner="finance") == ["finance.pricing_summary", "finance.revenue_by_nation"]
    assert found(column="customer_name") == found(pii=True) == [
        "marketing.unified_customer_view", "sales.customer_lifetime_value"]
    assert found(domain="supply_chain", tag="delivery") == [
        "supply_chain.delivery_preferences", "supply_chain.supplier_performance"]


def test_mesh_catalog_lists_searches_and_shows(mesh_published, cli):
    listed = cli.invoke(app, ["catalog", "--pii", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [e["product"] for e in json.loads(listed.stdout)] == [
        "marketing.unified_customer_view", "sales.customer_lifetime_value"]
    shown = cli.invoke(app, ["catalog", "show", "finance.revenue_by_nation"])
    assert shown.exit_code == 0 and "region_name" in shown.stdout and "state: fresh" in shown.stdout
    assert "rows marketing sees: region_name = 'EUROPE'" in shown.stdout
    assert cli.invoke(app, ["catalog", "show", "finance.nope"]).exit_code == 2


def test_docs_site_has_a_page_per_product_and_a_searchable_index(mesh_published, cli, tmp_path):
    result = cli.invoke(app, ["docs", "build", "--out", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    pages = {p.name for p in (tmp_path / "site").iterdir()}
    assert pages == {"index.html", *(f"{key}.html" for key in all_contracts())}
    index = (tmp_path / "site" / "index.html").read_text()
    assert all(f'"product": "{key}"' in index for key in all_contracts()) and "oninput" in index
    page = (tmp_path / "site" / "sales.customer_lifetime_value.html").read_text()
    assert "<code>customer_name</code>" in page and "partial_mask" in page
    assert '<a href="marketing.unified_customer_view.html">' in page


def test_every_contract_exports_to_valid_odcs_and_round_trips():
    for key, contract in all_contracts().items():
        document = to_odcs(contract)
        assert odcs_schema_errors(document) == [], key
        assert from_odcs(yaml.safe_load(yaml.safe_dump(document)), key) == contract, key


def test_odcs_export_and_import_commands(cli, tmp_path):
    exported = cli.invoke(app, ["export", "--format", "odcs", "--out", str(tmp_path / "odcs")])
    assert exported.exit_code == 0, exported.output
    document = tmp_path / "odcs" / "finance.revenue_by_nation.odcs.yaml"
    assert yaml.safe_load(document.read_text())["apiVersion"] == "v3.1.0"
    domains = tmp_path / "domains"
    imported = cli.invoke(app, ["import", "--format", "odcs", str(document), "--domains-dir", str(domains)])
    assert imported.exit_code == 0, imported.output
    created = domains / "finance" / "contracts" / "revenue_by_nation.yaml"
    assert load_contract(created) == all_contracts()["finance.revenue_by_nation"]
    again = cli.invoke(app, ["import", str(document), "--domains-dir", str(domains)])
    assert again.exit_code == 2 and "exists; pass --force" in again.output

    broken = yaml.safe_load(document.read_text())
    del broken["version"]
    broken["kind"] = "Contract"
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    refused = cli.invoke(app, ["import", str(tmp_path / "broken.yaml"), "--domains-dir", str(domains), "--force"])
    assert refused.exit_code == 2
    assert f"{tmp_path / 'broken.yaml'}: (top level): 'version' is a required property" in refused.output.replace("\n", "")
    assert cli.invoke(app, ["export", "--format", "dbt"]).exit_code == 2
