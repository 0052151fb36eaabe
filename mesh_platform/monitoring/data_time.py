"""Data time: how old the data a product holds is, and the SLA verdict on it.

A product's SLA promises the age of its data, not of its build: a product rebuilt a minute ago from an
input that is a day old holds day-old data. Each materialization records its data time (`mesh/data_time`,
epoch seconds: the oldest of its inputs' data times at the versions read); a runless "still current"
renewal is a materialization too and carries the data time it confirms. A record without it (written
before data times were recorded, or by a hand-reported event) counts from its own timestamp.
`mesh catalog`, `mesh health` and the freshness alerts judge the SLA here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dagster import DagsterInstance, EventLogEntry

from mesh_platform.contracts.model import Contract
from mesh_platform.storage.layout import product_key

DATA_TIME = "mesh/data_time"
NEVER_PUBLISHED = "never published"


@dataclass(frozen=True)
class SlaVerdict:
    product: str
    sla_hours: float
    state: str  # passing | warning (older than warn_after_hours) | failing (older than the SLA) | never published
    data_time: float | None  # epoch seconds of the newest data the product is sure to hold
    materialized_at: float | None  # the latest materialization (a build or a renewal)
    age_hours: float | None  # of the data, at the time judged

    @property
    def within_sla(self) -> bool:
        return self.state in ("passing", "warning")


def data_time(entry: EventLogEntry) -> float:
    """The data time a materialization records; its own timestamp when it records none."""
    materialization = entry.asset_materialization
    value = materialization.metadata.get(DATA_TIME) if materialization else None
    value = getattr(value, "value", value)  # a FloatMetadataValue once stored
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else entry.timestamp


def judge(contract: Contract, latest: EventLogEntry | None, now: float) -> SlaVerdict:
    """The verdict on `contract`'s SLA given its latest materialization (None: never materialized)."""
    sla = contract.sla.freshness_hours
    if latest is None:
        return SlaVerdict(contract.key, sla, NEVER_PUBLISHED, None, None, None)
    at = data_time(latest)
    age = max(0.0, now - at) / 3600
    warn = contract.sla.warn_after_hours
    state = "failing" if age > sla else "warning" if warn is not None and age > warn else "passing"
    return SlaVerdict(contract.key, sla, state, at, latest.timestamp, round(age, 4))


def sla_verdicts(contracts: Mapping[str, Contract], instance: DagsterInstance, now: float) -> dict[str, SlaVerdict]:
    """Each product's verdict at `now`, from one event-log query for all their latest materializations."""
    keys = {product_key(c.domain, c.asset_name): c for c in contracts.values()}
    latest = instance.event_log_storage.get_latest_materialization_events(list(keys))
    return {c.key: judge(c, latest.get(key), now) for key, c in keys.items()}
