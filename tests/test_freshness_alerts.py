"""Freshness alerts end to end: Dagster's own freshness daemon (and the data time) judge the SLA, the sensor
alerts a real HTTP server and the log file once on the breach and once on the recovery."""

from __future__ import annotations

import json
import time

from dagster import AssetKey, DagsterInstance, build_sensor_context
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.freshness import FreshnessDaemon

from mesh_platform.mesh import all_contracts
from mesh_platform.monitoring.freshness import freshness_alert_sensor
from mesh_platform.runner import materialize_domain


def test_a_breach_and_its_recovery_are_each_announced_once(seeded_lake, spark, tmp_path, monkeypatch, webhook):
    url, received = webhook
    log = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("MESH_ALERT_WEBHOOK", url)
    monkeypatch.setenv("MESH_ALERT_LOG", str(log))
    (tmp_path / "home").mkdir()
    instance = DagsterInstance.from_config(str(tmp_path / "home"))
    sensor = freshness_alert_sensor(all_contracts())
    cursor = None

    def tick() -> list[dict]:
        """One freshness daemon iteration, then one sensor evaluation; the alerts it sent."""
        nonlocal cursor
        list(FreshnessDaemon(interval_seconds=1).run_iteration(workspace))
        before = len(received)
        context = build_sensor_context(instance=instance, cursor=cursor)
        sensor(context)
        cursor = context.cursor
        return received[before:]

    target = ModuleTarget("domains.sales.definitions", attribute="defs", working_directory=None, location_name="sales")
    with create_test_daemon_workspace_context(target, instance) as workspace:
        (published,) = materialize_domain("sales", ["sales.orders"], instance)
        assert published.status == "published"
        assert tick() == []  # fresh: nothing to say
        published_at = instance.fetch_materializations(AssetKey(["sales", "orders"]), limit=1).records[0].timestamp

        with freeze_time(published_at + 3 * 3600):  # three hours later: the 2 h SLA is breached
            (breach,) = tick()
            assert tick() == [] and tick() == []  # still failing: not repeated
        assert breach == {
            "kind": "breach", "product": "sales.orders", "owner": "team:sales", "sla_hours": 2.0,
            "state": "failing", "previous_state": breach["previous_state"],
            "last_update": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(int(published_at))),
            "at": breach["at"], "data_time": breach["data_time"], "partition": "1998-08",  # the newest month, the one judged
        }
        assert breach["previous_state"] == "passing"
        assert breach["data_time"] <= breach["last_update"] < breach["at"]  # the data is no newer than its build

        # alerts state times to the second: on a fast engine the republish could fall in the first one's second
        time.sleep(max(0.0, int(published_at) + 1 - time.time()))
        (republished,) = materialize_domain("sales", ["sales.orders"], instance)  # the owner republishes
        assert republished.status == "published"
        (recovery,) = tick()
        assert (recovery["kind"], recovery["product"], recovery["state"], recovery["previous_state"]) == (
            "recovery", "sales.orders", "passing", "failing")
        assert recovery["last_update"] > breach["last_update"]
        assert tick() == []

    assert [json.loads(line) for line in log.read_text().splitlines()] == [breach, recovery]
