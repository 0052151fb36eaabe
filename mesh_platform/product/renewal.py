"""Renewals: "checked, still current" for a product whose inputs have not changed since its build.

The product's build recorded, through Dagster's data provenance, the data version of each input it read
(`dagster/input_data_version/<key>` tags). When every input still has that data version, rebuilding would
publish the same data; instead the `<domain>_sources` sensor reports a runless materialization with the
same data version (so nothing downstream rebuilds) that resets the SLA clock Dagster's freshness policy
reads, and carries the new data time: the oldest input's, now.

A partitioned product is renewed on its newest partition (the last key of its partitions definition), the
one its SLA is judged on (monitoring/data_time.py), never as a partition-less materialization: the
renewal confirms that partition's latest build. Its older partitions hold history, renewed by nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dagster import AssetKey, AssetMaterialization, MetadataValue
from dagster._core.definitions.data_version import DATA_VERSION_TAG, get_input_data_version_tag
from dagster._core.event_api import EventLogRecord

from mesh_platform.contracts.model import Contract
from mesh_platform.monitoring.records import CONFIRMS_RUN, STILL_CURRENT, build_run_id, data_time, data_time_metadata
from mesh_platform.product.automation import renew_after_seconds

PARTITION_TAGS = ("dagster/partition", "dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
COPIED = ("delta_version", "dagster/row_count", "dagster/table_name", "dagster/uri", "contract_version", "as_of")


@dataclass(frozen=True)
class InputState:
    """An input as it is now: its data version (None if unknown) and data time."""

    data_version: str | None
    data_time: float


def record_data_version(record: EventLogRecord) -> str | None:
    return (record.event_log_entry.tags or {}).get(DATA_VERSION_TAG)


def product_state(record: EventLogRecord | None) -> InputState | None:
    return InputState(record_data_version(record), data_time(record)) if record else None


def inputs_unchanged(record: EventLogRecord, inputs: Mapping[AssetKey, InputState | None]) -> bool:
    """Whether each input has the data version the build `record` stands for read."""
    tags = record.event_log_entry.tags or {}
    return all(
        state is not None and state.data_version is not None
        and tags.get(get_input_data_version_tag(key)) == state.data_version
        for key, state in inputs.items()
    )


def renewal(contract: Contract, key: AssetKey, record: EventLogRecord,
            inputs: Mapping[AssetKey, InputState | None], now: float,
            partition: str | None = None, evidence: EventLogRecord | None = None) -> AssetMaterialization | None:
    """The renewal of `key` (latest materialization `record`, of its newest `partition` if partitioned) due
    at `now`, or None.

    Due when its inputs are unchanged since the build `evidence` (default: `record`) read them and either its
    latest record is half its SLA old, or its data is half its SLA old and the inputs' data times would make
    it younger.
    """
    if not inputs or not inputs_unchanged(evidence or record, inputs):
        return None
    renewed_data_time = min(state.data_time for state in inputs.values())
    half = renew_after_seconds(contract)
    record_due = now - record.timestamp >= half
    data_due = now - data_time(record) >= half and renewed_data_time > data_time(record)
    if not (record_due or data_due):
        return None
    built = record.asset_materialization.metadata
    metadata = {name: built[name] for name in COPIED if name in built}
    run = build_run_id(record)
    metadata |= {STILL_CURRENT: MetadataValue.bool(True), CONFIRMS_RUN: MetadataValue.text(run),
                 **data_time_metadata(max(renewed_data_time, data_time(record)))}
    # The build's provenance and data version: the same data, so consumers do not rebuild.
    # (Not the build's partition tags: a range run's would name the range, the renewal names its partition.)
    tags = {k: v for k, v in (record.event_log_entry.tags or {}).items()
            if k.startswith("dagster/") and k not in PARTITION_TAGS}
    return AssetMaterialization(
        asset_key=key, metadata=metadata, tags=tags, partition=partition,
        description=f"Checked, still current: its inputs have not changed since the build of run {run[:8]}.",
    )
