"""A new team's mesh from the command line: `mesh init`, `mesh new domain`, `mesh new product`.

The files are written in-process (typer's CliRunner); what a user then runs, `mesh lint` and the code
locations' load, runs in a subprocess from the new mesh's folder with only the platform importable (a
folder holding nothing but a link to mesh_platform/), so nothing of this repository's domains/ can leak in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mesh_platform.cli import app
from mesh_platform.config import find_mesh
from mesh_platform.dg import dg_config_errors
from mesh_platform.governance.rules import KNOWN_RULES

pytestmark = pytest.mark.engine_independent  # no Spark: CI runs it once, in the default-engine (Sail) pass

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
MESH_ENV = ("MESH_ROOT", "MESH_LAKE_ROOT", "MESH_AS_OF", "MESH_SOURCES_PROFILE", "DAGSTER_HOME")
INVOICES = """\
sources:
  - name: invoices
    kind: files
    description: Invoices landed as CSV by the billing system.
    files: {path: landing/invoices, format: csv}
    columns: {id: bigint, customer: string, amount: "decimal(12,2)", issued_on: date, paid_amount: double,
              created_at: string, account_key: bigint}
"""
# Imports each code location of the mesh as `dagster dev` would (from its folder) and reports its graph.
LOAD = """
import importlib, json, sys
found = {}
for module in sys.argv[1:]:
    graph = importlib.import_module(module).defs.resolve_asset_graph()
    found[module] = {"assets": sorted(k.to_user_string() for k in graph.get_all_asset_keys()),
                     "checks": sorted(f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys)}
import domains

found["domains_package"] = domains.__file__
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def platform_only(tmp_path_factory) -> Path:
    """A PYTHONPATH entry holding the platform and nothing else of this repository."""
    folder = tmp_path_factory.mktemp("platform_only")
    (folder / "mesh_platform").symlink_to(ROOT / "mesh_platform")
    return folder


def _env(platform_only: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in MESH_ENV}
    return {**env, "PYTHONPATH": str(platform_only), "COLUMNS": "250"}


def _mesh(folder: Path, platform_only: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "mesh"), *args], cwd=folder, env=_env(platform_only),
                          capture_output=True, text=True, timeout=300)


