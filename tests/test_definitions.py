"""Every code location in workspace.yaml loads, and its products follow the platform's conventions."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey

from mesh_platform.contracts import ContractError
from mesh_platform.mesh import all_contracts
from mesh_platform.product import domain_definitions

ROOT = Path(__file__).parent.parent
LOCATIONS = [
    entry["python_module"]["module_name"]
    for entry in yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
]


@pytest.mark.parametrize("module", LOCATIONS)
def test_code_location_loads_and_every_job_resolves(module):
    defs = importlib.import_module(module).defs
    job = defs.resolve_implicit_global_asset_job_def()
    if not module.startswith("domains."):
        return  # the governance location: tested in test_governance_compliance.py
    assert job.executor_def.name == "in_process"  # one Spark session per run, not per step
    domain = module.split(".")[1]
    contracts = [c for c in all_contracts().values() if c.domain == domain]
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    for contract in contracts:
        spec = specs[AssetKey([domain, contract.name])]
        assert spec.group_name == domain and spec.owners == [contract.owner]
        assert spec.kinds == {"spark", "deltalake"} and spec.code_version == contract.version
        assert spec.freshness_policy.fail_window.to_timedelta().total_seconds() == contract.sla.freshness_hours * 3600
        assert [c.name for c in spec.metadata["dagster/column_schema"].columns] == list(contract.published_columns)
        assert contract.description.split()[0] in spec.description
    jobs = defs.resolve_all_job_defs()  # resolving raises on a broken graph
    assert jobs and all(job_def.graph.node_defs for job_def in jobs)
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert {"contract_schema", "contract_nullability"} <= checks


def test_dagster_validates_the_whole_workspace():
    result = subprocess.run(
        [Path(sys.executable).parent / "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def _domain(tmp_path: Path, contract_text: str) -> Path:
    folder = tmp_path / "shop" / "contracts"
    folder.mkdir(parents=True)
    (folder / "items.yaml").write_text(contract_text)
    return folder.parent


GOOD = """
name: items
domain: shop
version: 1.0.0
owner: team:shop
description: items
primary_key: [item_id]
sla: {freshness_hours: 1}
schema: [{name: item_id, type: string}]
"""


def test_malformed_contract_fails_the_code_location_load(tmp_path):
    domain = _domain(tmp_path, GOOD.replace("version: 1.0.0", "version: one"))
    with pytest.raises(ContractError, match=r"items\.yaml: version: 'one' is not a semantic version"):
        domain_definitions(domain, types.ModuleType("transforms"))


def test_missing_transform_fails_the_load_naming_the_function_to_write(tmp_path):
    domain = _domain(tmp_path, GOOD)
    with pytest.raises(ContractError, match=r"define `def items\(ctx: BuildContext\) -> DataFrame` in shop_transforms"):
        domain_definitions(domain, types.ModuleType("shop_transforms"))


def test_platform_sensors_tick_at_the_configured_interval(monkeypatch):
    # At hundreds of products the propagation sensors' ticks compete with the UI: the interval is a setting.
    import domains.marketing.transforms as transforms
    from mesh_platform.mesh import domains_dir

    monkeypatch.setenv("MESH_SENSOR_INTERVAL", "120")
    sensors = domain_definitions(domains_dir() / "marketing", transforms).sensors
    assert sorted((s.name, s.minimum_interval_seconds) for s in sensors) == [
        ("marketing_mesh_refresh", 120), ("marketing_propagation", 120), ("marketing_refresh_products", 120),
        ("marketing_sources", 120)]
    monkeypatch.setenv("MESH_SENSOR_INTERVAL", "often")
    with pytest.raises(ValueError, match=r"MESH_SENSOR_INTERVAL='often': expected a whole number of seconds"):
        domain_definitions(domains_dir() / "marketing", transforms)


def test_each_domain_location_has_a_refresh_job_of_all_its_products():
    """The README's "Jobs -> <domain>_refresh -> Launch run"; refresh_mesh lives in governance."""
    import domains.sales.definitions as sales
    import governance.definitions as governance

    repository = sales.defs.get_repository_def()
    assert "sales_refresh" in repository.job_names  # a request; its sensor backfills every product and partition
    keys = {k.to_user_string() for k in repository.get_sensor_def("sales_refresh_products").asset_selection.resolve(
        repository.asset_graph)}
    assert keys == {"sales/orders", "sales/customer_lifetime_value", "sales/order_analytics"}
    assert "refresh_mesh" in governance.defs.get_repository_def().job_names


def test_automation_can_start_paused(monkeypatch):
    """MESH_AUTOMATION=paused: the domain's sensors start stopped; the default is running."""
    from dagster import DefaultSensorStatus

    import domains.marketing.transforms as transforms
    from mesh_platform.mesh import domains_dir

    assert {s.default_status for s in domain_definitions(domains_dir() / "marketing", transforms).sensors} == {
        DefaultSensorStatus.RUNNING}
    monkeypatch.setenv("MESH_AUTOMATION", "paused")
    assert {s.default_status for s in domain_definitions(domains_dir() / "marketing", transforms).sensors} == {
        DefaultSensorStatus.STOPPED}
    monkeypatch.setenv("MESH_AUTOMATION", "off")
    with pytest.raises(ValueError, match=r"MESH_AUTOMATION='off': expected on or paused"):
        domain_definitions(domains_dir() / "marketing", transforms)
