"""Bad contracts that used to slip (a traceback, or silently accepted) each give one line naming file and field,
at `mesh lint` (a subprocess, as a user runs it) and at code-location load (a domain's Definitions)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from mesh_platform.contracts import ContractError
from mesh_platform.contracts.row_filters import ALLOWED, always_true, vetted_filter_sql
from mesh_platform.product import domain_definitions

REPO = Path(__file__).parent.parent
FIX_CONTRACT = "Fix the contract file as the message says."
REFUSED = f"which a row filter may not: it may use only {ALLOWED}"


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    """A copy of the shipped domains (contracts and policies) to break one file of."""
    shutil.copytree(REPO / "domains", tmp_path / "domains", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return tmp_path / "domains"


def _mesh_lint(root: Path, *args: str) -> subprocess.CompletedProcess:
    # this worktree's package first: the venv's editable install may point at another checkout
    env = {"COLUMNS": "250", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    return subprocess.run([str(Path(sys.executable).parent / "mesh"), "lint", "--path", str(root), *args],
                          capture_output=True, text=True, timeout=120, env=env)


def _lint_json(root: Path) -> dict:
    result = _mesh_lint(root, "--format", "json")
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    human = _mesh_lint(root)
    assert "Traceback" not in human.stdout + human.stderr, human.stderr
    assert human.returncode == result.returncode
    report = json.loads(result.stdout)
    # the human output is one line per violation: severity, rule, file, field, problem and fix
    assert [line for line in human.stdout.splitlines() if line.startswith(("CRITICAL ", "WARNING "))] == [
        f"{v['severity']} {v['rule']} {v['file']}: {v['field']}: {v['message']}. Fix: {v['remediation']}"
        for v in report["violations"]]
    assert result.returncode == (1 if report["critical"] else 0), result.stdout
    return report


def _found(report: dict) -> list[tuple[str, str, str, str, str]]:
    return [(v["rule"], v["severity"], v["file"], v["field"], v["message"]) for v in report["violations"]]


def _load_error(domain_dir: Path) -> str:
    with pytest.raises(ContractError) as caught:
        domain_definitions(domain_dir, types.ModuleType("transforms"))
    return str(caught.value)


def _insert_after(path: Path, anchor: str, text: str) -> None:
    content = path.read_text()
    assert anchor in content
    path.write_text(content.replace(anchor, anchor + text, 1))


def _set_sla(path: Path, hours: float) -> None:
    content = path.read_text()
    assert content.count("  freshness_hours: ") == 1
    path.write_text(re.sub(r"(?m)^  freshness_hours: .*$", f"  freshness_hours: {hours:g}", content))


def _line_of(path: Path, text: str, occurrence: int = 0) -> int:
    return [i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text)][occurrence]


# --- dependency cycles (DEPENDENCY-001) ---------------------------------------------------------------

CYCLE_FIX = "remove one dependency of the cycle; a product cannot consume itself, even through other products"


def _cycle(file: Path, chain: str, index: int = 0) -> tuple:
    return ("DEPENDENCY-001", "CRITICAL", str(file), f"dependencies[{index}].product",
            f"dependency cycle {chain}: no product of it can be built before the others")


def test_a_product_that_depends_on_itself_is_a_lint_error_and_its_code_location_refuses_to_load(mesh):
    orders = mesh / "sales" / "contracts" / "orders.yaml"
    _insert_after(orders, "sources: [orders, order_lines]\n", "dependencies:\n  - product: sales.orders\n")
    assert _found(_lint_json(mesh)) == [_cycle(orders, "sales.orders -> sales.orders")]
    assert _load_error(mesh / "sales") == (
        f"CRITICAL DEPENDENCY-001 {orders}: dependencies[0].product: dependency cycle sales.orders -> sales.orders: "
        f"no product of it can be built before the others. Fix: {CYCLE_FIX}")


def test_a_cycle_between_two_products_of_one_domain_names_both_files(mesh):
    contracts = mesh / "sales" / "contracts"
    _insert_after(contracts / "orders.yaml", "sources: [orders, order_lines]\n",
                  "dependencies:\n  - product: sales.customer_lifetime_value\n")
    _set_sla(contracts / "orders.yaml", 4)  # the same SLA as its new input: only the cycle is wrong (not SLA-001)
    assert _found(_lint_json(mesh)) == [
        _cycle(contracts / "customer_lifetime_value.yaml",
               "sales.customer_lifetime_value -> sales.orders -> sales.customer_lifetime_value"),
        _cycle(contracts / "orders.yaml", "sales.orders -> sales.customer_lifetime_value -> sales.orders"),
    ]
    assert "dependency cycle sales.customer_lifetime_value -> sales.orders" in _load_error(mesh / "sales")


def test_a_cycle_across_domains_is_critical_and_both_code_locations_refuse_to_load(mesh):
    orders = mesh / "sales" / "contracts" / "orders.yaml"
    attribution = mesh / "marketing" / "contracts" / "campaign_attribution.yaml"  # consumes sales.orders
    _insert_after(orders, "sources: [orders, order_lines]\n",
                  "dependencies:\n  - product: marketing.campaign_attribution\n")
    _set_sla(attribution, 2)  # as fresh as sales.orders, which now reads it: only the cycle is wrong
    assert _found(_lint_json(mesh)) == [
        _cycle(attribution, "marketing.campaign_attribution -> sales.orders -> marketing.campaign_attribution"),
        _cycle(orders, "sales.orders -> marketing.campaign_attribution -> sales.orders"),
    ]
    assert _load_error(mesh / "sales") == (
        f"CRITICAL DEPENDENCY-001 {orders}: dependencies[0].product: dependency cycle sales.orders -> "
        f"marketing.campaign_attribution -> sales.orders: no product of it can be built before the others. "
        f"Fix: {CYCLE_FIX}")
    assert _load_error(mesh / "marketing") == (
        f"CRITICAL DEPENDENCY-001 {attribution}: dependencies[0].product: dependency cycle "
        f"marketing.campaign_attribution -> sales.orders -> marketing.campaign_attribution: no product of it can "
        f"be built before the others. Fix: {CYCLE_FIX}")


# --- duplicate keys, encodings (CONTRACT-001, GOVERNANCE-003) ----------------------------------------

def _repeats(key: str, line: int, first: int) -> str:
    return (f"line {line} repeats key {key!r} of line {first}, and YAML would silently keep only the last one: "
            "keep one and merge their entries")


def test_a_second_quality_key_is_refused_instead_of_dropping_every_rule(mesh):
    orders = mesh / "sales" / "contracts" / "orders.yaml"
    orders.write_text(orders.read_text() + "quality: []\n")
    first, second = _line_of(orders, "quality:"), _line_of(orders, "quality:", 1)
    message = _repeats("quality", second, first)
    assert _found(_lint_json(mesh)) == [("CONTRACT-001", "CRITICAL", str(orders), "quality", message)]
    assert _load_error(mesh / "sales") == f"CRITICAL CONTRACT-001 {orders}: quality: {message}. Fix: {FIX_CONTRACT}"


def test_a_key_repeated_inside_a_mapping_names_its_field_path(mesh):
    orders = mesh / "sales" / "contracts" / "orders.yaml"
    _insert_after(orders, "  freshness_hours: 2\n", "  freshness_hours: 48\n")
    message = _repeats("freshness_hours", _line_of(orders, "  freshness_hours: 48"), _line_of(orders, "  freshness_hours: 2"))
    assert _found(_lint_json(mesh)) == [("CONTRACT-001", "CRITICAL", str(orders), "sla.freshness_hours", message)]


# What the platform's own YAML reading (a fast build for plain documents, PyYAML's constructor for the rest)
# must give: exactly PyYAML's data, whatever the document holds.
SAME_AS_PYYAML = [
    "a: 1\nb: [x, 2, 3.5, true, null, 2020-01-01, 0x1F, '0x1F', .inf]\nc: {d: e, f: 2001-12-14t21:59:43.10-05:00}\n",
    "a: &shared {k: 1}\nb: *shared\n",  # an alias
    "base: &base {a: 1, c: 1}\nd:\n  <<: *base\n  c: 2\n",  # a merge key, overridden
    "'1': text\n1: number\n",  # equal text, other types: two keys
    "!!set {a, b}\n", "a: !!binary aGVsbG8=\n", "- a\n- [b, {c: ~}]\n", "",
    "[" * 300 + "]" * 300, "{a: " * 300 + "1" + "}" * 300,  # deep nesting
]
# ... and refuse what PyYAML refuses, as one YamlFileError naming the file.
REFUSED_LIKE_PYYAML = ["a: !!seq foo\n", "a: !!map\n", "!!set x\n", "a: !custom x\n", "? [1]\n: x\n",
                       "a: 2020-02-30\n", "a: !!int foo\n", "a: !!bool x\n"]


@pytest.mark.parametrize("document", SAME_AS_PYYAML)
def test_platform_yaml_reads_what_pyyaml_reads(document):
    import yaml

    from mesh_platform.contracts.yaml_text import yaml_from_text

    assert yaml_from_text(document, "doc.yaml") == yaml.safe_load(document)


@pytest.mark.parametrize("document", REFUSED_LIKE_PYYAML)
def test_platform_yaml_refuses_what_pyyaml_refuses_naming_the_file(document):
    import yaml

    from mesh_platform.contracts.yaml_text import YamlFileError, yaml_from_text

    with pytest.raises(Exception):  # noqa: B017 (PyYAML raises several kinds)
        yaml.safe_load(document)
    with pytest.raises(YamlFileError, match=r"^doc\.yaml: "):
        yaml_from_text(document, "doc.yaml")


def test_a_key_repeated_in_a_policy_file_is_refused(mesh):
    policies = mesh / "sales" / "policies.yaml"
    policies.write_text("rules:\n  QUALITY-002:\n    params: {max_freshness_hours: 12}\n"
                        "  QUALITY-002:\n    params: {max_freshness_hours: 24}\n")
    message = _repeats("QUALITY-002", 4, 2)
    assert _found(_lint_json(mesh)) == [("GOVERNANCE-003", "CRITICAL", str(policies), "rules.QUALITY-002", message)]
    assert _load_error(mesh / "sales") == (
        f"CRITICAL GOVERNANCE-003 {policies}: rules.QUALITY-002: {message}. Fix: Fix the policy file as the message says.")


def test_a_latin1_contract_is_named_as_not_utf8(mesh):
    orders = mesh / "sales" / "contracts" / "orders.yaml"
    text = orders.read_text().replace("Every customer order", "Every café order")
    orders.write_bytes(text.encode("latin-1"))
    message = "is not UTF-8 text YAML (byte 0xe9 on line 7 is not UTF-8); save the file as UTF-8"
    assert _found(_lint_json(mesh)) == [("CONTRACT-001", "CRITICAL", str(orders), "(file)", message)]
    assert _load_error(mesh / "sales") == f"CRITICAL CONTRACT-001 {orders}: (file): {message}. Fix: {FIX_CONTRACT}"


def test_a_binary_contract_is_named_as_not_utf8(mesh):
    orders = mesh / "sales" / "contracts" / "orders.yaml"
    orders.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(64))
    message = "is not UTF-8 text YAML (it holds NUL bytes: a binary file?); write the file as UTF-8 YAML text"
    assert _found(_lint_json(mesh)) == [("CONTRACT-001", "CRITICAL", str(orders), "(file)", message)]
    assert _load_error(mesh / "sales") == f"CRITICAL CONTRACT-001 {orders}: (file): {message}. Fix: {FIX_CONTRACT}"


# --- row filters (CONTRACT-001 for refused ones, ACCESS-002 for filters that do not restrict) ------------

SHIPPED_FILTER = "marketing: \"region_name = 'EUROPE'\""


@pytest.mark.parametrize(("predicate", "problem"), [
    ("reflect('java.util.UUID', 'randomUUID') IS NOT NULL", f"calls reflect, {REFUSED}"),
    ("java_method('java.lang.System', 'exit', 1) = 1", f"calls java_method, {REFUSED}"),
    ("region_name IN (SELECT r_name FROM region)", "must not contain a subquery: a row filter sees one row at a time"),
    ("my_udf(region_name)", f"calls my_udf, {REFUSED}"),
    ("rand() < 0.5", f"calls rand, {REFUSED}"),
])
def test_a_row_filter_outside_the_vetted_set_is_refused_naming_field_and_function(mesh, predicate, problem):
    revenue = mesh / "finance" / "contracts" / "revenue_by_nation.yaml"
    revenue.write_text(revenue.read_text().replace(SHIPPED_FILTER, f'marketing: "{predicate}"'))
    message = f"{predicate!r} {problem}"
    assert _found(_lint_json(mesh)) == [
        ("CONTRACT-001", "CRITICAL", str(revenue), "access.row_filters.marketing", message)]
    assert _load_error(mesh / "finance") == (
        f"CRITICAL CONTRACT-001 {revenue}: access.row_filters.marketing: {message}. Fix: {FIX_CONTRACT}")


@pytest.mark.parametrize("predicate", ["region_name = 'EUROPE' OR 1=1", "TRUE", "1 = 1", "region_name = region_name"])
def test_a_row_filter_that_does_not_restrict_is_a_warning(mesh, predicate):
    import domains.finance.transforms as transforms

    revenue = mesh / "finance" / "contracts" / "revenue_by_nation.yaml"
    revenue.write_text(revenue.read_text().replace(SHIPPED_FILTER, f'marketing: "{predicate}"'))
    assert _found(_lint_json(mesh)) == [(
        "ACCESS-002", "WARNING", str(revenue), "access.row_filters.marketing",
        f"{predicate!r} is always true, so marketing sees every row")]
    assert domain_definitions(mesh / "finance", transforms).assets  # a warning does not block the load


def test_filters_that_restrict_are_not_flagged_and_reads_apply_the_vetted_print():
    assert not any(always_true(p) for p in ["region_name = 'EUROPE'", "a = 1 OR b = 2", "lower(x) LIKE 'eu%'"])
    columns = {"region_name": "string", "order_date": "date"}
    assert vetted_filter_sql("region_name = 'EUROPE' -- a note", columns) == "region_name = 'EUROPE' /* a note */"
    assert vetted_filter_sql("order_date >= date_sub(current_date(), 30)", columns) == \
        "order_date >= DATE_ADD(CURRENT_DATE, 30 * -1)"
    with pytest.raises(ValueError, match=r"^row filter \"reflect\('a', 'b'\) = 1\" calls reflect, which"):
        vetted_filter_sql("reflect('a', 'b') = 1", columns)


def test_the_shipped_mesh_lints_clean_and_loads(mesh):
    import domains.finance.transforms as transforms

    assert _lint_json(mesh) == {"violations": [], "critical": 0}
    assert domain_definitions(mesh / "finance", transforms).assets
