"""Catalog entries: what the contracts declare, joined with what the instance and the lake observed."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dagster import AssetCheckKey, DagsterInstance

from mesh_platform.access.audit import reads, usage
from mesh_platform.checks.specs import contract_checks
from mesh_platform.contracts.lifecycle import deprecation_notice, lifecycle
from mesh_platform.contracts.model import Contract
from mesh_platform.monitoring.data_time import NEVER_PUBLISHED, SlaVerdict, sla_verdicts
from mesh_platform.storage.layout import product_key, product_path

RENEWALS_LOOKED_BACK = 50


@dataclass(frozen=True)
class CatalogEntry:
    product: str
    domain: str
    version: str
    owner: str
    kind: str
    description: str
    tags: list[str]
    columns: list[str]
    pii_columns: list[str]
    sla_hours: float
    consumers: list[str]
    depends_on: list[str]
    used_by: list[str]
    freshness: str  # fresh | stale | never published: the SLA judged on the data's time (monitoring/data_time.py)
    last_published_at: float | None
    sla_state: str = "never published"  # passing | warning | failing | never published
    data_time: float | None = None  # epoch seconds: the oldest input data the latest materialization holds
    data_age_hours: float | None = None
    checks: dict[str, str] = field(default_factory=dict)  # check name -> latest status
    reads: int = 0
    lifecycle: str = "active"  # active | deprecated | retired
    notice: str | None = None  # what consumers of a deprecated or retired major are told
    location: str = ""  # the Delta table's path in the lake
    row_count: int | None = None  # as the latest materialization recorded it (None: never published or not recorded)

    @property
    def checks_failed(self) -> list[str]:
        return [name for name, status in self.checks.items() if status == "FAILED"]

    def as_dict(self) -> dict:
        return {**asdict(self), "checks_failed": self.checks_failed}


def _latest_checks(instance: DagsterInstance, contracts: list[Contract]) -> dict[str, dict[str, str]]:
    """product -> check name -> latest status, in one event-log query."""
    keys = {
        AssetCheckKey(product_key(c.domain, c.asset_name), check.name): c.key
        for c in contracts for check in contract_checks(c)
    }
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(keys))
    found: dict[str, dict[str, str]] = {c.key: {} for c in contracts}
    for key, record in latest.items():
        found[keys[key]][key.name] = record.status.value
    return found


def _row_count(event) -> int | None:
    value = event.asset_materialization.metadata.get("dagster/row_count") if event and event.asset_materialization else None
    return value.value if isinstance(getattr(value, "value", None), int) else None


def _row_counts(instance: DagsterInstance, contracts: list[Contract]) -> dict[str, int]:
    """product -> `dagster/row_count` of its latest materialization that records one: a runless "still
    current" renewal records none (the data did not change), so the build before it counts."""
    keys = {product_key(c.domain, c.asset_name): c.key for c in contracts}
    counts = {}
    for key, event in instance.event_log_storage.get_latest_materialization_events(list(keys)).items():
        count = _row_count(event)
        if count is None and event is not None:  # renewed: look back over recent records (one query each)
            records = instance.fetch_materializations(key, limit=RENEWALS_LOOKED_BACK).records
            count = next((c for r in records if (c := _row_count(r.event_log_entry)) is not None), None)
        if count is not None:
            counts[keys[key]] = count
    return counts


def freshness_word(verdict: SlaVerdict) -> str:
    """fresh | stale | never published: whether the product's data is within its SLA."""
    return verdict.state if verdict.state == NEVER_PUBLISHED else "fresh" if verdict.within_sla else "stale"


def catalog_entries(
    contracts: dict[str, Contract], instance: DagsterInstance, lake_root: Path, only: set[str] | None = None
) -> list[CatalogEntry]:
    """Entries for `only` those products if given; lineage is always judged over all `contracts`."""
    chosen = {k: c for k, c in sorted(contracts.items()) if only is None or k in only}
    used = usage(reads(lake_root, next(iter(only)) if only and len(only) == 1 else None))
    checks = _latest_checks(instance, list(chosen.values()))
    verdicts = sla_verdicts(chosen, instance, time.time())
    row_counts = _row_counts(instance, list(chosen.values()))
    entries = []
    for key, contract in chosen.items():
        verdict = verdicts[key]
        entries.append(CatalogEntry(
            product=key, domain=contract.domain, version=contract.version, owner=contract.owner,
            kind=contract.kind, description=" ".join(contract.description.split()), tags=list(contract.tags),
            columns=[c.name for c in contract.columns], pii_columns=[c.name for c in contract.columns if c.pii],
            sla_hours=contract.sla.freshness_hours, consumers=list(contract.access.consumers),
            depends_on=[d.product for d in contract.dependencies],
            used_by=sorted(k for k, c in contracts.items() if key in {d.product for d in c.dependencies}),
            freshness=freshness_word(verdict), last_published_at=verdict.materialized_at, sla_state=verdict.state,
            data_time=verdict.data_time, data_age_hours=verdict.age_hours, checks=checks[key],
            reads=used[key].read_count if key in used else 0,
            lifecycle=lifecycle(contract), notice=deprecation_notice(contract),
            location=str(product_path(lake_root, contract.domain, contract.asset_name)), row_count=row_counts.get(key),
        ))
    return entries


def search(
    entries: list[CatalogEntry], text: str | None = None, domain: str | None = None, owner: str | None = None,
    tag: str | None = None, column: str | None = None, pii: bool = False,
) -> list[CatalogEntry]:
    """Entries matching every given criterion; `text` matches name, description, tags and columns."""
    def matches(e: CatalogEntry) -> bool:
        haystack = " ".join([e.product, e.description, *e.tags, *e.columns]).lower()
        return all([
            not text or all(word in haystack for word in text.lower().split()),
            not domain or e.domain == domain,
            not owner or e.owner in {owner, f"team:{owner}"},
            not tag or tag in e.tags,
            not column or column in e.columns,
            not pii or bool(e.pii_columns),
        ])
    return [e for e in entries if matches(e)]
