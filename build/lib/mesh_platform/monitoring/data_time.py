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

from dagster import AssetKey, DagsterInstance, EventLogEntry

from mesh_platform.contracts.model import Contract
from mesh_platform.sources.assets import NEWEST_DATA_TIME
from mesh_platform.storage.layout import BRONZE, bronze_key, product_key

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


@dataclass(frozen=True)
class SourceExpectation:
    """A source's freshness expectation (sources.yaml), judged like a product's SLA on its newest data."""

    name: str  # domain.bronze.source: the asset key, which a product of the same name cannot take
    key: AssetKey
    owner: str
    max_age_hours: float


def source_expectations(contracts: Mapping[str, Contract]) -> list[SourceExpectation]:
    """The sources of the mesh that declare how old their newest data may be."""
    from mesh_platform.mesh import domain_sources  # the mesh's declarations, read where they are needed

    owners = {c.domain: c.owner for c in contracts.values()}
    return [
        SourceExpectation(f"{domain}.{BRONZE}.{s.name}", bronze_key(domain, s.name), owner, s.freshness.max_age_hours)
        for domain, owner in sorted(owners.items())
        for s in domain_sources(domain).values() if s.freshness
    ]


def source_verdicts(expectations: list[SourceExpectation], instance: DagsterInstance, now: float) -> dict[str, SlaVerdict]:
    """Each source's verdict at `now`, on the newest-data time its latest observation recorded.

    Dagster 1.13 judges a freshness policy on materializations only, so an observed source's policy stays
    unknown in the UI: this is where its expectation is kept.
    """
    verdicts = {}
    for source in expectations:
        latest = instance.fetch_observations(source.key, limit=1).records
        observation = latest[0].asset_observation if latest else None
        newest = observation.metadata.get(NEWEST_DATA_TIME) if observation else None
        newest = getattr(newest, "value", newest)
        if not isinstance(newest, int | float):
            verdicts[source.name] = SlaVerdict(source.name, source.max_age_hours, NEVER_PUBLISHED, None, None, None)
            continue
        age = max(0.0, now - float(newest)) / 3600
        state = "failing" if age > source.max_age_hours else "passing"
        verdicts[source.name] = SlaVerdict(source.name, source.max_age_hours, state, float(newest),
                                           latest[0].timestamp, round(age, 4))
    return verdicts
