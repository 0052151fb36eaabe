"""The `dg` workflow (dagster-dg-cli) over the sample mesh: the real `dg` command, run as a user runs it,
sees a domain's products and contract checks exactly as its code location defines them."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_dev import DagsterDev, free_port, stop, wait_until_serving
from mesh_platform.dg import PROJECT_TOML, dg_config_errors, workspace_toml

pytestmark = pytest.mark.engine_independent  # no Spark: CI runs it once, in the default-engine (Sail) pass

ROOT = Path(__file__).parent.parent
DG = str(Path(sys.executable).parent / "dg")
DOMAINS = ["sales", "supply_chain", "marketing", "finance"]


@pytest.fixture(scope="module")
def dg_env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("dg_home")
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    # Nothing of the mesh is installed or on PYTHONPATH: the platform finds it from the folder dg runs in.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "DAGSTER_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
            "MESH_LAKE_ROOT": str(tmp_path_factory.mktemp("dg_lake"))}


def run_dg(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([DG, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def location_defs(domain: str):
    """What `dagster dev -w workspace.yaml` loads for the domain: the reference dg must agree with."""
    defs = importlib.import_module(f"domains.{domain}.definitions").defs
    graph = defs.resolve_asset_graph()
    assets = {key.to_user_string() for key in graph.get_all_asset_keys()}
    checks = {f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys}
    return assets, checks


def test_dg_config_lists_every_code_location_of_workspace_yaml():
    assert dg_config_errors(ROOT) == []
    for domain in DOMAINS:
        assert (ROOT / "domains" / domain / "dg.toml").read_text() == PROJECT_TOML


def test_dg_config_errors_name_the_missing_project(tmp_path):
    (tmp_path / "workspace.yaml").write_text(
        "load_from:\n"
        "  - python_module: {module_name: domains.sales.definitions, location_name: sales}\n"
        "  - python_module: {module_name: domains.hr.definitions, location_name: hr}\n"
        "  - python_module: {module_name: mesh_platform.governance.definitions, location_name: governance}\n"
    )
    (tmp_path / "dg.toml").write_text(workspace_toml(["domains/sales", "domains/old"]))
    (tmp_path / "domains" / "sales").mkdir(parents=True)
    (tmp_path / "domains" / "sales" / "dg.toml").write_text(PROJECT_TOML)
    dg_toml = tmp_path / "dg.toml"
    assert dg_config_errors(tmp_path) == [
        f"{dg_toml}: workspace.yaml loads domains.hr.definitions but [workspace] projects lacks it; "
        'add { path = "domains/hr" }',
        f"{dg_toml}: project domains/old is no code location of workspace.yaml; "
        "remove it or add its definitions module to workspace.yaml",
        f"{tmp_path / 'domains/hr/dg.toml'}: missing, so dg cannot load domains.hr.definitions; "
        "write it with mesh_platform.dg.write_project",
    ]


def test_dg_list_defs_in_a_domain_lists_its_products_and_contract_checks(dg_env):
    result = run_dg(["list", "defs", "--json"], ROOT / "domains" / "sales", dg_env)
    assert result.returncode == 0, result.stderr[-3000:]
    listed = json.loads(result.stdout)
    assets, checks = location_defs("sales")
    assert {a["asset_key"] for a in listed["assets"]} == assets
    assert {c["key"] for c in listed["asset_checks"]} == checks
    # The products of the domain's contracts, with the contracts' quality rules as checks.
    assert {"sales/orders", "sales/order_analytics", "sales/customer_lifetime_value"} <= assets
    assert "sales/orders:min_order_date" in checks
    orders = next(a for a in listed["assets"] if a["asset_key"] == "sales/orders")
    assert orders["group_name"] == "sales" and orders["owners"] == [{"team": "sales"}]


def test_dg_check_defs_loads_a_domain_and_the_whole_mesh(dg_env):
    domain = run_dg(["check", "defs"], ROOT / "domains" / "marketing", dg_env)
    assert domain.returncode == 0, domain.stderr[-3000:]
    assert "All definitions loaded successfully." in domain.stdout
    # At the root, the workspace: every domain, each in its own code server on this environment's Python.
    mesh = run_dg(["check", "defs", "--use-active-venv"], ROOT, dg_env)
    assert mesh.returncode == 0, mesh.stderr[-3000:]
    assert "All definitions loaded successfully." in mesh.stdout


def test_dg_check_defs_fails_with_the_platforms_error(dg_env):
    broken = run_dg(["check", "defs"], ROOT / "domains" / "finance", {**dg_env, "MESH_SOURCES_PROFILE": "no/such"})
    assert broken.returncode == 1
    assert "MESH_SOURCES_PROFILE='no/such': expected a name such as postgres" in broken.stdout + broken.stderr


@pytest.mark.slow
def test_dg_dev_in_a_domain_serves_its_products_and_checks(dg_env, tmp_path):
    port = free_port()
    log = tmp_path / "dg-dev.log"
    with open(log, "w") as out:
        process = subprocess.Popen([DG, "dev", "-h", "127.0.0.1", "-p", str(port)], cwd=ROOT / "domains" / "sales",
                                   env=dg_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = DagsterDev(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_serving(server)
        assert server.wait_for_locations() == ["sales"]
        nodes = server.graphql("""{ assetNodes { assetKey { path } isMaterializable
            assetChecksOrError { ... on AssetChecks { checks { name } } } } }""")["assetNodes"]
        served = {"/".join(n["assetKey"]["path"]) for n in nodes if n["isMaterializable"]}
        checks = {f"{'/'.join(n['assetKey']['path'])}:{c['name']}"
                  for n in nodes for c in (n["assetChecksOrError"].get("checks") or [])}
        assets, expected_checks = location_defs("sales")
        assert {"sales/orders", "sales/order_analytics", "sales/customer_lifetime_value"} <= served <= assets
        assert checks == expected_checks
    finally:
        stop(process)


def test_mesh_lint_refuses_a_code_location_dg_would_not_see(tmp_path):
    """`mesh lint` in a mesh that is a dg workspace: a workspace.yaml location missing from dg.toml fails it."""
    mesh = tmp_path / "mesh"
    shutil.copytree(ROOT / "domains", mesh / "domains", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "governance", mesh / "governance", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("mesh.yaml", "workspace.yaml", "dg.toml"):
        shutil.copyfile(ROOT / name, mesh / name)
    mesh_cli = str(Path(sys.executable).parent / "mesh")
    assert subprocess.run([mesh_cli, "lint"], cwd=mesh, capture_output=True, text=True).returncode == 0
    (mesh / "dg.toml").write_text((mesh / "dg.toml").read_text().replace('    { path = "governance" },\n', ""))
    result = subprocess.run([mesh_cli, "lint"], cwd=mesh, capture_output=True, text=True)
    assert result.returncode == 1
    assert "LAYOUT" in result.stdout and 'workspace.yaml loads governance.definitions but [workspace] projects lacks it' \
        in result.stdout.replace("\n", "")
