"""Static governance rules over contracts: each yields (field, problem) pairs for one contract."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from fnmatch import fnmatch

from mesh_platform.contracts.model import Contract
from mesh_platform.governance.policies import RulePolicy

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
Finding = tuple[str, str]
Rule = Callable[[Contract, RulePolicy], Iterator[Finding]]


def _columns(contract: Contract):
    return enumerate(contract.columns)


def naming_snake_case(contract: Contract, policy: RulePolicy) -> Iterator[Finding]:
    if not SNAKE_CASE.match(contract.name):
        yield "name", f"product name {contract.name!r} is not snake_case"
    for i, column in _columns(contract):
        if not SNAKE_CASE.match(column.name):
            yield f"schema[{i}].name", f"column {column.name!r} is not snake_case"


def naming_prefix(contract: Contract, policy: RulePolicy) -> Iterator[Finding]:
    prefix = policy.params.get("table_prefixes", {}).get(contract.kind)
    if prefix and not contract.name.startswith(prefix):
        yield "name", f"{contract.kind} product {contract.name!r} must start with {prefix!r}"


def security_pii_masked(contract: Contract, policy: RulePolicy) -> Iterator[Finding]:
    for i, column in _columns(contract):
        if column.pii and column.name not in contract.access.masking:
            yield f"schema[{i}]", f"PII column {column.name!r} has no masking rule for outside consumers"


def quality_min_completeness(contract: Contract, policy: RulePolicy) -> Iterator[Finding]:
    minimum = policy.params["min_completeness"]
    for i, rule in enumerate(contract.quality):
        if rule.rule == "not_null" and rule.severity == "critical" and rule.threshold < minimum:
            yield f"quality[{i}].threshold", f"completeness {rule.threshold} on {rule.column} is below the minimum {minimum}"


def quality_max_freshness(contract: Contract, policy: RulePolicy) -> Iterator[Finding]:
    maximum = policy.params["max_freshness_hours"]
    if contract.sla.freshness_hours > maximum:
        yield "sla.freshness_hours", f"SLA of {contract.sla.freshness_hours:g} h exceeds the maximum of {maximum:g} h"


def quality_declared_key(contract: Contract, policy: RulePolicy) -> Iterator[Finding]:
    if not contract.primary_key:
        yield "primary_key", "no primary key declared"


def _typed_suffix(suffix: str, expected: str) -> Rule:
    def rule(contract: Contract, policy: RulePolicy) -> Iterator[Finding]:
        for i, column in _columns(contract):
            if column.name.endswith(suffix) and column.type != expected:
                yield f"schema[{i}].type", f"{column.name} is {column.type}, expected {expected}"
    return rule


def interop_money(contract: Contract, policy: RulePolicy) -> Iterator[Finding]:
    patterns = policy.params.get("money_columns", [])
    for i, column in _columns(contract):
        if any(fnmatch(column.name, p) for p in patterns) and column.type != "decimal(18,2)":
            yield f"schema[{i}].type", f"money column {column.name} is {column.type}, expected decimal(18,2)"


def interop_identifiers(contract: Contract, policy: RulePolicy) -> Iterator[Finding]:
    for i, column in _columns(contract):
        if column.name.endswith("_id") and column.type != "string":
            yield f"schema[{i}].type", f"identifier {column.name} is {column.type}, expected string"
        if column.name in {"id", "key"} or column.name.endswith("_key"):
            yield f"schema[{i}].name", f"identifier {column.name!r} must be named <entity>_id"


RULES: dict[str, Rule] = {
    "NAMING-001": naming_snake_case,
    "NAMING-002": naming_prefix,
    "SECURITY-001": security_pii_masked,
    "QUALITY-001": quality_min_completeness,
    "QUALITY-002": quality_max_freshness,
    "QUALITY-003": quality_declared_key,
    "INTEROP-001": _typed_suffix("_at", "timestamp"),
    "INTEROP-002": _typed_suffix("_date", "date"),
    "INTEROP-003": interop_money,
    "INTEROP-004": interop_identifiers,
}

# Rules judged on the published data by the gate (governance/gate.py), not on the contract.
DATA_RULES = frozenset({"SCHEMA-001", "SECURITY-002"})
KNOWN_RULES = frozenset(RULES) | DATA_RULES
