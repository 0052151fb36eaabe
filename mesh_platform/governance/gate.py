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
from mesh_platform.governance.lint import lint_contract
from mesh_platform.governance.pii import PATTERNS, WHOLE_VALUE_KINDS, luhn_valid, mask, searches
from mesh_platform.governance.policies import Policies, RulePolicy
from mesh_platform.governance.violations import Violation

SAMPLE_ROWS, HASH_BUCKETS = 20_000, 1_000_000
PII_RULE = "SECURITY-002"


@dataclass(frozen=True)
class PiiThresholds:
    """When a column counts as holding PII (SECURITY-002's params; see governance/policies.yaml)."""

    min_matches: int = 3  # matching values that flag a column, however large
    min_share: float = 0.01  # ... or this share of the inspected values, if fewer (small tables)
    name_min_share: float = 0.2  # personal names are weak evidence: a share, never a count

    @classmethod
    def of(cls, policy: RulePolicy | None) -> PiiThresholds:
        params = policy.params if policy else {}
        return cls(**{k: params[k] for k in ("min_matches", "min_share", "name_min_share") if k in params})

    def flags(self, kind: str, hits: int, share: float) -> bool:
        if kind in WHOLE_VALUE_KINDS:
            return share >= self.name_min_share
        return hits >= self.min_matches or (hits > 0 and share >= self.min_share)


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
        """Per column and kind: the matching values, and the least and greatest match as examples (two
        aggregates, not a job; cards get two more, as findings flag a card column only when every example
        passes Luhn: random digit runs pass one time in ten). Over a uniform sample of about SAMPLE_ROWS
        rows: a column-level decision needs no more, and searching every value would cost more than the
        rest of the checks together. The sample is sized from the previous publish, as these metrics ride
        in the pass that counts rows."""
        share = min(1.0, SAMPLE_ROWS / self.expected_rows) if self.expected_rows else 1.0
        found = []
        for i, name in enumerate(self.columns):
            # Spark forbids rand() inside aggregates, so the sample is drawn by a hash of the value
            # (deterministic, uniform over values); a full probe when the table is small anyway.
            in_sample = F.abs(F.xxhash64(F.col(name))) % HASH_BUCKETS < int(share * HASH_BUCKETS)
            value = F.col(name) if share >= 1.0 else F.when(in_sample, F.col(name))
            found.append(F.count(value).alias(f"pii_{i}_values"))
            for kind, text in searches(value).items():
                match = F.when(text != "", text)
                found += [F.count(match).alias(f"pii_{i}_{kind}"), F.min(match).alias(f"pii_{i}_{kind}_min"),
                          F.max(match).alias(f"pii_{i}_{kind}_max")]
                if kind == "card_number":  # two more examples to Luhn-check: those of even hash
                    even = F.when(F.xxhash64(match) % 2 == 0, match)
                    found += [F.min(even).alias(f"pii_{i}_{kind}_even_min"),
                              F.max(even).alias(f"pii_{i}_{kind}_even_max")]
        return found

    def findings(self, row, thresholds: PiiThresholds = PiiThresholds()) -> dict[str, dict[str, Any]]:
        """Columns that hold PII: {column: {kind, matches, inspected, share, examples}}, the kind being the
        flagged one with most matches, the examples masked (the clear values never leave this function)."""
        found = {}
        for i, name in enumerate(self.columns):
            inspected = row[f"pii_{i}_values"]
            flagged = [(row[f"pii_{i}_{k}"], k) for k in PATTERNS
                       if inspected and thresholds.flags(k, row[f"pii_{i}_{k}"], row[f"pii_{i}_{k}"] / inspected)
                       and (k != "card_number" or all(map(luhn_valid, _examples(row, i, k))))]
            if not flagged:
                continue
            hits, kind = max(flagged, key=lambda hk: hk[0])  # max keeps the first of equals: PATTERNS order
            found[name] = {"kind": kind, "matches": hits, "inspected": inspected, "share": round(hits / inspected, 4),
                           "examples": list(dict.fromkeys(mask(kind, e) for e in _examples(row, i, kind)))}
        return found


def _examples(row, i: int, kind: str) -> list[str]:
    ends = ("min", "max", "even_min", "even_max") if kind == "card_number" else ("min", "max")
    return list(dict.fromkeys(e for e in (row[f"pii_{i}_{kind}_{end}"] for end in ends) if e is not None))


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
    found += [_violation(policies, PII_RULE, contract, c, f"{v['matches']} of {v['inspected']} inspected values "
                         f"({v['share']:.1%}) look like {v['kind']}, e.g. {', '.join(v['examples'])}, but the "
                         "column is not declared pii") for c, v in pii.items()]
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
    pii = probe.findings(report.metrics, PiiThresholds.of(policies.rules.get(PII_RULE)))
    violations = [*static, *data_violations(df, contract, report, policies, pii)]
    critical = [v for v in violations if v.severity == "CRITICAL"]
    return CheckOutcome(
        GOVERNANCE_CHECK, passed=not critical, critical=True, description=GOVERNANCE_DESCRIPTION,
        metadata={"violations": [v.as_dict() for v in violations], "critical": len(critical),
                  "warnings": len(violations) - len(critical), "pii_findings": pii},
    )
