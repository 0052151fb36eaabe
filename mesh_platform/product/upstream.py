"""Choosing the version of each product a build consumes, and saying why.

A consumed product is read at one pinned Delta version. The current version is used when it is
published, within its own freshness SLA, and has passed its blocking checks. Otherwise the consumer's
contract decides (`on_stale`): `fail` stops the build; `use_last_good` builds from the current version
if it is merely stale, or from the newest version that passed its checks, and records the degradation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dagster import AssetCheckEvaluation, AssetCheckKey, AssetKey, DagsterInstance, EventLogRecord, Failure
from dagster._core.storage.asset_check_execution_record import (
    COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES,
    AssetCheckExecutionRecord,
    AssetCheckExecutionRecordStatus,
)

from mesh_platform.checks.specs import contract_checks
from mesh_platform.contracts.model import Contract, Dependency
from mesh_platform.monitoring import records as product_records
from mesh_platform.monitoring.data_time import newest_partition
from mesh_platform.storage.delta import current_version
from mesh_platform.storage.layout import product_path

# In-step check evaluations carry this flag: a refused build's failures say nothing about the
# version that stays current, so they must not mark it bad.
PUBLISHES = "mesh/publishes"
HISTORY = 50
RECENT = 5  # records read first: the current version's is almost always among them


@dataclass(frozen=True)
class UpstreamVersion:
    product: str
    version: int
    state: str  # good | stale | last_good
    detail: str = ""
    data_time: float | None = None  # when the version read was current (its record's mesh/data_time)

    @property
    def degraded(self) -> bool:
        return self.state != "good"

    @property
    def label(self) -> str:
        return f"{self.product}@v{self.version}"


def _verdict(record: AssetCheckExecutionRecord) -> AssetCheckEvaluation | None:
    """The evaluation a check record holds, or None while it is only planned.

    A build that crashed (killed, or its transform raised) leaves its checks planned and never
    evaluated: Dagster stores an AssetCheckEvaluationPlanned event for them, which is no verdict.
    """
    if record.status not in COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES or record.event is None:
        return None
    data = record.event.dagster_event.event_specific_data if record.event.dagster_event else None
    return data if isinstance(data, AssetCheckEvaluation) else None


def _failed_materialization_runs(instance: DagsterInstance, key: AssetKey, upstream: Contract) -> set[str]:
    """Runs whose materialization of `key` has a failed blocking check as its latest verdict."""
    failed: set[str] = set()
    for check in (c for c in contract_checks(upstream) if c.critical):
        history = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(key, check.name), limit=HISTORY
        )
        seen: set[str] = set()
        for record in history:  # newest first: the first verdict per target wins
            evaluation = _verdict(record)
            if evaluation is None:  # planned, never evaluated (a crashed build): no new verdict
                continue
            published = evaluation.metadata.get(PUBLISHES)
            if published is not None and not published.value:
                continue
            target = record.run_id if published is not None else getattr(
                evaluation.target_materialization_data, "run_id", None
            )
            if target and target not in seen:
                seen.add(target)
                if record.status == AssetCheckExecutionRecordStatus.FAILED:
                    failed.add(target)
    return failed


def _latest_verdicts_pass(instance: DagsterInstance, key: AssetKey, upstream: Contract, run_id: str) -> bool:
    """True when the latest verdict of every blocking check is a pass of the build `run_id` (one query). The
    usual case: the build that wrote the current version was checked last. Otherwise the caller reads the
    checks' history (_failed_materialization_runs)."""
    keys = [AssetCheckKey(key, c.name) for c in contract_checks(upstream) if c.critical]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    for check_key in keys:
        record = latest.get(check_key)
        evaluation = _verdict(record) if record is not None else None
        if evaluation is None or record.status != AssetCheckExecutionRecordStatus.SUCCEEDED:
            return False
        published = evaluation.metadata.get(PUBLISHES)
        target = record.run_id if published is not None else getattr(
            evaluation.target_materialization_data, "run_id", None)
        if target != run_id or (published is not None and not published.value):
            return False
    return True


