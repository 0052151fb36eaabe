"""The governance gate on the data, before the Delta commit.

It judges the published DataFrame against the policies it alone checks there: undeclared personal data,
and the interoperability types of columns the contract does not declare. Schema drift,
completeness and key uniqueness are policies too (SCHEMA-001, QUALITY-001, QUALITY-003), but the contract
checks judge and report them: each failure is reported once, by the check that owns it. The probe's
metrics ride in the contract's single aggregation (checks/metrics.py), so the gate adds no pass over the
data of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from mesh_platform.checks.evaluate import CheckOutcome
from mesh_platform.checks.metrics import Metric, MetricValues, Subexpressions
from mesh_platform.checks.names import GOVERNANCE_CHECK
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
class _Sampled(Metric):
    """A PII metric over the probe's sample of `column`: about `share` of its values, drawn by a hash of
    the value (Spark forbids rand() inside aggregates; a hash is deterministic and uniform over values)."""

    column: str
    share: float

    def values(self, shared: Subexpressions) -> Column:
        def sampled() -> Column:
            if self.share >= 1.0:  # a full probe when the table is small anyway
                return F.col(self.column)
            in_sample = F.abs(F.xxhash64(F.col(self.column))) % HASH_BUCKETS < int(self.share * HASH_BUCKETS)
            return F.when(in_sample, F.col(self.column))

        return shared.of(("pii_values", self.column, self.share), sampled)


@dataclass(frozen=True)
class PiiInspected(_Sampled):
    """The column's values in the sample."""

    @property
    def alias(self) -> str:
        return f"pii_inspected__{self.column}"

    def expression(self, shared: Subexpressions) -> Column:
        return F.count(self.values(shared))


@dataclass(frozen=True)
class PiiMatches(_Sampled):
    """Sampled values holding a match of `kind`."""

    kind: str

    @property
    def alias(self) -> str:
        return f"pii_matches__{self.column}__{self.kind}"

    def matches(self, shared: Subexpressions) -> Column:
        def match() -> Column:
            found = shared.of(("pii_searches", self.column, self.share), lambda: searches(self.values(shared)))
            text = found[self.kind]
            return F.when(text != "", text)

        return shared.of(("pii_matches", self.column, self.share, self.kind), match)

    def expression(self, shared: Subexpressions) -> Column:
        return F.count(self.matches(shared))


@dataclass(frozen=True)
class PiiExample(PiiMatches):
    """One matched text of `kind`, as an example: the least or greatest (`end`); for cards also those
    of even hash (`even_min`, `even_max`), two more to Luhn-check."""

    end: str

    @property
    def alias(self) -> str:
        return f"pii_example__{self.column}__{self.kind}__{self.end}"

    def expression(self, shared: Subexpressions) -> Column:
        match = self.matches(shared)
        if self.end.startswith("even_"):
            match = shared.of(("pii_even", self.column, self.share, self.kind),
                              lambda: F.when(F.xxhash64(match) % 2 == 0, match))
        return (F.min if self.end.endswith("min") else F.max)(match)


def _example_ends(kind: str) -> tuple[str, ...]:
    return ("min", "max", "even_min", "even_max") if kind == "card_number" else ("min", "max")


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

    @property
    def share(self) -> float:
        """Of the values inspected: about SAMPLE_ROWS rows' worth, sized from the previous publish, as
        these metrics ride in the pass that counts rows."""
        return min(1.0, SAMPLE_ROWS / self.expected_rows) if self.expected_rows else 1.0

    def inspected(self, column: str) -> PiiInspected:
        return PiiInspected(column, self.share)

    def matches(self, column: str, kind: str) -> PiiMatches:
        return PiiMatches(column, self.share, kind)

    def examples(self, column: str, kind: str) -> list[PiiExample]:
        return [PiiExample(column, self.share, kind, end) for end in _example_ends(kind)]

    def metrics(self) -> list[Metric]:
        """Per column and kind: the matching values, and the least and greatest match as examples (two
        aggregates, not a job; cards get two more, as findings flag a card column only when every example
        passes Luhn: random digit runs pass one time in ten). Over a uniform sample of about SAMPLE_ROWS
        rows: a column-level decision needs no more, and searching every value would cost more than the
        rest of the checks together."""
        found: list[Metric] = []
        for name in self.columns:
            found.append(self.inspected(name))
            for kind in PATTERNS:
                found += [self.matches(name, kind), *self.examples(name, kind)]
        return found

    def findings(self, values: MetricValues, thresholds: PiiThresholds = PiiThresholds()) -> dict[str, dict[str, Any]]:
        """Columns that hold PII: {column: {kind, matches, inspected, share, examples}}, the kind being the
        flagged one with most matches, the examples masked (the clear values never leave this function)."""
        found = {}
        for name in self.columns:
            inspected = values[self.inspected(name)]

            def examples(kind: str, name: str = name) -> list[str]:
                shown = (values[example] for example in self.examples(name, kind))
                return list(dict.fromkeys(e for e in shown if e is not None))

            hits = {k: values[self.matches(name, k)] for k in PATTERNS}
            flagged = [(hits[k], k) for k in PATTERNS
                       if inspected and thresholds.flags(k, hits[k], hits[k] / inspected)
                       and (k != "card_number" or all(map(luhn_valid, examples(k))))]
            if not flagged:
                continue
            matched, kind = max(flagged, key=lambda hk: hk[0])  # max keeps the first of equals: PATTERNS order
            found[name] = {"kind": kind, "matches": matched, "inspected": inspected,
                           "share": round(matched / inspected, 4),
                           "examples": list(dict.fromkeys(mask(kind, e) for e in examples(kind)))}
        return found


