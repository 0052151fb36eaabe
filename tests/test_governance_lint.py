"""Static governance: each rule passes and fails, domains may only tighten, `mesh lint` and load-time errors."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from mesh_platform.contracts import ContractError
from mesh_platform.contracts.loader import parse_contract
from mesh_platform.governance import domain_policies, lint_contract, lint_domain
from mesh_platform.product import domain_definitions

pytestmark = pytest.mark.engine_independent  # no Spark: CI runs it once, in the default-engine (Sail) pass

COMPLIANT = {
    "name": "payments", "domain": "billing", "version": "1.0.0", "owner": "team:billing", "description": "d",
    "kind": "aggregate", "primary_key": ["payment_id"], "sla": {"freshness_hours": 24},
    "schema": [
        {"name": "payment_id", "type": "string", "nullable": False},
        {"name": "paid_at", "type": "timestamp"},
        {"name": "due_date", "type": "date"},
        {"name": "total_price", "type": "decimal(18,2)"},
        {"name": "payer_name", "type": "string", "pii": True},
    ],
    "quality": [{"rule": "not_null", "column": "payer_name", "threshold": 0.99}],
    "access": {"consumers": ["sales"], "masking": {"payer_name": "hash"}},
}


def _column(column: str, **changes):
    return lambda d: next(c for c in d["schema"] if c["name"] == column).update(changes)


CASES = {
    "NAMING-001": _column("paid_at", name="paidAt", type="timestamp"),
    "SECURITY-001": lambda d: d["access"].update(masking={}),
    "QUALITY-001": lambda d: d["quality"][0].update(threshold=0.5),
    "QUALITY-002": lambda d: d["sla"].update(freshness_hours=72),
    "QUALITY-003": lambda d: d.update(primary_key=[]),
    "INTEROP-001": _column("paid_at", type="date"),
    "INTEROP-002": _column("due_date", type="string"),
    "INTEROP-003": _column("total_price", type="double"),
    "INTEROP-004": _column("payment_id", type="bigint"),
}


def _violations(tmp_path: Path, mutate=lambda d: None, policies: dict | None = None):
    data = yaml.safe_load(yaml.safe_dump(COMPLIANT))
    mutate(data)
    domain = tmp_path / "billing"
    (domain / "contracts").mkdir(parents=True, exist_ok=True)
    (domain / "contracts" / "payments.yaml").write_text(yaml.safe_dump(data))
    if policies is not None:
        (domain / "policies.yaml").write_text(yaml.safe_dump(policies))
    return lint_domain(domain)


def test_a_compliant_contract_has_no_violations(tmp_path):
    assert _violations(tmp_path) == []


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_rule_reports_its_violation_with_field_and_remediation(tmp_path, rule):
    violations = _violations(tmp_path, CASES[rule])
    assert [v.rule for v in violations] == [rule]
    (violation,) = violations
    assert violation.severity == "CRITICAL" and violation.product == "billing.payments"
    assert violation.file.endswith("billing/contracts/payments.yaml") and violation.remediation


def test_identifier_named_key_must_be_renamed(tmp_path):
    violations = _violations(tmp_path, lambda d: d["schema"].append({"name": "payer_key", "type": "string"}))
    assert [(v.rule, v.field) for v in violations] == [("INTEROP-004", "schema[5].name")]


def test_warning_rules_observe_without_the_completeness_minimum(tmp_path):
    assert _violations(tmp_path, lambda d: d["quality"][0].update(threshold=0.5, severity="warning")) == []


def test_domain_may_tighten_and_add_rules(tmp_path):
    policies = {"rules": {"QUALITY-002": {"params": {"max_freshness_hours": 12}},
                          "NAMING-002": {"params": {"table_prefixes": {"aggregate": "agg_"}}}}}
    violations = _violations(tmp_path, policies=policies)
    assert sorted(v.rule for v in violations) == ["NAMING-002", "QUALITY-002"]
    assert "exceeds the maximum of 12 h" in next(v.message for v in violations if v.rule == "QUALITY-002")


@pytest.mark.parametrize("override", [
    {"QUALITY-001": {"params": {"min_completeness": 0.5}}},
    {"QUALITY-002": {"params": {"max_freshness_hours": 100}}},
    {"SECURITY-001": {"severity": "WARNING"}},
    {"INTEROP-003": {"enabled": False}},
])
def test_a_domain_policy_that_loosens_a_global_one_is_itself_a_violation(tmp_path, override):
    violations = _violations(tmp_path, policies={"rules": override})
    (violation,) = violations
    assert violation.rule == "GOVERNANCE-001" and violation.severity == "CRITICAL"
    assert violation.file.endswith("billing/policies.yaml")
    # and the loosening has no effect: the global rule still applies
    rule_id = next(iter(override))
    assert domain_policies(tmp_path / "billing").rules[rule_id].model_dump() == \
        domain_policies(tmp_path / "nowhere").rules[rule_id].model_dump()


def test_lint_contract_uses_the_policies_it_is_given(tmp_path):
    contract = parse_contract(COMPLIANT, "x")
    policies = domain_policies(tmp_path)
    policies.rules["QUALITY-002"].params["max_freshness_hours"] = 1
    assert [v.rule for v in lint_contract(contract, policies, "x")] == ["QUALITY-002"]


def _mesh_lint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "mesh"), "lint", *args],
                          capture_output=True, text=True, timeout=120,
                          env={"COLUMNS": "250", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parent.parent)})


def test_mesh_lint_passes_on_the_shipped_domains():
    result = _mesh_lint("--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"violations": [], "critical": 0}


def test_mesh_lint_exits_nonzero_on_critical_with_human_and_json_output(tmp_path):
    _violations(tmp_path, CASES["INTEROP-003"])
    human = _mesh_lint("--path", str(tmp_path))
    assert human.returncode == 1
    assert "INTEROP-003" in human.stdout and "money column total_price is double" in human.stdout
    machine = _mesh_lint("--path", str(tmp_path), "--format", "json")
    report = json.loads(machine.stdout)
    assert machine.returncode == 1 and report["critical"] == 1
    assert report["violations"][0]["field"] == "schema[3].type"


def test_a_critical_violation_fails_the_code_location_load(tmp_path):
    _violations(tmp_path, CASES["QUALITY-002"])
    with pytest.raises(ContractError, match=r"CRITICAL QUALITY-002 .*payments\.yaml: sla\.freshness_hours: SLA of 72 h exceeds"):
        domain_definitions(tmp_path / "billing", types.ModuleType("transforms"))


def test_a_domain_rule_the_platform_does_not_implement_is_reported(tmp_path):
    violations = _violations(tmp_path, policies={"rules": {"CUSTOM-007": {"severity": "WARNING"}}})
    assert [(v.rule, v.severity, v.field) for v in violations] == [("GOVERNANCE-002", "WARNING", "rules.CUSTOM-007")]
