"""Runs whose process died without a word: a killed `mesh materialize` leaves its run STARTED.

`mesh materialize` executes in its own process (no run launcher, no code server), so neither Dagster's
code server nor the run monitoring daemon can see that process die; the daemon would only fail the
run after `max_runtime_seconds`. Each CLI run therefore carries its host, pid and the pid's start time,
and a later `mesh materialize`, or the governance location's sensor under `dagster dev`, marks the runs
whose process is gone as failed.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

LAUNCHED_BY, HOST, PID, PROCESS_START = "mesh/launched_by", "mesh/host", "mesh/pid", "mesh/process_start"
CLI = "mesh-cli"
IN_PROGRESS = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
               DagsterRunStatus.CANCELING]


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22): tells a reused pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def cli_run_tags() -> dict[str, str]:
    """Tags naming this process, for runs `mesh materialize` executes in it."""
    pid = os.getpid()
    return {LAUNCHED_BY: CLI, HOST: socket.gethostname(), PID: str(pid), PROCESS_START: _process_start(pid) or ""}


def _gone(tags: dict[str, str]) -> bool:
    if tags.get(HOST) != socket.gethostname() or not tags.get(PID, "").isdigit():
        return False  # another machine's process, or a run from before these tags: not ours to judge
    started = _process_start(int(tags[PID]))
    return started is None or started != tags.get(PROCESS_START)


def fail_orphaned_cli_runs(instance: DagsterInstance, noticed_by: str) -> list[str]:
    """Marks in-progress CLI runs whose process is gone as failed; their run ids."""
    failed = []
    for record in instance.get_run_records(RunsFilter(statuses=IN_PROGRESS, tags={LAUNCHED_BY: CLI})):
        run = record.dagster_run
        if _gone(run.tags):
            instance.report_run_failed(run, (
                f"The `mesh materialize` process that ran this run (pid {run.tags[PID]} on {run.tags[HOST]}) "
                f"ended without finishing it (killed?); marked failed by {noticed_by}."))
            failed.append(run.run_id)
    return failed
