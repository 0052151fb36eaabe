"""Freshness alerts: a product's SLA is judged twice, and either judge failing it is a breach.

- Dagster's freshness daemon judges each product's freshness policy on the time of its latest
  materialization and records every change of state; the sensor reads those changes.
- The sensor itself judges, each tick, the data time of each product's latest materialization
  and the newest-data time of each source that declares a freshness expectation
  (monitoring/data_time.py): a product rebuilt just now from day-old inputs holds day-old data, which
  Dagster's policy cannot see. A partitioned product is judged on its newest partition (data_time.py),
  which Dagster 1.13's FreshnessPolicy cannot be told: it sees the latest materialization of any partition.

An alert goes out when a product starts failing its SLA, and once more when both judges pass it again.
The sensor's cursor keeps the event it read up to, Dagster's last state per product and the state last
announced, so an alert is never repeated while the state stays the same, across ticks and restarts.
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
from dagster._time import get_current_timestamp  # the clock Dagster's daemons (and freeze_time) use

from mesh_platform import settings
from mesh_platform.contracts.model import Contract
from mesh_platform.monitoring.alerts import FreshnessAlert, configured_sinks, deliver
from mesh_platform.monitoring.data_time import (
    SlaVerdict,
    SourceExpectation,
    sla_verdicts,
    source_expectations,
    source_verdicts,
)
from mesh_platform.storage.layout import product_key

STATE_NAMES = {FreshnessState.PASS: "passing", FreshnessState.WARN: "warning", FreshnessState.FAIL: "failing"}
SEVERITY = {"passing": 0, "warning": 1, "failing": 2}
BATCH = 500


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds") if timestamp else None


def _read_cursor(text: str | None) -> dict:
    cursor = json.loads(text) if text else {}
    # a cursor of the sensor before data times: "failing" held what Dagster judged failing
    old = {product: "failing" for product in cursor.get("failing", [])}
    return {"after": cursor.get("after"), "dagster": cursor.get("dagster", old), "states": cursor.get("states", old)}


def _worst(*states: str | None) -> str | None:
    known = [s for s in states if s in SEVERITY]
    return max(known, key=SEVERITY.__getitem__) if known else None


def _alert(kind: str, owner: str, verdict: SlaVerdict, state: str, previous: str, at: float) -> FreshnessAlert:
    return FreshnessAlert(
        kind=kind, product=verdict.product, owner=owner, sla_hours=verdict.sla_hours,
        state=state, previous_state=previous, last_update=_iso(verdict.materialized_at), at=_iso(at),
        data_time=_iso(verdict.data_time), partition=verdict.partition,
    )


def freshness_alert_sensor(contracts: Mapping[str, Contract], sources: list[SourceExpectation] | None = None):
    """`sources`: the source expectations to watch (default: those the mesh's sources.yaml files declare)."""
    by_key: dict[AssetKey, Contract] = {product_key(c.domain, c.asset_name): c for c in contracts.values()}
    if sources is None:  # judged on their newest data, which Dagster cannot (data_time.py)
        sources = source_expectations(contracts)

    @sensor(
        name="freshness_alerts",
        minimum_interval_seconds=settings.sensor_interval(),
        default_status=DefaultSensorStatus.RUNNING,
        description="Sends an alert when a product starts failing its freshness SLA (judged on its build time by "
        "Dagster and on its data time), and when it recovers (log file MESH_ALERT_LOG, webhook MESH_ALERT_WEBHOOK).",
    )
    def freshness_alerts(context: SensorEvaluationContext):
        cursor = _read_cursor(context.cursor)
        dagster, states = dict(cursor["dagster"]), dict(cursor["states"])
        records = context.instance.event_log_storage.get_event_records(
            EventRecordsFilter(event_type=DagsterEventType.FRESHNESS_STATE_CHANGE, after_cursor=cursor["after"]),
            limit=BATCH, ascending=True,
        )
        changed_at: dict[str, float] = {}
        for record in records:
            change = record.event_log_entry.dagster_event.asset_freshness_state_change_data
            contract = by_key.get(change.key)
            if contract is not None and change.new_state in STATE_NAMES:
                dagster[contract.key] = STATE_NAMES[change.new_state]
                changed_at[contract.key] = change.state_change_timestamp
        now = get_current_timestamp()
        verdicts = sla_verdicts(contracts, context.instance, now)
        source_states = source_verdicts(sources, context.instance, now)
        sinks, sent = configured_sinks(), []
        watched = [(p, contracts[p].owner, verdicts[p]) for p in sorted(contracts)]
        watched += [(s.name, s.owner, source_states[s.name]) for s in sources]
        for product, owner, verdict in watched:
            state = _worst(dagster.get(product), verdict.state)
            if state is None:
                continue  # never published and never judged: nothing to announce
            previous = states.get(product, "passing")
            states[product] = state
            if state == "failing" and previous != "failing":
                kind = "breach"  # since the moment the data got older than the SLA, or Dagster's judgement
                at = (verdict.data_time + verdict.sla_hours * 3600
                      if verdict.state == "failing" and verdict.data_time is not None  # else: newest partition missing
                      else changed_at.get(product, now))
            elif previous == "failing" and state != "failing":
                kind, at = "recovery", max(verdict.materialized_at or now, changed_at.get(product, 0.0))
            else:
                continue  # not a change of alerting state
            alert = _alert(kind, owner, verdict, state, previous, at)
            for problem in deliver(alert, sinks):
                context.log.error(f"alert for {product} not delivered: {problem}")
            context.log.info(f"{kind}: {alert.line()}")
            sent.append(f"{kind} {product}")
        after = records[-1].storage_id if records else cursor["after"]
        context.update_cursor(json.dumps({"after": after, "dagster": dagster, "states": states}, sort_keys=True))
        return SkipReason(f"alerts sent: {', '.join(sent)}" if sent else "no change of freshness state to announce")

    return freshness_alerts
