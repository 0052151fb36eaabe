"""Materialize the sales domain N times per execution mode; print medians, per-step times, peak memory.

    .venv/bin/python bench/execution_mode.py --scale 1 --runs 3

Modes: `in_process` (the default: one process, one Spark session per run) and `multiprocess` (Dagster's
default executor: one process, hence one local JVM, per asset step). Both run `dagster asset
materialize` on the same seeded lake; the ratio is multiprocess / in_process, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from procmem import PeakMemory  # noqa: E402

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
STEP = re.compile(r'Finished execution of step "([^"]+)" in ([\d.]+)(ms|s|m)')


def _seconds(value: str, unit: str) -> float:
    return float(value) * {"ms": 0.001, "s": 1, "m": 60}[unit]


def run_once(mode: str, env: dict) -> tuple[float, dict[str, float], int]:
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "domains.sales.definitions", "--select", "*"],
        cwd=ROOT, env={**env, "MESH_EXECUTOR": mode}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    with PeakMemory(process.pid) as memory:
        output, _ = process.communicate()
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(output[-3000:])
    steps = {m[1]: _seconds(m[2], m[3]) for m in STEP.finditer(output)}
    return wall, steps, memory.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="in_process,multiprocess")
    parser.add_argument("--lake", default=None, help="reuse this lake folder (default: a temporary one)")
    args = parser.parse_args()
    lake = Path(args.lake or tempfile.mkdtemp(prefix="mesh-bench-"))
    home = Path(tempfile.mkdtemp(prefix="mesh-bench-home-"))
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "MESH_LAKE_ROOT": str(lake), "DAGSTER_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    subprocess.run([str(BIN / "mesh"), "seed", "--scale", f"{args.scale:g}"], env=env, check=True,
                   capture_output=True)
    print(f"sales domain at SF {args.scale:g}, {args.runs} runs per mode, {os.cpu_count()} cores")
    medians = {}
    for mode in args.modes.split(","):
        walls, peaks, per_step = [], [], {}
        for _ in range(args.runs):
            wall, steps, peak = run_once(mode, env)
            walls.append(wall)
            peaks.append(peak)
            for step, seconds in steps.items():
                per_step.setdefault(step, []).append(seconds)
        medians[mode] = statistics.median(walls)
        step_text = ", ".join(f"{s.split('__', 1)[1]} {statistics.median(v):.1f}s" for s, v in per_step.items())
        print(f"{mode:>12}: run median {medians[mode]:.1f}s (runs {', '.join(f'{w:.1f}' for w in walls)}); "
              f"steps (median) {step_text}; mean step {statistics.mean(statistics.median(v) for v in per_step.values()):.1f}s; "
              f"peak RSS {max(peaks) / 2**30:.2f} GiB")
    if {"in_process", "multiprocess"} <= medians.keys():
        print(f"ratio multiprocess / in_process: {medians['multiprocess'] / medians['in_process']:.2f}x")


if __name__ == "__main__":
    main()
