"""A run whose worker dies is marked FAILURE, under a real `dagster dev`, not left STARTED forever."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef

from dagster_dev import LAUNCH, ROOT, dagster_dev

pytestmark = [pytest.mark.slow, pytest.mark.engine_independent]  # the UI, daemons and runs, not engine values: one pass (Sail)

STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
WORKER_STARTED = re.compile(r"Started process for run \(pid: (\d+)\)")
MAX_RUNTIME = 60  # the test instance's; the shipped dagster.yaml allows 6 hours


@pytest.fixture(scope="module")
def server(tmp_path_factory, seeded_lake):
    home = tmp_path_factory.mktemp("monitored_home")
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    config["run_monitoring"].update(max_runtime_seconds=MAX_RUNTIME, poll_interval_seconds=5)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with dagster_dev(home, seeded_lake) as running:
        running.wait_for_locations()
        with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            yield running, instance


def _launch(server, location: str, key: str) -> str:
    result = server.graphql(LAUNCH, {"location": location, "keys": [{"path": key.split("/")}]})
    launched = result["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _messages(instance, run_id: str) -> list[str]:
    return [e.message or "" for e in instance.all_logs(run_id)]


def _worker_pid(instance, run_id: str, timeout: float = 180) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in _messages(instance, run_id):
            if match := WORKER_STARTED.search(message):
                return int(match.group(1))
        time.sleep(0.5)
    raise TimeoutError(f"run {run_id} never started a run worker")


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _status_within(server, run_id: str, timeout: float) -> tuple[str, float]:
    started, status = time.monotonic(), None
    while time.monotonic() - started < timeout:
        status = server.graphql(STATUS, {"id": run_id})["runOrError"]["status"]
        if status in {"SUCCESS", "FAILURE", "CANCELED"}:
            return status, time.monotonic() - started
        time.sleep(1)
    return status, time.monotonic() - started


def _wait_until_started(server, run_id: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while server.graphql(STATUS, {"id": run_id})["runOrError"]["status"] != "STARTED":
        assert time.monotonic() < deadline, f"run {run_id} never reached STARTED"
        time.sleep(0.5)


def test_the_shipped_instance_monitors_runs():
    monitoring = yaml.safe_load((ROOT / "dagster.yaml").read_text())["run_monitoring"]
    assert monitoring["enabled"] is True and monitoring["max_resume_run_attempts"] == 0
    assert 0 < monitoring["poll_interval_seconds"] <= 60 and monitoring["max_runtime_seconds"] >= 3600
    assert monitoring["start_timeout_seconds"] > 0 and monitoring["cancel_timeout_seconds"] > 0


def test_a_run_whose_worker_is_killed_fails_within_seconds(server):
    dev, instance = server
    run_id = _launch(dev, "sales", "sales/orders")
    os.kill(_worker_pid(instance, run_id), signal.SIGKILL)
    status, waited = _status_within(dev, run_id, 60)
    assert status == "FAILURE", f"{status} after {waited:.0f} s; see {dev.log}"
    assert f"Run execution process for {run_id} was terminated by signal 9 (SIGKILL)." in " ".join(
        _messages(instance, run_id))


def test_a_run_whose_worker_died_with_its_code_server_is_failed_by_the_monitoring_daemon(server):
    dev, instance = server
    run_id = _launch(dev, "supply_chain", "supply_chain/supplier_performance")
    worker = _worker_pid(instance, run_id)
    code_server = _parent(worker)
    _wait_until_started(dev, run_id)  # past STARTING, whose own timeout would fail it otherwise
    os.kill(code_server, signal.SIGKILL)  # nobody is left to notice the worker's death but the daemon
    os.kill(worker, signal.SIGKILL)
    status, waited = _status_within(dev, run_id, MAX_RUNTIME + 120)
    assert status == "FAILURE", f"{status} after {waited:.0f} s; see {dev.log}"
    messages = " ".join(_messages(instance, run_id))
    assert f"Canceling due to exceeding maximum runtime of {MAX_RUNTIME} seconds." in messages
    assert "This job is being forcibly marked as failed." in messages
