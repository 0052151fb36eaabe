"""Materialize the sales domain N times per execution mode; print medians, per-step times, peak memory.

    .venv/bin/python bench/execution_mode.py --scale 1 --runs 3

Modes: `in_process` (the default: one process, one Spark session per run) and `multiprocess` (Dagster's
default executor: one process, hence one local JVM, per asset step). Both run `dagster asset
materialize` on the same seeded lake; the ratio is multiprocess / in_process, measured in the same run.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import BIN, ROOT, PeakMemory, bench_parser, seeded_environment  # noqa: E402

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
    parser = bench_parser(__doc__)
    parser.add_argument("--modes", default="in_process,multiprocess")
    args = parser.parse_args()
    env = seeded_environment(args.scale, args.lake)
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
