"""The governance gate on the data, before the Delta commit.

It judges the published DataFrame against the policies: schema drift, completeness, key uniqueness,
interoperability types and undeclared personal data. Its metrics ride in the contract's single
aggregation (see checks/evaluate.py), so the gate adds no pass over the data of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from mesh_platform.checks.evaluate import CheckOutcome, ContractReport
from mesh_platform.checks.names import GOVERNANCE_CHECK, NULLABILITY_CHECK, PRIMARY_KEY_CHECK, SCHEMA_CHECK
from mesh_platform.checks.specs import GOVERNANCE_DESCRIPTION
from mesh_platform.contracts.model import Column as ContractColumn
from mesh_platform.contracts.model import Contract
from mesh_platform.governance.lint import Violation, lint_contract
from mesh_platform.governance.pii import COLUMN_SHARE, PATTERNS, luhn_valid
from mesh_platform.governance.policies import Policies

LUHN_SAMPLE = 20
SAMPLE_ROWS, HASH_BUCKETS = 20_000, 1_000_000


@dataclass(frozen=True)
class PiiProbe:
    """The string columns not declared pii, whose values the gate inspects."""

    columns: list[str]
    expected_rows: int | None = None  # the previous publish's row count; None: inspect every value

    @classmethod
    def for_frame(cls, df: DataFrame, contract: Contract, expected_rows: int | None = None) -> PiiProbe:
        declared = {c.name for c in contract.columns if c.pii}
        # a column whose values the contract enumerates holds those values (its allowed_values rule checks)
        enumerated = {r.column for r in contract.quality if r.rule == "allowed_values"}
        return cls([f.name for f in df.schema.fields
                    if isinstance(f.dataType, StringType) and f.name not in declared | enumerated
                    and not f.name.startswith("_")], expected_rows)

    def metrics(self) -> list[Column]:
        """Regex counts over a uniform sample of about SAMPLE_ROWS rows: a column-level share needs no more,
        and running every pattern over every value would cost more than the rest of the checks together.
        The sample is sized from the previous publish, as these metrics ride in the pass that counts rows."""
        share = min(1.0, SAMPLE_ROWS / self.expected_rows) if self.expected_rows else 1.0
        found = []
        for i, name in enumerate(self.columns):
            # Spark forbids rand() inside aggregates, so the sample is drawn by a hash of the value
            # (deterministic, uniform over values); a full probe when the table is small anyway.
            in_sample = F.abs(F.xxhash64(F.col(name))) % HASH_BUCKETS < int(share * HASH_BUCKETS)
            value = F.col(name) if share >= 1.0 else F.when(in_sample, F.col(name))
            found.append(F.count(value).alias(f"pii_{i}_values"))
            found += [F.count(F.when(value.rlike(p), 1)).alias(f"pii_{i}_{k}") for k, p in PATTERNS.items()]
        return found

    def findings(self, df: DataFrame, row) -> dict[str, dict[str, Any]]:
        """Columns that look like PII: {column: {kind, share}}."""
        found = {}
        for i, name in enumerate(self.columns):
            values = row[f"pii_{i}_values"]
            if not values:
                continue
            kind, hits = max(((k, row[f"pii_{i}_{k}"]) for k in PATTERNS), key=lambda kv: kv[1])
            share = hits / values
            if share < COLUMN_SHARE:
                continue
            if kind == "card_number":  # confirm: long digit runs are also ordinary codes
                sample = [r[0] for r in df.where(F.col(name).rlike(PATTERNS[kind])).select(name).limit(LUHN_SAMPLE).collect()]
                if sum(map(luhn_valid, sample)) < COLUMN_SHARE * len(sample):
                    continue
            found[name] = {"kind": kind, "share": round(share, 4)}
        return found


def _violation(policies: Policies, rule: str, contract: Contract, field: str, message: str) -> Violation | None:
    policy = policies.rules.get(rule)
    if policy is None or not policy.enabled:
        return None
    return Violation(rule, policy.severity, contract.key, "(published data)", field, message, policy.remediation)


def data_violations(
    df: DataFrame, contract: Contract, report: ContractReport, policies: Policies, pii: dict[str, dict]
) -> list[Violation]:
    found: list[Violation | None] = []
    drift = report.outcome(SCHEMA_CHECK).metadata
    for kind in ("missing", "extra"):
        found += [_violation(policies, "SCHEMA-001", contract, c, f"{kind} column {c}") for c in drift[kind]]
    found += [_violation(policies, "SCHEMA-001", contract, c, f"retyped: {why}") for c, why in drift["retyped"].items()]
    nullability = report.find(NULLABILITY_CHECK)
    nulls = nullability.metadata.get("null_counts", {}) if nullability else {}
    found += [_violation(policies, "QUALITY-001", contract, c, f"{n} nulls in required column {c}") for c, n in nulls.items()]
    for outcome in report.outcomes:
        if outcome.name.startswith("not_null_") and outcome.critical and not outcome.passed:
            found.append(_violation(policies, "QUALITY-001", contract, outcome.name,
                                    f"completeness {outcome.metadata.get('observed_completeness')} below "
                                    f"{outcome.metadata.get('threshold')}"))
    key = report.find(PRIMARY_KEY_CHECK)
    if key and not key.passed:
        found.append(_violation(policies, "QUALITY-003", contract, "primary_key",
                                f"{key.metadata.get('duplicate_rows')} duplicate key rows"))
    found += [_violation(policies, "SECURITY-002", contract, c, f"values look like {v['kind']} ({v['share']:.0%}) "
                         "but the column is not declared pii") for c, v in pii.items()]
    actual = Contract.model_construct(**{**dict(contract), "columns": [
        ContractColumn.model_construct(name=f.name, type=f.dataType.simpleString(), pii=False)
        for f in df.schema.fields if not f.name.startswith("_")]})
    interop = Policies({rule: p for rule, p in policies.rules.items() if rule.startswith("INTEROP-")})
    found += lint_contract(actual, interop, "(published data)")  # the contract's naming rules, on the data
    return [v for v in found if v is not None]


def governance_outcome(
    df: DataFrame, contract: Contract, report: ContractReport, probe: PiiProbe, policies: Policies,
    static: list[Violation],
) -> CheckOutcome:
    """The product's governance report: every violation, static and on the data; CRITICAL blocks."""
    violations = [*static, *data_violations(df, contract, report, policies, probe.findings(df, report.metrics))]
    critical = [v for v in violations if v.severity == "CRITICAL"]
    return CheckOutcome(
        GOVERNANCE_CHECK, passed=not critical, critical=True, description=GOVERNANCE_DESCRIPTION,
        metadata={"violations": [v.as_dict() for v in violations], "critical": len(critical),
                  "warnings": len(violations) - len(critical)},
    )