def _load(folder: Path, platform_only: Path, *modules: str) -> dict:
    result = subprocess.run([sys.executable, "-c", LOAD, *modules], cwd=folder, env=_env(platform_only),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _run(folder: Path, *args: str):
    """`mesh ARGS` in-process, from `folder`."""
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        os.chdir(cwd)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def acme(tmp_path, monkeypatch) -> Path:
    for name in MESH_ENV:
        monkeypatch.delenv(name, raising=False)
    result = _run(tmp_path, "init", "acme")
    assert result.exit_code == 0, result.output
    return tmp_path / "acme"


@pytest.fixture
def billing(acme) -> Path:
    result = _run(acme, "new", "domain", "billing")
    assert result.exit_code == 0, result.output
    (acme / "domains" / "billing" / "sources.yaml").write_text(INVOICES)
    return acme


def test_init_writes_a_mesh_that_lints_and_loads_its_governance_location(acme, platform_only):
    assert sorted(_tree(acme)) == [
        ".gitignore", "README.md", "ci/run", "dagster.yaml", "dg.toml", "domains/__init__.py", "governance/__init__.py",
        "governance/definitions.py", "governance/dg.toml", "governance/policies.yaml", "mesh.yaml", "pyproject.toml",
        "workspace.yaml",
    ]
    config = find_mesh(acme)
    assert (config.name, config.root, config.domains_dir, config.policies_file, config.lake_root) == (
        "acme", acme.resolve(), acme.resolve() / "domains", acme.resolve() / "governance/policies.yaml",
        acme.resolve() / ".lake")
    assert f'"mesh-platform[dg]=={metadata.version("mesh-platform")}"' in (acme / "pyproject.toml").read_text()
    assert dg_config_errors(acme) == []  # a dg workspace whose projects are workspace.yaml's locations
    # the council's defaults cover every rule the platform enforces, each at CRITICAL
    policies = yaml.safe_load((acme / "governance/policies.yaml").read_text())["rules"]
    assert set(policies) == KNOWN_RULES and {p["severity"] for p in policies.values()} == {"CRITICAL"}
    assert yaml.safe_load((acme / "dagster.yaml").read_text())["telemetry"] == {"enabled": False}
    assert {".lake/", ".dagster/"} <= set((acme / ".gitignore").read_text().split())
    assert os.access(acme / "ci/run", os.X_OK) and "mesh lint" in (acme / "ci/run").read_text()
    assert "mesh new domain" in (acme / "README.md").read_text()
    assert yaml.safe_load((acme / "workspace.yaml").read_text())["load_from"] == [
        {"python_module": {"module_name": "governance.definitions", "location_name": "governance"}}]

    lint = subprocess.run([str(BIN / "mesh"), "lint"], cwd=acme, env=_env(platform_only), capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    loaded = _load(acme, platform_only, "governance.definitions")
    assert loaded["governance.definitions"]["assets"] == [
        "governance/compliance", "governance/cost", "governance/lake_vacuum", "governance/mesh_health"]
    assert loaded["domains_package"] == str(acme.resolve() / "domains" / "__init__.py")


def test_new_domain_adds_a_location_that_loads_without_products(acme, platform_only):
    workspace_before = (acme / "workspace.yaml").read_text()
    result = _run(acme, "new", "domain", "billing")
    assert result.exit_code == 0, result.output
    assert "domains/billing/sources.yaml" in result.output
    domain = acme / "domains" / "billing"
    assert sorted(_tree(domain)) == ["__init__.py", "contracts/README.md", "definitions.py", "dg.toml",
                                     "policies.yaml", "sources.yaml", "transforms.py"]
    assert dg_config_errors(acme) == []  # listed in the root dg.toml as well
    assert (domain / "definitions.py").read_text().count("\n") <= 6
    assert "only tighten" in (domain / "policies.yaml").read_text()
    workspace = (acme / "workspace.yaml").read_text()
    assert workspace.splitlines()[:2] == workspace_before.splitlines()[:2]  # its comments stay
    assert yaml.safe_load(workspace)["load_from"] == [
        {"python_module": {"module_name": "domains.billing.definitions", "location_name": "billing"}},
        {"python_module": {"module_name": "governance.definitions", "location_name": "governance"}},
    ]
    assert _mesh(acme, platform_only, "lint").returncode == 0
    # no source, no product: an empty location that loads
    assert _load(acme, platform_only, "domains.billing.definitions")["domains.billing.definitions"] == {
        "assets": [], "checks": []}
    # with a declared source and still no product: its source is observed from day one
    (domain / "sources.yaml").write_text(INVOICES)
    assert _load(acme, platform_only, "domains.billing.definitions")["domains.billing.definitions"] == {
        "assets": ["billing/bronze/invoices"],
        "checks": ["billing/bronze/invoices:source_columns"]}


def test_new_product_from_a_source_lints_and_loads_with_its_checks(billing, platform_only):
    result = _run(billing, "new", "product", "billing.invoices", "--from-source", "invoices")
    assert result.exit_code == 0, result.output
    assert "next: edit domains/billing/contracts/invoices.yaml" in result.output
    assert "mesh materialize --select billing/invoices" in result.output
    contract = yaml.safe_load((billing / "domains/billing/contracts/invoices.yaml").read_text())
    assert (contract["owner"], contract["sources"], contract["primary_key"]) == (
        "team:billing", ["invoices"], ["invoice_id"])
    # named and typed as the council's rules want: id -> invoice_id string, *_key -> *_id, money, *_at
    assert [(c["name"], c["type"], c["nullable"]) for c in contract["schema"]] == [
        ("invoice_id", "string", False), ("customer", "string", True), ("amount", "decimal(12,2)", True),
        ("issued_on", "date", True), ("paid_amount", "decimal(18,2)", True), ("created_at", "timestamp", True),
        ("account_id", "string", True)]
    assert all(c["description"] for c in contract["schema"]) and contract["sla"]["freshness_hours"] <= 48
    transforms = (billing / "domains/billing/transforms.py").read_text()
    for expression in ('identifier("id").alias("invoice_id")', 'money("paid_amount").alias("paid_amount")',
                       'F.col("created_at").cast("timestamp").alias("created_at")', 'F.col("customer"),'):
        assert expression in transforms

    lint = _mesh(billing, platform_only, "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "1 domains comply with every policy" in lint.stdout
    location = _load(billing, platform_only, "domains.billing.definitions")["domains.billing.definitions"]
    assert location["assets"] == ["billing/bronze/invoices", "billing/invoices"]
    assert {"billing/invoices:contract_schema", "billing/invoices:contract_primary_key",
            "billing/invoices:contract_nullability", "billing/invoices:contract_row_count",
            "billing/invoices:governance_report"} <= set(location["checks"])


def test_new_product_without_a_source_is_a_stub_that_lints_and_loads(billing, platform_only):
    result = _run(billing, "new", "product", "billing.revenue_summary")
    assert result.exit_code == 0, result.output
    contract = yaml.safe_load((billing / "domains/billing/contracts/revenue_summary.yaml").read_text())
    assert [(c["name"], c["type"]) for c in contract["schema"]] == [("revenue_summary_id", "string")]
    assert contract["sources"] == []
    assert "raise NotImplementedError" in (billing / "domains/billing/transforms.py").read_text()
    assert _mesh(billing, platform_only, "lint").returncode == 0
    location = _load(billing, platform_only, "domains.billing.definitions")["domains.billing.definitions"]
    assert "billing/revenue_summary" in location["assets"]


REFUSALS = [  # the command, what it names, and the fix it gives
    (("init", "acme"), "is not an empty folder", "`mesh init` a new or empty folder"),
    (("init", "fresh", "--name", "acme mesh"), "mesh name 'acme mesh' is not a package name", "--name acme-mesh"),
    (("new", "domain", "billing"), "domain 'billing' already exists", "choose another name"),
    (("new", "domain", "Billing"), "domain name 'Billing' is not a lower_snake_case identifier", "use e.g. 'billing'"),
    (("new", "domain", "class"), "domain name 'class' is not a lower_snake_case identifier", "use e.g. 'x_class'"),
    (("new", "domain", "governance"), "'governance' is the governance code location's name", "choose another"),
    (("new", "product", "billing.invoices"), "product billing.invoices already exists", "choose another name"),
    (("new", "product", "billing.Invoices2"), "product name 'Invoices2' is not a lower_snake_case identifier",
     "use e.g. 'invoices2'"),
    (("new", "product", "invoices"), "'invoices' is not DOMAIN.NAME", "e.g. billing.invoices"),
    (("new", "product", "sales.orders"), "'sales' is not a domain of the mesh (domains: billing)",
     "`mesh new domain sales`"),
    (("new", "product", "billing.payments", "--from-source", "payments"),
     "'payments' is not a source of billing (its sources: invoices)", "declare it in"),
]


@pytest.mark.parametrize(("args", "message", "fix"), REFUSALS, ids=[" ".join(a) for a, _, _ in REFUSALS])
def test_refusals_name_what_and_the_fix_and_write_nothing(billing, args, message, fix):
    assert _run(billing, "new", "product", "billing.invoices", "--from-source", "invoices").exit_code == 0
    folder = billing.parent if args[0] == "init" else billing
    before = _tree(folder)
    result = _run(folder, *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and fix in lines[0], result.stderr
    assert _tree(folder) == before


def test_a_skeleton_the_domains_tightened_policies_refuse_is_not_written(billing):
    """A domain's own policy (NAMING-002: source-aligned products start with src_) judges the skeleton first."""
    (billing / "domains/billing/policies.yaml").write_text(
        "rules:\n  NAMING-002:\n    params: {table_prefixes: {source-aligned: src_}}\n")
    before = _tree(billing)
    result = _run(billing, "new", "product", "billing.invoices", "--from-source", "invoices")
    assert result.exit_code == 2
    assert "NAMING-002" in result.stderr and "must start with 'src_'" in result.stderr
    assert _tree(billing) == before
    assert _run(billing, "new", "product", "billing.src_invoices", "--from-source", "invoices").exit_code == 0


def test_outside_a_mesh_new_says_where_to_start(tmp_path, platform_only):
    result = _mesh(tmp_path, platform_only, "new", "domain", "billing")
    assert result.returncode == 2
    assert "mesh init DIR" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_commands_act_on_the_mesh_of_the_current_folder_after_another_mesh_loaded(acme, platform_only):
    """A process that loaded a code location of one mesh (this repository's sample) and then runs a command in
    another mesh's folder acts on the latter: the folder a command runs in names its mesh."""
    sample = Path(__file__).parent.parent
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from typer.testing import CliRunner\n"
        "from mesh_platform.cli import app\n"
        "from mesh_platform.product import domain_definitions\n"
        f"domain_definitions(Path({str(sample / 'domains' / 'marketing')!r}))  # declares the sample mesh\n"
        f"os.chdir({str(acme)!r})\n"
        "result = CliRunner().invoke(app, ['new', 'domain', 'billing'])\n"
        "sys.exit(result.exit_code)\n")
    env = {**_env(platform_only), "PYTHONPATH": f"{platform_only}{os.pathsep}{sample}"}
    done = subprocess.run([sys.executable, "-c", script], cwd=sample, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert (acme / "domains" / "billing" / "definitions.py").is_file()
    assert not (sample / "domains" / "billing").exists()
