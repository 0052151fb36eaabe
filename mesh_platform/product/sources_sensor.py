"""`<domain>_sources`: the sensor that observes a domain's sources and renews its unchanged products.

Each tick it observes every source of the domain (cheap: a Delta log, a file listing, a JDBC change
probe) and reports an observation when the data version changed or the last one is older than the
source's cadence (a quarter of the tightest SLA among the products reading it, product/automation.py);
the automation daemon rebuilds what reads a changed source. Then it renews each automated product whose
inputs still have the data versions its build read and whose record (or data) is half its SLA old
(product/renewal.py). It launches no run itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from graphlib import TopologicalSorter
from pathlib import Path

from dagster import (
    AssetKey,
    DagsterInstance,
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster._core.definitions.data_version import get_input_data_version_tag, get_input_event_pointer_tag
from dagster._core.event_api import EventLogRecord
from dagster._time import get_current_timestamp

from mesh_platform import settings
from mesh_platform.contracts.model import Contract
from mesh_platform.monitoring.data_time import newest_partition
from mesh_platform.monitoring.records import DATA_TIME, builds, latest
from mesh_platform.product.automation import automated, observe_every_seconds
from mesh_platform.product.data_time import latest_observation, observation_data_time
from mesh_platform.product.renewal import InputState, product_state, record_data_version, renewal
from mesh_platform.sources.assets import source_events
from mesh_platform.sources.model import Source
from mesh_platform.sources.observe import observe_source
from mesh_platform.storage.layout import bronze_key, product_key

log = logging.getLogger(__name__)


def _observed_data_version(record) -> str | None:
    return record_data_version(record) if record else None


def observe_sources(domain: str, sources: Mapping[str, Source], readers: Mapping[str, list[Contract]],
                    instance: DagsterInstance, lake_root: Path, now: float,
                    changed_only: bool = False) -> tuple[list, dict[AssetKey, InputState]]:
    """The observation events due now (`changed_only`: of changed sources only), and each source's state
    after them."""
    events, states = [], {}
    for name, source in sources.items():
        key = bronze_key(domain, name)
        try:
            observation = observe_source(source, domain, lake_root)
        except Exception as exc:  # an unreachable source: nothing reads it as current until it answers
            log.warning(f"{domain}.{name}: not observed ({exc})")
            continue
        last = latest_observation(instance, key)
        changed = last is None or _observed_data_version(last) != observation.data_version
        due = not changed_only and (last is None or now - last.timestamp >= observe_every_seconds(readers.get(name, [])))
        if changed or due:
            events += source_events(domain, source, observation, now)
            seen = observation.newest_data_time if observation.newest_data_time is not None else now
        else:
            seen = observation_data_time(last)
        states[key] = InputState(observation.data_version, seen)
    return events, states


def changed_source_events(domain: str, sources: Mapping[str, Source], instance: DagsterInstance, lake_root: Path,
                          now: float) -> list:
    """The observation events of the sources whose data version moved since their latest observation.

    For a sensor that launches builds on a change it found itself (the partition refresh): Dagster stores a
    sensor's asset events before it submits its runs, so the builds record the data versions they read, which
    their renewals compare with the sources' (renewal.py). Observed later by this module's sensor instead, a
    build could record the previous version and its product would never be renewed.
    """
    events, _ = observe_sources(domain, sources, {}, instance, lake_root, now, changed_only=True)
    return events


def _build_order(contracts: Mapping[str, Contract]) -> list[Contract]:
    graph = {k: {d.product for d in c.dependencies if d.product in contracts} for k, c in contracts.items()}
    return [contracts[k] for k in TopologicalSorter(graph).static_order()]


def _upstream_state(instance: DagsterInstance, key: AssetKey, consumer: EventLogRecord,
                    known: InputState | None) -> InputState | None:
    """A consumed product's state, as compared with what the `consumer` build recorded reading.

    An unpartitioned product's data version is its latest record's. A partitioned one has no single version
    to compare: what Dagster records for it depends on how the consumer maps its partitions (the latest
    event's version, or a hash over the partitions read). It is unchanged for `consumer` when no partition was
    rebuilt since the event that build read (its input event pointer); renewals change no data.
    """
    record = latest(instance, key)
    if record is None:
        return None
    state = known or product_state(record)
    if record.partition_key is None:
        return state
    tags = consumer.event_log_entry.tags or {}
    pointer = tags.get(get_input_event_pointer_tag(key))
    unchanged = pointer is not None and not builds(instance, key, 1, after_storage_id=int(pointer))
    return InputState(tags.get(get_input_data_version_tag(key)) if unchanged else None, state.data_time)


def renew_products(contracts: Mapping[str, Contract], instance: DagsterInstance,
                   states: dict[AssetKey, InputState], now: float) -> list:
    """Renewals due now, in dependency order (a renewal's data time reaches its consumers in the domain)."""
    events = []
    for contract in _build_order(contracts):
        if not automated(contract):
            continue
        key = product_key(contract.domain, contract.asset_name)
        partition = newest_partition(contract)  # None: unpartitioned; else the partition its SLA is judged on
        record = latest(instance, key, partition)
        if record is None:
            continue  # never built (its newest partition, if partitioned): the automation builds it
        # What the inputs are compared with: the build itself, or for a partitioned product its latest build of
        # any partition. A change the partition refresh confined to older partitions leaves the newest one
        # current, though its own build read the sources' older versions.
        evidence = record if partition is None else next(iter(builds(instance, key, 1)), record)
        inputs = {}
        for table in contract.sources:
            source = bronze_key(contract.domain, table)
            inputs[source] = states.get(source)
        for dep in contract.dependencies:
            upstream = product_key(dep.domain, dep.name)
            inputs[upstream] = _upstream_state(instance, upstream, evidence, states.get(upstream))
        renewed = renewal(contract, key, record, inputs, now, partition, evidence)
        if renewed is not None:
            events.append(renewed)
            states[key] = InputState(record_data_version(record), float(renewed.metadata[DATA_TIME].value))
    return events


def sources_sensor(domain: str, sources: Mapping[str, Source], contracts: Mapping[str, Contract]) -> SensorDefinition:
    """`contracts`: the domain's products that are built (not retired), by `domain.product`."""
    readers = {name: [c for c in contracts.values() if name in c.sources and automated(c)] for name in sources}

    @sensor(
        name=f"{domain}_sources",
        minimum_interval_seconds=settings.sensor_interval(),
        default_status=DefaultSensorStatus.STOPPED if settings.automation_paused() else DefaultSensorStatus.RUNNING,
        description=f"Observes the {domain} sources (a new data version makes the automation rebuild what "
        "reads it) and confirms unchanged products as still current at half their SLA.",
    )
    def _observe_and_renew(context: SensorEvaluationContext):
        now = get_current_timestamp()  # Dagster's clock: the daemon tests freeze and advance it
        observed, states = observe_sources(domain, sources, readers, context.instance, settings.lake_root(), now)
        renewed = renew_products(contracts, context.instance, states, now)
        if not observed and not renewed:
            return SkipReason("sources unchanged, products within half their SLA")
        context.log.info(f"{len(observed)} source events, {len(renewed)} products still current")
        return SensorResult(asset_events=[*observed, *renewed])

    return _observe_and_renew
