"""Data time: how old the data a product holds is, and the SLA verdict on it.

A product's SLA promises the age of its data, not of its build: a product rebuilt a minute ago from an
input that is a day old holds day-old data. Each materialization records its data time (`mesh/data_time`,
epoch seconds: the oldest of its inputs' data times at the versions read); a runless "still current"
renewal is a materialization too and carries the data time it confirms. A record without it (written
before data times were recorded, or by a hand-reported event) counts from its own timestamp.
`mesh catalog`, `mesh health` and the freshness alerts judge the SLA here.

A partitioned product is judged on its newest partition, the last key of its partitions definition (the
period holding the mesh's as-of date, or now): rebuilding 1994 does not make a mesh whose 1998 partition
is missing or stale fresh. A product whose newest partition was never built fails its SLA once any of its
partitions was published. Dagster 1.13's FreshnessPolicy cannot be told this: it judges an asset on its
latest materialization of any partition, so the UI's "Freshness policy" of a partitioned product may pass
where this judgement (alerts, `mesh health`, `mesh catalog`) fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, EventLogEntry
from dagster._time import get_current_timestamp  # the clock Dagster's partitions (and freeze_time) follow

from mesh_platform import settings
from mesh_platform.contracts.model import Contract
from mesh_platform.contracts.partitioning import ValuePartitioning
from mesh_platform.sources.assets import NEWEST_DATA_TIME
from mesh_platform.storage.layout import BRONZE, bronze_key, product_key

DATA_TIME = "mesh/data_time"
NEVER_PUBLISHED = "never published"
KEY_FORMAT = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}  # a time partition's key (product/partitions.py)


@dataclass(frozen=True)
class SlaVerdict:
    product: str
    sla_hours: float
    state: str  # passing | warning (older than warn_after_hours) | failing (older than the SLA) | never published
    data_time: float | None  # epoch seconds of the newest data the product is sure to hold
    materialized_at: float | None  # the latest materialization (a build or a renewal)
    age_hours: float | None  # of the data, at the time judged
    partition: str | None = None  # of a partitioned product: the newest partition, which is what is judged

    @property
    def within_sla(self) -> bool:
        return self.state in ("passing", "warning")


def data_time(entry: EventLogEntry) -> float:
    """The data time a materialization records; its own timestamp when it records none."""
    materialization = entry.asset_materialization
    value = materialization.metadata.get(DATA_TIME) if materialization else None
    value = getattr(value, "value", value)  # a FloatMetadataValue once stored
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else entry.timestamp


def judge(contract: Contract, latest: EventLogEntry | None, now: float, partition: str | None = None,
          published: bool = False) -> SlaVerdict:
    """The verdict on `contract`'s SLA given its latest materialization (None: never materialized); of a
    partitioned product, `latest` is that of its newest `partition`, and `published` whether any other
    partition was: a missing newest partition of a published product fails."""
    sla = contract.sla.freshness_hours
    if latest is None:
        state = "failing" if published else NEVER_PUBLISHED
        return SlaVerdict(contract.key, sla, state, None, None, None, partition)
    at = data_time(latest)
    age = max(0.0, now - at) / 3600
    warn = contract.sla.warn_after_hours
    state = "failing" if age > sla else "warning" if warn is not None and age > warn else "passing"
    return SlaVerdict(contract.key, sla, state, at, latest.timestamp, round(age, 4), partition)


def newest_partition(contract: Contract) -> str | None:
    """The last key of a partitioned product's partitions definition (None: unpartitioned): the partition
    that should exist now. The same key product/partitions.py's definition ends with (the period holding the
    mesh's as-of date, or today by Dagster's clock; the last value), kept here without importing product/,
    which imports this module."""
    partitioning = contract.partitioning
    if partitioning is None:
        return None
    if isinstance(partitioning, ValuePartitioning):
        return partitioning.values[-1]
    day = settings.fixed_as_of() or datetime.fromtimestamp(get_current_timestamp(), UTC).date()
    return day.strftime(KEY_FORMAT[partitioning.every])


def latest_of_partition(instance: DagsterInstance, key: AssetKey, partition: str) -> EventLogEntry | None:
    """The latest materialization (a build or a renewal) of `partition` of `key`."""
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=key, asset_partitions=[partition]),
                                              limit=1).records
    return records[0].event_log_entry if records else None


def sla_verdicts(contracts: Mapping[str, Contract], instance: DagsterInstance, now: float) -> dict[str, SlaVerdict]:
    """Each product's verdict at `now`, from one event-log query for all their latest materializations and
    one per partitioned product for its newest partition."""
    keys = {product_key(c.domain, c.asset_name): c for c in contracts.values()}
    latest = instance.event_log_storage.get_latest_materialization_events(list(keys))
    verdicts = {}
    for key, contract in keys.items():
        partition = newest_partition(contract)
        if partition is None:
            verdicts[contract.key] = judge(contract, latest.get(key), now)
        else:
            newest = latest_of_partition(instance, key, partition) if latest.get(key) else None
            verdicts[contract.key] = judge(contract, newest, now, partition, published=latest.get(key) is not None)
    return verdicts


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
