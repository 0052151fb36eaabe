"""Mesh-wide compliance: the share of products passing governance, by domain."""

from __future__ import annotations

from dataclasses import dataclass

from dagster import AssetCheckKey, AssetKey, DagsterInstance
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from mesh_platform.checks.names import GOVERNANCE_CHECK
from mesh_platform.contracts import Contract
from mesh_platform.governance.lint import critical, lint_domain
from mesh_platform.mesh import domains_dir


@dataclass(frozen=True)
class ProductCompliance:
    product: str
    static_critical: int
    data_verdict: str  # passed | failed | not built

    @property
    def passing(self) -> bool:
        return self.static_critical == 0 and self.data_verdict == "passed"


def product_compliance(instance: DagsterInstance, contracts: dict[str, Contract]) -> list[ProductCompliance]:
    """A product passes when its contract has no CRITICAL violation and its latest governance report passed."""
    static = {d: critical(lint_domain(domains_dir() / d)) for d in {c.domain for c in contracts.values()}}
    keys = {k: AssetCheckKey(AssetKey([c.domain, c.asset_name]), GOVERNANCE_CHECK) for k, c in contracts.items()}
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(keys.values()))
    verdicts = {
        AssetCheckExecutionRecordStatus.SUCCEEDED: "passed",
        AssetCheckExecutionRecordStatus.FAILED: "failed",
    }
    return [
        ProductCompliance(
            product=key,
            # a domain-wide violation (a loosened policy, GOVERNANCE-001) counts against each of its products
            static_critical=sum(v.product in {key, contract.domain} for v in static[contract.domain]),
            data_verdict=verdicts.get(getattr(latest.get(keys[key]), "status", None), "not built"),
        )
        for key, contract in sorted(contracts.items())
    ]


def shares_by_domain(results: list[ProductCompliance]) -> dict[str, float]:
    domains = sorted({r.product.split(".")[0] for r in results})
    return {
        d: sum(r.passing for r in results if r.product.startswith(d + ".")) /
        sum(1 for r in results if r.product.startswith(d + "."))
        for d in domains
    }
