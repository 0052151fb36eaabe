"""SLA-001: an SLA that the inputs cannot give fails `mesh lint` and the code-location load, naming the chain
(directly, through a chain of products, across domains, and against a source's freshness.max_age_hours)."""

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

REPO = Path(__file__).parent.parent
FIX = ("set sla.freshness_hours to at least {hours} h, or make the inputs of the chain promise fresher data first "
       "(an input's SLA or freshness.max_age_hours)")


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    """A copy of the shipped domains (contracts, sources and policies) to change SLAs in."""
    shutil.copytree(REPO / "domains", tmp_path / "domains", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return tmp_path / "domains"


def _set_sla(mesh: Path, product: str, hours: float) -> Path:
    domain, name = product.split(".")
    path = mesh / domain / "contracts" / f"{name}.yaml"
    text, count = re.subn(r"(?m)^  freshness_hours: .*$", f"  freshness_hours: {hours:g}", path.read_text())
    assert count == 1
    path.write_text(text)
    return path


def _lint(mesh: Path) -> tuple[int, list[tuple[str, str, str, str]]]:
    """`mesh lint --format json` over `mesh`: its exit code and the SLA-001 findings (file, field, message, fix)."""
    env = {"COLUMNS": "250", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}  # this worktree's package first
    result = subprocess.run([str(Path(sys.executable).parent / "mesh"), "lint", "--path", str(mesh), "--format", "json"],
                            capture_output=True, text=True, timeout=120, env=env)
    report = json.loads(result.stdout)
    found = [(v["file"], v["field"], v["message"], v["remediation"]) for v in report["violations"]
             if v["rule"] == "SLA-001" and v["severity"] == "CRITICAL"]
    assert len(found) == len(report["violations"]), report  # nothing else is wrong with the copy
    return result.returncode, found


def _load_error(domain_dir: Path) -> str:
    with pytest.raises(ContractError) as caught:
        domain_definitions(domain_dir, types.ModuleType("transforms"))
    return str(caught.value)


def test_the_shipped_mesh_promises_only_slas_its_inputs_can_give():
    assert [v.line() for d in domain_names() for v in lint_domain(domains_dir() / d) if v.rule == "SLA-001"] == []


def test_an_sla_tighter_than_its_direct_input_fails_lint_and_the_load(mesh):
    clv = _set_sla(mesh, "sales.customer_lifetime_value", 1)
    code, found = _lint(mesh)
    assert code == 1
    assert found == [(str(clv), "dependencies[0].product",
                      "sales.customer_lifetime_value promises 1 h but reads sales.orders (2 h)", FIX.format(hours=2))]
    assert _load_error(mesh / "sales") == (
        f"CRITICAL SLA-001 {clv}: dependencies[0].product: sales.customer_lifetime_value promises 1 h but reads "
        f"sales.orders (2 h). Fix: {FIX.format(hours=2)}")


def test_an_sla_broken_through_a_chain_across_domains_names_each_hop(mesh):
    """sales.orders loosened to 24 h: its reader customer_lifetime_value (4 h) cannot keep its SLA, nor can
    marketing.unified_customer_view (8 h), which reads it: one line each, the second naming both hops."""
    _set_sla(mesh, "sales.orders", 24)
    code, found = _lint(mesh)
    unified = mesh / "marketing" / "contracts" / "unified_customer_view.yaml"
    clv = mesh / "sales" / "contracts" / "customer_lifetime_value.yaml"
    assert code == 1
    assert found == [
        (str(unified), "dependencies[0].product",
         "marketing.unified_customer_view promises 8 h but reads sales.customer_lifetime_value (4 h), which reads "
         "sales.orders (24 h): its data can be up to 24 h old", FIX.format(hours=24)),
        (str(clv), "dependencies[0].product",
         "sales.customer_lifetime_value promises 4 h but reads sales.orders (24 h)", FIX.format(hours=24)),
    ]
    # the marketing location refuses to load on the other domain's contract it reads
    assert _load_error(mesh / "marketing") == (
        f"CRITICAL SLA-001 {unified}: dependencies[0].product: marketing.unified_customer_view promises 8 h but "
        f"reads sales.customer_lifetime_value (4 h), which reads sales.orders (24 h): its data can be up to 24 h "
        f"old. Fix: {FIX.format(hours=24)}")


def _expect_source_freshness(mesh: Path, domain: str, source: str, max_age_hours: float) -> None:
    path = mesh / domain / "sources.yaml"
    anchor = f"  - name: {source}\n    kind: delta\n"
    assert anchor in path.read_text()
    path.write_text(path.read_text().replace(anchor, anchor + f"    freshness: {{max_age_hours: {max_age_hours:g}}}\n"))


def test_an_sla_tighter_than_a_sources_freshness_expectation_is_infeasible(mesh):
    """The order-entry system may be 6 h behind: sales.orders (2 h) reads it directly, and
    customer_lifetime_value (4 h) through sales.orders; unified_customer_view (8 h) can keep its SLA."""
    _expect_source_freshness(mesh, "sales", "orders", 6)
    code, found = _lint(mesh)
    orders = mesh / "sales" / "contracts" / "orders.yaml"
    clv = mesh / "sales" / "contracts" / "customer_lifetime_value.yaml"
    assert code == 1
    assert found == [
        (str(clv), "dependencies[0].product",
         "sales.customer_lifetime_value promises 4 h but reads sales.orders (2 h), which reads source sales.orders "
         "(6 h): its data can be up to 6 h old", FIX.format(hours=6)),
        (str(orders), "sources[0]", "sales.orders promises 2 h but reads source sales.orders (6 h)",
         FIX.format(hours=6)),
    ]
    assert f"CRITICAL SLA-001 {orders}: sources[0]: sales.orders promises 2 h but reads source sales.orders (6 h)" \
        in _load_error(mesh / "sales")


def test_a_source_fresher_than_the_sla_is_no_finding(mesh):
    _expect_source_freshness(mesh, "sales", "orders", 1)
    assert _lint(mesh) == (0, [])
