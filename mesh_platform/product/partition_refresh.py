"""`<domain>_partition_refresh`: rebuild only the partitions whose source rows changed.

A partitioned product's automation ignores its sources (product/automation.py): a source's new data
version would request every partition. This sensor does the incremental part instead. Each tick it
observes the sources the domain's partitioned products read; for a source whose data version moved since
its cursor it asks which partitions changed (sources/changes.py: rows past the change column's
watermark, or the files landed since), maps their values to partition keys through the contract's
`partitioning.from_sources`, and requests one run per contiguous range of changed partitions (the
asset's single-run backfill policy builds a range in one Spark session and one Delta commit). A changed
source the contract does not map (order lines, without a date) marks every partition changed. With one
changed partition, the run also builds the domain's automated unpartitioned products downstream (one run per domain
and change, as for an unpartitioned product); other consumers follow through the automation: the rebuilt
partitions' new data versions reach them through their partition mappings.

The first evaluation only records where each source stands (the fill builds what is missing); while a
run of the product is in progress the sensor waits (the cursor stays), so changes are never lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

from dagster import (
    AssetKey,
    AssetSelection,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster._time import get_current_timestamp

from mesh_platform import settings
from mesh_platform.contracts.model import Contract
from mesh_platform.contracts.partitioning import TimePartitioning
from mesh_platform.product.automation import automated
from mesh_platform.product.partitions import KEY_FORMAT, partitions_def, period_start
from mesh_platform.product.sources_sensor import changed_source_events
from mesh_platform.sources.changes import EVERYTHING, ChangeMark, changed_values
from mesh_platform.sources.model import Source
from mesh_platform.sources.observe import observe_source
from mesh_platform.storage.layout import product_key

log = logging.getLogger(__name__)
TRIGGER_TAG = "mesh/trigger"


def incremental_products(contracts: Mapping[str, Contract]) -> list[Contract]:
    return [c for c in contracts.values() if c.partitioning is not None and c.sources and automated(c)]


def partition_key(contract: Contract, value: object) -> str | None:
    """The partition key of a source row whose mapped column holds `value` (None: no partition of it)."""
    partitioning = contract.partitioning
    if value is None:
        return None
    if not isinstance(partitioning, TimePartitioning):
        return str(value)
    if isinstance(value, int):  # a year
        value = date(value, 1, 1)
    if isinstance(value, datetime):
        value = value.date()
    return period_start(value, partitioning.every).strftime(KEY_FORMAT[partitioning.every])


def contiguous_ranges(keys: set[str], ordered: list[str]) -> list[tuple[str, str]]:
    """`keys` as (first, last) ranges of consecutive keys of `ordered` (keys outside it are dropped)."""
    ranges, start, previous = [], None, None
    for key in ordered:
        if key in keys:
            start, previous = (start or key), key
        elif start is not None:
            ranges.append((start, previous))
            start = None
    if start is not None:
        ranges.append((start, previous))
    return ranges


class SourceCursor:
    """Per product and source: the data version and change mark of its last look."""

    def __init__(self, text: str | None):
        self.state: dict[str, dict] = json.loads(text) if text else {}

    def look(self, product: str, source: Source, domain: str, lake_root: Path, column: str | None) -> set | None:
        """The changed values of `column` since `product`'s last look (None: every partition changed)."""
        slot = f"{product}<-{source.name}"
        last = self.state.get(slot)
        version = observe_source(source, domain, lake_root).data_version
        if last is not None and last["data_version"] == version:
            return set()
        if column is None:  # unmapped: any change is a change of every partition
            self.state[slot] = {"data_version": version}
            return set() if last is None else EVERYTHING
        since = ChangeMark.from_json(last["mark"]) if last is not None and "mark" in last else None
        changed, mark = changed_values(source, domain, lake_root, column, since)
        self.state[slot] = {"data_version": version, "mark": mark.to_json()}
        return set() if last is None else changed

    def text(self) -> str:
        return json.dumps(self.state, sort_keys=True)


def _in_progress(instance: DagsterInstance, key: AssetKey) -> bool:
    runs = instance.get_runs(RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES), limit=50)
    return any(key in (run.asset_selection or ()) for run in runs)


