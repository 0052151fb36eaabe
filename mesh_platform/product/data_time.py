"""Data time: when the data a product was built from was current, the minimum over its inputs.

A source's data time is its newest-data time (`mesh/newest_data_time` of its latest observation) when it
declares a freshness expectation, else the time of its latest observation (the data was checked current
then). An upstream product's is the `mesh/data_time` of the record of the version read (a renewal's, when
one confirmed that version), falling back to the record's timestamp. `mesh catalog`, `mesh health` and the
freshness alerts judge a product's SLA on it.
"""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetKey, DagsterInstance
from dagster._core.event_api import EventLogRecord

from mesh_platform.contracts.model import Contract
from mesh_platform.monitoring.records import data_time_metadata
from mesh_platform.sources.assets import NEWEST_DATA_TIME
from mesh_platform.storage.layout import bronze_key


def latest_observation(instance: DagsterInstance, key: AssetKey) -> EventLogRecord | None:
    return next(iter(instance.fetch_observations(key, limit=1).records), None)


def observation_data_time(record: EventLogRecord) -> float:
    entry = record.asset_observation.metadata.get(NEWEST_DATA_TIME) if record.asset_observation else None
    value = getattr(entry, "value", None)
    return float(value) if value is not None else record.timestamp


def source_data_time(instance: DagsterInstance, key: AssetKey, now: float) -> float:
    """A source's data time; `now` for a source never observed (the build reads it as it is now)."""
    record = latest_observation(instance, key)
    return observation_data_time(record) if record else now


def oldest(times: Iterable[float | None], now: float) -> float:
    known = [t for t in times if t is not None]
    return min(known) if known else now


def build_data_time(instance: DagsterInstance, contract: Contract, read: list, now: float) -> dict:
    """The data time metadata of a build of `contract` that read the products `read` (UpstreamVersion)."""
    sources = [source_data_time(instance, bronze_key(contract.domain, t), now) for t in contract.sources]
    return data_time_metadata(oldest([*sources, *(u.data_time for u in read)], now))
