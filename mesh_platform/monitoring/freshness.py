"""Freshness alerts: Dagster's freshness daemon judges each product's SLA (its freshness policy) and
records every change of state; this sensor turns the changes into alerts.

An alert goes out when a product starts failing its SLA, and once more when it recovers. The sensor's
cursor keeps the event it read up to and the products currently failing, so an alert is never repeated
while the state stays the same, across ticks and restarts.
"""

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)
from dagster._core.definitions.freshness import FreshnessState  # not exported at the top level in 1.13
from dagster._core.event_api import EventRecordsFilter
from dagster._core.events import DagsterEventType

from mesh_platform import settings
from mesh_platform.contracts.model import Contract
from mesh_platform.monitoring.alerts import FreshnessAlert, configured_sinks, deliver
from mesh_platform.storage.layout import product_key

STATE_NAMES = {FreshnessState.PASS: "passing", FreshnessState.WARN: "warning", FreshnessState.FAIL: "failing"}
BATCH = 500


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds") if timestamp else None


def _alert(kind: str, contract: Contract, change, context: SensorEvaluationContext) -> FreshnessAlert:
    latest = context.instance.fetch_materializations(change.key, limit=1).records
    return FreshnessAlert(
        kind=kind, product=contract.key, owner=contract.owner, sla_hours=contract.sla.freshness_hours,
        state=STATE_NAMES.get(change.new_state, change.new_state.value.lower()),
        previous_state=STATE_NAMES.get(change.previous_state, change.previous_state.value.lower()),
        last_update=_iso(latest[0].timestamp if latest else None), at=_iso(change.state_change_timestamp),
    )


def freshness_alert_sensor(contracts: Mapping[str, Contract]):
    by_key: dict[AssetKey, Contract] = {product_key(c.domain, c.asset_name): c for c in contracts.values()}

    @sensor(
        name="freshness_alerts",
        minimum_interval_seconds=settings.sensor_interval(),
        default_status=DefaultSensorStatus.RUNNING,
        description="Sends an alert when a product starts failing its freshness SLA, and when it recovers "
        "(log file MESH_ALERT_LOG, webhook MESH_ALERT_WEBHOOK).",
    )
    def freshness_alerts(context: SensorEvaluationContext):
        cursor = json.loads(context.cursor) if context.cursor else {"after": None, "failing": []}
        failing = set(cursor["failing"])
        records = context.instance.event_log_storage.get_event_records(
            EventRecordsFilter(event_type=DagsterEventType.FRESHNESS_STATE_CHANGE, after_cursor=cursor["after"]),
            limit=BATCH, ascending=True,
        )
        sinks, sent = configured_sinks(), []
        for record in records:
            change = record.event_log_entry.dagster_event.asset_freshness_state_change_data
            contract = by_key.get(change.key)
            if contract is None:
                continue
            product = contract.key
            if change.new_state == FreshnessState.FAIL and product not in failing:
                kind = "breach"
                failing.add(product)
            elif change.new_state in (FreshnessState.PASS, FreshnessState.WARN) and product in failing:
                kind = "recovery"
                failing.discard(product)
            else:
                continue  # not a change of alerting state
            alert = _alert(kind, contract, change, context)
            for problem in deliver(alert, sinks):
                context.log.error(f"alert for {product} not delivered: {problem}")
            context.log.info(f"{kind}: {alert.line()}")
            sent.append(f"{kind} {product}")
        after = records[-1].storage_id if records else cursor["after"]
        context.update_cursor(json.dumps({"after": after, "failing": sorted(failing)}))
        return SkipReason(f"alerts sent: {', '.join(sent)}" if sent else "no change of freshness state to announce")

    return freshness_alerts