def _by_version(records: list[EventLogRecord]) -> dict[int, EventLogRecord]:
    """The newest record of each Delta version among `records` (newest first)."""
    by_version = {}
    for record in records:
        version = record.asset_materialization.metadata.get("delta_version")
        if version is not None:
            by_version.setdefault(version.value, record)
    return by_version


def _data_time(record: EventLogRecord, newest: EventLogRecord | None) -> float:
    """When the current version's data was current. For a partitioned product that is its newest partition's
    latest build or renewal when later: the version may have been written by an older partition's rebuild,
    which renewals (they confirm the newest partition) never touch, so its own record only ages."""
    own = product_records.data_time(record)
    return max(own, product_records.data_time(newest)) if newest is not None else own


def _history(instance: DagsterInstance, key: AssetKey) -> dict[int, EventLogRecord]:
    return _by_version([*instance.fetch_materializations(key, limit=HISTORY).records,
                        *product_records.builds(instance, key, HISTORY)])


def resolve(
    dependency: Dependency,
    upstream: Contract,
    consumer: str,
    instance: DagsterInstance,
    lake_root: Path,
    now: float,
) -> UpstreamVersion:
    key = AssetKey([dependency.domain, dependency.name])
    path = product_path(lake_root, dependency.domain, dependency.name)
    current = current_version(path)
    if current is None:
        raise Failure(
            f"{consumer} cannot be built: its source {dependency.product} was never published "
            f"(no Delta table at {path}); materialize {dependency.product} first"
        )
    # The current version's record: usually among the latest few (renewals included: a renewal confirms its
    # version is current); else, and for an earlier good version, the history: newest first, then older
    # builds that a run of renewals would have pushed out of the latest records.
    by_version = _by_version(instance.fetch_materializations(key, limit=RECENT).records)
    if current not in by_version:
        by_version = _history(instance, key)
    record = by_version.get(current)
    if record is not None and _latest_verdicts_pass(instance, key, upstream, product_records.build_run_id(record)):
        bad_runs: set[str] = set()  # the current version's verdicts are the latest, all passes
    else:
        bad_runs = _failed_materialization_runs(instance, key, upstream)

    problem = ""
    if record is None:
        problem = f"version {current} has no materialization record (written outside the platform)"
    elif product_records.build_run_id(record) in bad_runs:
        problem = f"version {current} failed its blocking checks"
    # A partitioned product is as fresh as its newest partition (built or renewed), the one its SLA is
    # judged on, whichever partition wrote the current version.
    newest = (product_records.latest(instance, key, newest_partition(upstream))
              if record is not None and upstream.partitioning is not None else None)
    published = max(record.timestamp, newest.timestamp) if newest is not None else (record.timestamp if record else None)
    age_hours = (now - published) / 3600 if published is not None else None
    stale = age_hours is not None and age_hours > upstream.sla.freshness_hours
    if not problem and not stale:
        return UpstreamVersion(dependency.product, current, "good", data_time=_data_time(record, newest))

    reason = problem or f"published {age_hours:.1f} h ago, beyond its {upstream.sla.freshness_hours:g} h SLA"
    if dependency.on_stale == "fail":
        raise Failure(
            f"{consumer} not built: source {dependency.product} {reason} "
            "(the contract sets on_stale: fail)"
        )
    if not problem:
        return UpstreamVersion(dependency.product, current, "stale", reason, _data_time(record, newest))
    by_version = _history(instance, key)
    good = sorted(v for v, r in by_version.items()
                  if v < current and product_records.build_run_id(r) not in bad_runs)
    if not good:
        raise Failure(f"{consumer} not built: source {dependency.product} {reason} and has no earlier good version")
    return UpstreamVersion(dependency.product, good[-1], "last_good", f"{reason}; read v{good[-1]} instead",
                           product_records.data_time(by_version[good[-1]]))
