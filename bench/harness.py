"""Shared benchmark plumbing: a seeded lake and instance, and the peak memory of a process tree."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


def _tree_rss(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(pid))
            rss[int(pid)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


class PeakMemory:
    """Samples the process tree under `pid` every `interval` seconds until stopped."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(self.pid))
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent


def bench_parser(doc: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; medians are reported")
    parser.add_argument("--lake", default=None, help="reuse this lake folder (default: a temporary one)")
    return parser


def seeded_environment(scale: float, lake: str | None) -> dict[str, str]:
    """Environment for `mesh`/`dagster` subprocesses: a seeded lake and a fresh instance."""
    lake_root = Path(lake or tempfile.mkdtemp(prefix="mesh-bench-"))
    home = Path(tempfile.mkdtemp(prefix="mesh-bench-home-"))
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "MESH_LAKE_ROOT": str(lake_root), "DAGSTER_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    subprocess.run([str(BIN / "mesh"), "seed", "--scale", f"{scale:g}"], env=env, check=True, capture_output=True)
    return env


@dataclass(frozen=True)
class RecordedRun:
    run_id: str
    materializations: list  # AssetMaterialization: `.asset_key`, `.metadata`
    step_seconds: dict[str, float]  # each finished step and how long it took
    wall_seconds: float | None  # from the run's start to its end
    launch_seconds: float | None = None  # from its creation (the launch) to its start: planning, queue, run worker
    planning_seconds: float | None = None  # from its creation to its enqueueing: the launcher writing planned events


def runs_since(home: Path, since: float) -> list[RecordedRun]:
    """The Dagster runs recorded in the instance at `home` since `since`."""
    from datetime import datetime

    from dagster import DagsterEventType, DagsterInstance, RunsFilter
    from dagster._core.instance.ref import InstanceRef

    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        found = []
        for run in instance.get_run_records(RunsFilter(created_after=datetime.fromtimestamp(since))):
            run_id = run.dagster_run.run_id
            records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
            steps = {s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(run_id)
                     if s.end_time and s.start_time}
            wall = run.end_time - run.start_time if run.end_time and run.start_time else None
            created = run.create_timestamp.timestamp()
            launch = run.start_time - created if run.start_time else None
            queued = instance.all_logs(run_id, of_type=DagsterEventType.PIPELINE_ENQUEUED)
            found.append(RecordedRun(
                run_id, [r.event_log_entry.dagster_event.event_specific_data.materialization for r in records], steps,
                wall, launch, queued[0].timestamp - created if queued else None))
        return found
