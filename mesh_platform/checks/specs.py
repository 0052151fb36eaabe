"""The asset checks a contract implies: schema, nullability and one per quality rule."""

from __future__ import annotations

from dataclasses import dataclass

from dagster import AssetCheckSpec, AssetKey, PartitionsDefinition

from mesh_platform.checks.names import (
    DISTRIBUTION_DRIFT_CHECK,
    GOVERNANCE_CHECK,
    NULLABILITY_CHECK,
    PRIMARY_KEY_CHECK,
    ROW_COUNT_CHECK,
    SCHEMA_CHECK,
    SCHEMA_DRIFT_CHECK,
    UPSTREAM_CHECK,
    rule_check_name,
)
from mesh_platform.contracts.model import Contract, QualityRule

UPSTREAM_DESCRIPTION = "Consumed products were read published, fresh and passing their blocking checks"
GOVERNANCE_DESCRIPTION = "Complies with the council's and the domain's policies, on the contract and on the data"
SCHEMA_DRIFT_DESCRIPTION = "Schema unchanged since the previous version unless the contract version changed"
DISTRIBUTION_DRIFT_DESCRIPTION = "Row count, null shares and value ranges within the band of recent publishes"


@dataclass(frozen=True)
class CheckDef:
    name: str
    critical: bool
    description: str


def _threshold(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:g}"  # a date bound as written, e.g. as_of - 30 years


def row_count_description(contract: Contract) -> str:
    if contract.min_rows:
        return f"At least {contract.min_rows:,} rows"
    return "May be empty (allow_empty)" if contract.allow_empty else "Not empty (an empty build is refused)"


def _describe(rule: QualityRule) -> str:
    match rule.rule:
        case "not_null":
            return f"{rule.column} is non-null in at least {rule.threshold:.2%} of rows"
        case "unique":
            return f"{rule.column} is unique"
        case "min":
            return f"{rule.column} >= {_threshold(rule.value)}"
        case "max":
            return f"{rule.column} <= {_threshold(rule.value)}"
        case "allowed_values":
            return f"{rule.column} in {{{', '.join(map(str, rule.values))}}}"
    raise ValueError(rule.rule)


def contract_checks(contract: Contract) -> list[CheckDef]:
    checks = [
        CheckDef(SCHEMA_CHECK, True, "Columns and types match the contract (pandera), no extra columns"),
    ]
    checks.append(CheckDef(ROW_COUNT_CHECK, True, row_count_description(contract)))
    required = [c.name for c in contract.columns if not c.nullable]
    if required:
        checks.append(CheckDef(NULLABILITY_CHECK, True, f"No nulls in {', '.join(required)}"))
    if contract.primary_key:
        key = ", ".join(contract.primary_key)
        checks.append(CheckDef(PRIMARY_KEY_CHECK, True, f"({key}) identifies exactly one row"))
    checks += [
        CheckDef(rule_check_name(r.rule, r.column), r.severity == "critical", _describe(r))
        for r in contract.quality
    ]
    checks.append(CheckDef(GOVERNANCE_CHECK, True, GOVERNANCE_DESCRIPTION))
    if contract.dependencies:
        checks.append(CheckDef(UPSTREAM_CHECK, False, UPSTREAM_DESCRIPTION))
    checks += [CheckDef(SCHEMA_DRIFT_CHECK, False, SCHEMA_DRIFT_DESCRIPTION),
               CheckDef(DISTRIBUTION_DRIFT_CHECK, False, DISTRIBUTION_DRIFT_DESCRIPTION)]
    return checks


def check_specs(contract: Contract, asset_key: AssetKey,
                partitions_def: PartitionsDefinition | None = None) -> list[AssetCheckSpec]:
    # Critical checks block: a failure stops publication and downstream steps. A partitioned product's
    # checks are partitioned with it: each partition's build records its own verdicts.
    return [
        AssetCheckSpec(c.name, asset=asset_key, blocking=c.critical, description=c.description,
                       partitions_def=partitions_def)
        for c in contract_checks(contract)
    ]
