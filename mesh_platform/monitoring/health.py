"""The mesh's own health, per domain: how independent, discoverable, governed and fresh its products are.

- cross-domain dependency ratio, CDR(d): the share of d's products that consume another domain's
  product. Low means domains can change and ship on their own (target < 0.2).
- discoverability: weighted completeness of what a consumer needs to find and trust a product:
  documented columns, columns guarded by a quality rule (or key / non-null), declared lineage.
- governance compliance: the share of products passing governance (see governance/compliance.py).
- freshness compliance: the share of products whose data is within their freshness SLA, judged on the
  data time of their latest materialization (monitoring/data_time.py), not on when it was built.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from dagster import DagsterInstance

from mesh_platform.contracts.lifecycle import lifecycle
from mesh_platform.contracts.model import Contract
from mesh_platform.governance.compliance import product_compliance
from mesh_platform.monitoring.data_time import sla_verdicts

CDR_TARGET = 0.2
DISCOVERABILITY_WEIGHTS = {"schema_docs": 0.4, "quality_rules": 0.3, "lineage": 0.3}


@dataclass(frozen=True)
class DomainHealth:
    domain: str
    products: int
    cross_domain_dependency_ratio: float
    discoverability: float
    governance_compliance: float
    freshness_compliance: float

    @property
    def cdr_within_target(self) -> bool:
        return self.cross_domain_dependency_ratio < CDR_TARGET

    def as_dict(self) -> dict:
        return {**asdict(self), "cdr_within_target": self.cdr_within_target}


def discoverability(contract: Contract) -> float:
    columns = [c.name for c in contract.columns]
    documented = sum(1 for c in contract.columns if c.description.strip()) / len(columns)
    guarded = {r.column for r in contract.quality} | set(contract.primary_key)
    guarded |= {c.name for c in contract.columns if not c.nullable}
    parts = {
        "schema_docs": documented,
        "quality_rules": len(guarded & set(columns)) / len(columns),
        "lineage": 1.0 if contract.sources or contract.dependencies else 0.0,
    }
    return sum(DISCOVERABILITY_WEIGHTS[k] * v for k, v in parts.items())


def mesh_health(contracts: dict[str, Contract], instance: DagsterInstance, now: float | None = None) -> list[DomainHealth]:
    """One row per domain, over its products that are still built (retired majors left out)."""
    now = now or time.time()
    live = {k: c for k, c in contracts.items() if lifecycle(c) != "retired"}
    passing = {r.product: r.passing for r in product_compliance(instance, live)}
    verdicts = sla_verdicts(live, instance, now)
    rows = []
    for domain in sorted({c.domain for c in live.values()}):
        own = [c for c in live.values() if c.domain == domain]

        def share(values: list[bool | float], own: list[Contract] = own) -> float:
            return round(sum(values) / len(own), 4)

        rows.append(DomainHealth(
            domain=domain,
            products=len(own),
            cross_domain_dependency_ratio=share([any(d.domain != domain for d in c.dependencies) for c in own]),
            discoverability=share([discoverability(c) for c in own]),
            governance_compliance=share([passing[c.key] for c in own]),
            freshness_compliance=share([verdicts[c.key].within_sla for c in own]),
        ))
    return rows
