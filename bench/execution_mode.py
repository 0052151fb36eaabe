"""Materialize the sales domain N times per execution mode; print medians, per-step times, peak memory.

    .venv/bin/python bench/execution_mode.py --scale 1 --runs 3

Modes: `in_process` (the default: one process, one Spark session per run), `multiprocess` (Dagster's
default executor: one process, hence one local JVM, per asset step) and `connect` (multiprocess, every
step a Spark Connect client of one shared server started here). All run `dagster asset materialize` on
the same seeded lake; ratios are against in_process, measured in the same run.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))  # spark_servers: the test-only server helpers
from harness import BIN, ROOT, PeakMemory, bench_parser, seeded_environment  # noqa: E402
from spark_servers import connect_server  # noqa: E402

STEP = re.compile(r'Finished execution of step "([^"]+)" in ([\d.]+)(ms|s|m)')


def _seconds(value: str, unit: str) -> float:
    return float(value) * {"ms": 0.001, "s": 1, "m": 60}[unit]


def run_once(mode: str, env: dict) -> tuple[float, dict[str, float], int]:
    start = time.perf_counter()
    executor = "in_process" if mode == "in_process" else "multiprocess"
    process = subprocess.Popen(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "domains.sales.definitions", "--select", "*"],
        cwd=ROOT, env={**env, "MESH_EXECUTOR": executor}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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
    parser.add_argument("--modes", default="in_process,multiprocess,connect")
    args = parser.parse_args()
    env = seeded_environment(args.scale, args.lake)
    print(f"sales domain at SF {args.scale:g}, {args.runs} runs per mode, {os.cpu_count()} cores")
    medians = {}
    for mode in args.modes.split(","):
        walls, peaks, per_step = [], [], {}
        server = connect_server() if mode == "connect" else nullcontext(None)
        with server as remote:
            mode_env = {**env, "MESH_SPARK_REMOTE": remote} if remote else env
            for _ in range(args.runs):
                wall, steps, peak = run_once(mode, mode_env)
                walls.append(wall)
                peaks.append(peak)
                for step, seconds in steps.items():
                    per_step.setdefault(step, []).append(seconds)
        medians[mode] = statistics.median(walls)
        step_text = ", ".join(f"{s.split('__', 1)[1]} {statistics.median(v):.1f}s" for s, v in per_step.items())
        print(f"{mode:>12}: run median {medians[mode]:.1f}s (runs {', '.join(f'{w:.1f}' for w in walls)}); "
              f"steps (median) {step_text}; mean step {statistics.mean(statistics.median(v) for v in per_step.values()):.1f}s; "
              f"peak RSS {max(peaks) / 2**30:.2f} GiB")
    for mode in [m for m in medians if m != "in_process" and "in_process" in medians]:
        print(f"ratio {mode} / in_process: {medians[mode] / medians['in_process']:.2f}x")


if __name__ == "__main__":
    main()