def _violation(policies: Policies, rule: str, contract: Contract, field: str, message: str) -> Violation | None:
    policy = policies.rules.get(rule)
    if policy is None or not policy.enabled:
        return None
    return Violation(rule, policy.severity, contract.key, "(published data)", field, message, policy.remediation)


# Policies on the data that a contract check judges (and reports, once): the gate leaves them out.
JUDGED_BY_CONTRACT_CHECKS = {
    "SCHEMA-001": "contract_schema: missing, extra and retyped columns",
    "QUALITY-001": "contract_nullability and the critical not_null rules: completeness",
    "QUALITY-003": "contract_primary_key: duplicate keys",
}


def _undeclared(df: DataFrame, contract: Contract) -> list[ContractColumn]:
    """The data's columns that the contract does not declare, which its own lint has not judged (a
    declared column of another type is the contract schema check's finding)."""
    declared = contract.published_columns
    return [ContractColumn.model_construct(name=f.name, type=f.dataType.simpleString(), pii=False)
            for f in df.schema.fields if not f.name.startswith("_") and f.name not in declared]


def data_violations(df: DataFrame, contract: Contract, policies: Policies, pii: dict[str, dict]) -> list[Violation]:
    """What the gate finds on the data that no other check reports: undeclared personal data, and the
    interoperability rules on the columns the contract does not declare."""
    found: list[Violation | None] = [
        _violation(policies, PII_RULE, contract, c, f"{v['matches']} of {v['inspected']} inspected values "
                   f"({v['share']:.1%}) look like {v['kind']}, e.g. {', '.join(v['examples'])}, but the "
                   "column is not declared pii") for c, v in pii.items()]
    interop = Policies({rule: p for rule, p in policies.rules.items() if rule.startswith("INTEROP-")})
    for column in _undeclared(df, contract):  # the contract's naming rules, on the data; located by column
        alone = Contract.model_construct(**{**dict(contract), "columns": [column]})
        found += [replace(v, field=column.name) for v in lint_contract(alone, interop, "(published data)")]
    return [v for v in found if v is not None]


def governance_outcome(
    df: DataFrame, contract: Contract, values: MetricValues, probe: PiiProbe, policies: Policies,
    static: list[Violation],
) -> CheckOutcome:
    """The product's governance report: the contract's violations (`static`) and those on the data that
    the gate owns; CRITICAL blocks. `values`: the contract checks' aggregation, with `probe`'s metrics."""
    pii = probe.findings(values, PiiThresholds.of(policies.rules.get(PII_RULE)))
    violations = [*static, *data_violations(df, contract, policies, pii)]
    critical = [v for v in violations if v.severity == "CRITICAL"]
    return CheckOutcome(
        GOVERNANCE_CHECK, passed=not critical, critical=True, description=GOVERNANCE_DESCRIPTION,
        metadata={"violations": [v.as_dict() for v in violations], "critical": len(critical),
                  "warnings": len(violations) - len(critical), "pii_findings": pii,
                  "judged_by_contract_checks": JUDGED_BY_CONTRACT_CHECKS},
    )
