"""Mesh-wide compliance: the share of products passing governance, by domain."""

from __future__ import annotations

from dataclasses import dataclass

from dagster import AssetCheckKey, AssetKey, DagsterInstance
from dagster._core.storage.asset_check_execution_record import (
    COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES,
    AssetCheckExecutionRecordStatus,
)

from mesh_platform.checks.names import (
    GOVERNANCE_CHECK,
    NULLABILITY_CHECK,
    PRIMARY_KEY_CHECK,
    SCHEMA_CHECK,
    rule_check_name,
)
from mesh_platform.checks.specs import contract_checks
from mesh_platform.contracts import Contract
from mesh_platform.governance.lint import lint_domain
from mesh_platform.governance.violations import critical
from mesh_platform.mesh import domains_dir

HISTORY = 20  # executions looked through for the latest verdict behind planned ones


@dataclass(frozen=True)
class ProductCompliance:
    product: str
    static_critical: int
    data_verdict: str  # passed | failed | not built

    @property
    def passing(self) -> bool:
        return self.static_critical == 0 and self.data_verdict == "passed"


def product_compliance(instance: DagsterInstance, contracts: dict[str, Contract]) -> list[ProductCompliance]:
    """A product passes when its contract has no CRITICAL violation, its latest governance report passed
    and none of the contract checks judging policies on its data (schema, nulls, keys) last failed."""
    static = {d: critical(lint_domain(domains_dir() / d)) for d in {c.domain for c in contracts.values()}}
    keys = {k: [AssetCheckKey(AssetKey([c.domain, c.asset_name]), name) for name in _judging_checks(c)]
            for k, c in contracts.items()}
    latest = _latest_verdicts(instance, [check for checks in keys.values() for check in checks])
    return [
        ProductCompliance(
            product=key,
            # a domain-wide violation (a loosened policy, GOVERNANCE-001) counts against each of its products
            static_critical=sum(v.product in {key, contract.domain} for v in static[contract.domain]),
            data_verdict=_data_verdict([latest.get(check) for check in keys[key]]),
        )
        for key, contract in sorted(contracts.items())
    ]


def _latest_verdicts(instance: DagsterInstance, checks: list[AssetCheckKey]) -> dict:
    """Each check's latest completed execution. A build in progress, or one that crashed, leaves its checks
    planned: no verdict, so the one before it still stands (as for the consumers, product/upstream.py)."""
    latest = dict(instance.event_log_storage.get_latest_asset_check_execution_by_key(checks))
    for check, record in list(latest.items()):
        if record.status not in COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES:
            history = instance.event_log_storage.get_asset_check_execution_history(check, limit=HISTORY)
            done = [r for r in history if r.status in COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES]
            latest[check] = done[0] if done else None
    return latest


def _judging_checks(contract: Contract) -> list[str]:
    """The governance report, and the contract checks that judge the policies it leaves to them on the
    data (SCHEMA-001, QUALITY-001, QUALITY-003: see gate.JUDGED_BY_CONTRACT_CHECKS)."""
    completeness = {rule_check_name(r.rule, r.column) for r in contract.quality
                    if r.rule == "not_null" and r.severity == "critical"}
    owned = {SCHEMA_CHECK, NULLABILITY_CHECK, PRIMARY_KEY_CHECK} | completeness
    return [GOVERNANCE_CHECK, *(c.name for c in contract_checks(contract) if c.name in owned)]


def _data_verdict(records: list) -> str:
    """`records`: the latest evaluation of each judging check, the governance report's first."""
    if records[0] is None:
        return "not built"
    statuses = {r.status for r in records if r is not None}
    if AssetCheckExecutionRecordStatus.FAILED in statuses:
        return "failed"
    return "passed" if records[0].status == AssetCheckExecutionRecordStatus.SUCCEEDED else "not built"


def shares_by_domain(results: list[ProductCompliance]) -> dict[str, float]:
    domains = sorted({r.product.split(".")[0] for r in results})
    return {
        d: sum(r.passing for r in results if r.product.startswith(d + ".")) /
        sum(1 for r in results if r.product.startswith(d + "."))
        for d in domains
    }
