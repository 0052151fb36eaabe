"""`mesh lint` on partitioned contracts: a bad partitioning declaration is one line naming its file and field
(CONTRACT-001), and a dependency whose partition mapping cannot work is PARTITION-001, naming both
products, the file and the dependency's field; the code location refuses to load with the same line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from mesh_platform.contracts import ContractError
from mesh_platform.governance import lint_domain
from mesh_platform.mesh import domain_names, domains_dir
from mesh_platform.product import domain_definitions

pytestmark = pytest.mark.engine_independent  # no Spark: CI runs it once, in the default-engine (Sail) pass

REPO = Path(__file__).parent.parent
MAPPING_FIX = ("declare a partition_mapping that fits both partitionings (same, window or all), or change a "
               "partitioning")


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    """A copy of the shipped domains' contracts, sources and policies to change partitionings in."""
    shutil.copytree(REPO / "domains", tmp_path / "domains", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return tmp_path / "domains"


def _lint(mesh: Path) -> tuple[int, list[dict]]:
    """`mesh lint --format json` over `mesh`: its exit code and its violations."""
    env = {"COLUMNS": "250", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}  # this worktree's package first
    result = subprocess.run([str(Path(sys.executable).parent / "mesh"), "lint", "--path", str(mesh), "--format", "json"],
                            capture_output=True, text=True, timeout=120, env=env, cwd=REPO)
    return result.returncode, json.loads(result.stdout)["violations"]


def _edit(path: Path, pattern: str, replacement: str) -> Path:
    text, count = re.subn(pattern, replacement, path.read_text(), flags=re.MULTILINE)
    assert count == 1, pattern
    path.write_text(text)
    return path


def _set_orders_partitioning(mesh: Path, declaration: str) -> Path:
    return _edit(mesh / "sales" / "contracts" / "orders.yaml", r"^partitioning: .*$", f"partitioning: {declaration}")


def test_the_shipped_mesh_maps_every_partitioned_dependency():
    assert [v.line() for d in domain_names() for v in lint_domain(domains_dir() / d)
            if v.rule in ("PARTITION-001", "CONTRACT-001")] == []


BAD_DECLARATIONS = {
    "unknown column": ("{column: shipped_on, every: month, start: 1992-01-01}", "partitioning.column",
                       "'shipped_on' is not in the schema; name a date or timestamp column"),
    "wrong type": ("{column: order_status, every: month, start: 1992-01-01}", "partitioning.column",
                   "order_status is string; a time partitioning needs a date or timestamp column (or an integer "
                   "year column with every: year)"),
    "every week": ("{column: order_date, every: week, start: 1992-01-01}", "partitioning.every",
                   "Input should be 'day', 'month' or 'year'"),
    "start mid-period": ("{column: order_date, every: month, start: 1992-01-15}", "partitioning.start",
                         "1992-01-15 does not begin a month; write 1992-01-01"),
    "repeated values": ("{column: order_status, values: [F, O, F]}", "partitioning.values",
                        "F listed more than once"),
    "missing start": ("{column: order_date, every: month}", "partitioning.start", "is required but missing"),
}


@pytest.mark.parametrize("case", sorted(BAD_DECLARATIONS))
def test_a_bad_partitioning_is_one_line_naming_file_and_field(mesh, case):
    declaration, field, message = BAD_DECLARATIONS[case]
    orders = _set_orders_partitioning(mesh, declaration)
    code, violations = _lint(mesh)
    assert code == 1
    assert [(v["rule"], v["file"], v["field"], v["message"]) for v in violations] == [
        ("CONTRACT-001", str(orders), field, message)]
    with pytest.raises(ContractError) as caught:
        domain_definitions(mesh / "sales", types.ModuleType("transforms"))
    assert str(caught.value).splitlines() == [
        f"CRITICAL CONTRACT-001 {orders}: {field}: {message}. Fix: Fix the contract file as the message says."]


MAPPINGS = {
    # marketing.campaign_attribution (unpartitioned) reads the monthly sales.orders
    "same on an unpartitioned consumer": (
        "marketing", "campaign_attribution", None, "same",
        "marketing.campaign_attribution -> sales.orders: partition_mapping 'same' needs a partitioned consumer; "
        "marketing.campaign_attribution is not partitioned, use 'all'"),
    "same from a year to months": (
        "marketing", "campaign_attribution", "{column: touches, every: year, start: 1992}", "same",
        "marketing.campaign_attribution -> sales.orders: partition_mapping 'same' maps a year to a month; use "
        "'window' (a coarser consumer reads the months inside its year) or 'all'"),
    "a day reading months": (
        "sales", "order_analytics", "{column: first_order_date, every: day, start: 1992-01-01}", "window",
        "sales.order_analytics -> sales.orders: a day of sales.order_analytics cannot read a whole month of "
        "sales.orders; partition sales.order_analytics by month or coarser, or use 'all'"),
    "starting before the upstream": (
        "marketing", "campaign_attribution", "{column: touches, every: year, start: 1991}", "window",
        "marketing.campaign_attribution -> sales.orders: marketing.campaign_attribution starts 1991-01-01, "
        "before sales.orders's first partition (1992-01-01); start it on or after 1992-01-01"),
}


def _map_orders(mesh: Path, domain: str, product: str, partitioning: str | None, mapping: str) -> Path:
    path = _edit(mesh / domain / "contracts" / f"{product}.yaml", r"^  - product: sales\.orders$",
                 f"  - product: sales.orders\n    partition_mapping: {mapping}")
    if partitioning:
        _edit(path, r"^schema:$", f"partitioning: {partitioning}\nschema:")
    return path


@pytest.mark.parametrize("case", sorted(MAPPINGS))
def test_a_mapping_that_cannot_work_names_both_products_file_and_field(mesh, case):
    domain, product, partitioning, mapping, message = MAPPINGS[case]
    if product == "order_analytics":  # give it a date column to partition by
        _edit(mesh / "sales" / "contracts" / "order_analytics.yaml", r"^schema:$",
              "schema:\n  - {name: first_order_date, type: date, nullable: true, description: \"First order\"}")
    path = _map_orders(mesh, domain, product, partitioning, mapping)
    code, violations = _lint(mesh)
    assert code == 1
    assert [(v["rule"], v["severity"], v["product"], v["file"], v["field"], v["message"], v["remediation"])
            for v in violations] == [
        ("PARTITION-001", "CRITICAL", f"{domain}.{product}", str(path), "dependencies[0].partition_mapping", message,
         MAPPING_FIX)]
    with pytest.raises(ContractError) as caught:
        domain_definitions(mesh / domain, types.ModuleType("transforms"))
    assert str(caught.value) == (f"CRITICAL PARTITION-001 {path}: dependencies[0].partition_mapping: {message}. "
                                 f"Fix: {MAPPING_FIX}")


def test_a_mapping_that_works_is_no_finding(mesh):
    _map_orders(mesh, "marketing", "campaign_attribution", "{column: touches, every: year, start: 1992}", "window")
    _map_orders(mesh, "sales", "customer_lifetime_value", None, "all")
    code, violations = _lint(mesh)
    assert (code, violations) == (0, [])