def changed_partitions(contract: Contract, sources: Mapping[str, Source], cursor: SourceCursor,
                       lake_root: Path, keys: list[str]) -> set[str]:
    mapped = contract.partitioning.from_sources
    changed: set[str] = set()
    for name in contract.sources:
        values = cursor.look(contract.key, sources[name], contract.domain, lake_root, mapped.get(name))
        if values is EVERYTHING:
            changed |= set(keys)
        else:
            changed |= {k for k in (partition_key(contract, v) for v in values) if k is not None}
    return changed & set(keys)


def followers(contract: Contract, contracts: Mapping[str, Contract]) -> list[AssetKey]:
    """The domain's automated unpartitioned products downstream of `contract`: built in the same run (as
    the automation would build them after it), so that a change costs one run per domain, not two."""
    found, frontier = [], {contract.key}
    while frontier:
        frontier = {k for k, c in contracts.items() if k not in found and automated(c) and c.partitioning is None
                    and any(d.product in frontier or d.product in found for d in c.dependencies)} - set(found)
        found += sorted(frontier)
    return [product_key(contracts[k].domain, contracts[k].asset_name) for k in found]


def run_requests(contract: Contract, changed: set[str], keys: list[str],
                 along: list[AssetKey] = ()) -> list[RunRequest]:
    key = product_key(contract.domain, contract.asset_name)
    requests, ranges = [], contiguous_ranges(changed, keys)
    # Only with one partition: runs of several ranges may execute at once, and Dagster's automation does not
    # see a range run as having built the consumers with their input (executed_with_root_target looks up
    # the latest run per partition), so it would build them again; they then follow through the automation.
    along = list(along) if len(ranges) == 1 and ranges[0][0] == ranges[0][1] else []
    for first, last in ranges:
        tags = {TRIGGER_TAG: "partition_refresh"}
        if first == last:
            requests.append(RunRequest(asset_selection=[key, *along], partition_key=first, tags=tags))
        else:
            tags |= {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
            requests.append(RunRequest(asset_selection=[key, *along], tags=tags))
    return requests


def partition_refresh_sensor(domain: str, sources: Mapping[str, Source],
                             contracts: Mapping[str, Contract]) -> SensorDefinition | None:
    """None when the domain has no automated partitioned product reading sources."""
    products = incremental_products(contracts)
    if not products:
        return None
    along = {c.key: followers(c, contracts) for c in products}
    keys = [product_key(c.domain, c.asset_name) for c in products] + [k for ks in along.values() for k in ks]

    @sensor(
        name=f"{domain}_partition_refresh",
        target=AssetSelection.assets(*keys),
        minimum_interval_seconds=settings.sensor_interval(),
        default_status=DefaultSensorStatus.STOPPED if settings.automation_paused() else DefaultSensorStatus.RUNNING,
        description=f"Rebuilds only the partitions of {domain}'s partitioned products whose source rows changed "
        "(a change column, landed files); their consumers follow through the automation.",
    )
    def _refresh_changed_partitions(context: SensorEvaluationContext):
        cursor, lake_root, requests = SourceCursor(context.cursor), settings.lake_root(), []
        for contract in products:
            if _in_progress(context.instance, product_key(contract.domain, contract.asset_name)):
                continue  # its sources are looked at again next tick, from the same cursor
            ordered = partitions_def(contract, settings.fixed_as_of()).get_partition_keys()
            before = dict(cursor.state)
            try:
                changed = changed_partitions(contract, sources, cursor, lake_root, ordered)
            except Exception as exc:  # an unreachable source: the same cursor is tried next tick
                cursor.state = before
                log.warning(f"{contract.key}: changed partitions not known ({exc})")
                continue
            if changed:
                context.log.info(f"{contract.key}: {len(changed)} changed partitions ({', '.join(sorted(changed))})")
            requests += run_requests(contract, changed, ordered, along[contract.key])
        if not requests:
            return SensorResult(skip_reason=SkipReason("no source rows changed"), cursor=cursor.text())
        read = {name: sources[name] for c in products for name in c.sources if name in sources}
        observed = changed_source_events(domain, read, context.instance, lake_root, get_current_timestamp())
        return SensorResult(run_requests=requests, asset_events=observed, cursor=cursor.text())

    return _refresh_changed_partitions
