"""A product's materialization records: real builds, and renewals that confirm one ("checked, still current").

A renewal is a runless AssetMaterialization the `<domain>_sources` sensor reports for a product whose
inputs have not changed since its build: it carries the build's data version, Delta version and data
time, `mesh/still_current: true` and `mesh/confirms_run: <run id of the build>`. Dagster's freshness
policy judges the latest materialization only, so a renewal keeps the SLA without a rebuild; readers
that mean builds (drift history, cost, the blocking-check verdicts) look through renewals.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, MetadataValue
from dagster._core.event_api import EventLogRecord

from mesh_platform.monitoring.data_time import DATA_TIME  # epoch seconds: the oldest input's data time
from mesh_platform.monitoring.data_time import data_time as entry_data_time  # one reading, records and entries

STILL_CURRENT = "mesh/still_current"
CONFIRMS_RUN = "mesh/confirms_run"
DATA_TIME_TEXT = "data_time"  # the same, ISO text, for people
PAGE = 100


def _value(record: EventLogRecord, name: str):
    entry = record.asset_materialization.metadata.get(name) if record.asset_materialization else None
    return getattr(entry, "value", entry)


def is_renewal(record: EventLogRecord) -> bool:
    return bool(_value(record, STILL_CURRENT))


def build_run_id(record: EventLogRecord) -> str:
    """The run of the build a record stands for: its own, or the one a renewal confirms."""
    return str(_value(record, CONFIRMS_RUN) or "") if is_renewal(record) else record.run_id


def data_time(record: EventLogRecord) -> float:
    """When the record's data was current: its `mesh/data_time`, or, for older records, its timestamp."""
    return entry_data_time(record.event_log_entry)


def data_time_metadata(seconds: float) -> dict[str, MetadataValue]:
    iso = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
    return {DATA_TIME: MetadataValue.float(round(seconds, 3)), DATA_TIME_TEXT: MetadataValue.text(iso)}


def builds(instance: DagsterInstance, key: AssetKey, limit: int, after_timestamp: float | None = None,
           partition: str | None = None, after_storage_id: int | None = None) -> list[EventLogRecord]:
    """The latest `limit` real builds of `key` (of its `partition` only, when given), renewals skipped, newest first."""
    found = []
    for record in _records(instance, key, after_timestamp, partition, after_storage_id):
        if not is_renewal(record):
            found.append(record)
            if len(found) >= limit:
                break
    return found


def _records(instance: DagsterInstance, key: AssetKey, after_timestamp: float | None, partition: str | None = None,
             after_storage_id: int | None = None) -> Iterator[EventLogRecord]:
    cursor = None
    partitions = [partition] if partition is not None else None
    while True:
        result = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=key, after_timestamp=after_timestamp, asset_partitions=partitions,
                               after_storage_id=after_storage_id),
            limit=PAGE, cursor=cursor)
        yield from result.records
        if not result.has_more:
            return
        cursor = result.cursor


def latest(instance: DagsterInstance, key: AssetKey, partition: str | None = None) -> EventLogRecord | None:
    """The latest materialization of `key` (of its `partition` only, when given), a build or a renewal."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[partition]) if partition is not None else key, limit=1)
    return next(iter(records.records), None)
