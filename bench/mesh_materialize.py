"""Full-mesh `mesh materialize` N times at a TPC-H scale; print the median, peak memory and where time went.

    .venv/bin/python bench/mesh_materialize.py --scale 1 --runs 3

Each run is a fresh `mesh materialize` process (one Dagster run per domain, in dependency order), so
the figure includes the JVM start a user pays. Step times come from the Dagster instance's own stats.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import BIN, ROOT, PeakMemory, bench_parser, runs_since, seeded_environment  # noqa: E402

MESH = str(BIN / "mesh")


def run_stats(home: Path, since: float) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Step durations, and each product's (build, checks + gate) seconds from its materialization."""
    steps, phases = {}, {}
    for run in runs_since(home, since):
        steps |= run.step_seconds
        for m in run.materializations:
            if "build_seconds" in m.metadata:
                phases[".".join(m.asset_key.path)] = (m.metadata["build_seconds"].value, m.metadata["check_seconds"].value)
    return steps, phases


def main() -> None:
    args = bench_parser(__doc__).parse_args()
    started = time.perf_counter()
    env = seeded_environment(args.scale, args.lake)
    home = Path(env["DAGSTER_HOME"])
    print(f"full mesh at SF {args.scale:g}: seed {time.perf_counter() - started:.1f}s, {os.cpu_count()} cores")
    walls, peaks, per_step, per_phase = [], [], {}, {}
    for _ in range(args.runs):
        began = time.time()
        start = time.perf_counter()
        process = subprocess.Popen([MESH, "materialize"], env=env, cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        with PeakMemory(process.pid) as memory:
            output, _ = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(output[-3000:])
        walls.append(time.perf_counter() - start)
        peaks.append(memory.peak)
        steps, phases = run_stats(home, began)
        for step, seconds in steps.items():
            per_step.setdefault(step, []).append(seconds)
        for product, pair in phases.items():
            per_phase.setdefault(product, []).append(pair)
    print(f"mesh materialize: median {statistics.median(walls):.1f}s (runs {', '.join(f'{w:.1f}' for w in walls)}); "
          f"peak RSS {max(peaks) / 2**30:.2f} GiB")
    total = sum(statistics.median(v) for v in per_step.values())
    for step, values in sorted(per_step.items(), key=lambda kv: -statistics.median(kv[1])):
        median = statistics.median(values)
        print(f"  {step:45s} {median:6.1f}s  {100 * median / total:4.1f}% of step time")
    print("contract checks + governance gate versus the build (transform + cache), medians:")
    builds = checks = 0.0
    for product, pairs in sorted(per_phase.items()):
        build, check = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
        builds, checks = builds + build, checks + check
        print(f"  {product:45s} build {build:6.2f}s  checks+gate {check:6.2f}s  ({check / build:.2f}x)")
    if builds:
        print(f"  {'all products':45s} build {builds:6.2f}s  checks+gate {checks:6.2f}s  ({checks / builds:.2f}x)")


if __name__ == "__main__":
    main()
