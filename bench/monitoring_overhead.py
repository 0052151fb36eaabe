"""What monitoring (OpenLineage events and cost metering) adds to a full-mesh materialization.

    .venv/bin/python bench/monitoring_overhead.py --scale 1 --runs 3

Alternates `mesh materialize` with MESH_MONITORING=on and =off on one seeded lake (the baseline is
measured in the same run), and reports both medians, their ratio, and the time the monitoring itself
measured (`cost/monitoring_seconds`, summed over the products of a run). Drift checks and freshness
are not switched off: they ride in the checks' one aggregation and in Dagster's daemon.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import BIN, ROOT, PeakMemory, bench_parser, runs_since, seeded_environment  # noqa: E402


def own_seconds(home: Path, since: float) -> float:
    """Sum of `cost/monitoring_seconds` over the materializations recorded since `since`."""
    return sum(m.metadata["cost/monitoring_seconds"].value for run in runs_since(home, since)
               for m in run.materializations if "cost/monitoring_seconds" in m.metadata)


def main() -> None:
    args = bench_parser(__doc__).parse_args()
    env = seeded_environment(args.scale, args.lake)
    home = Path(env["DAGSTER_HOME"])
    walls: dict[str, list[float]] = {"on": [], "off": []}
    peaks: dict[str, list[int]] = {"on": [], "off": []}
    measured: list[float] = []
    for _ in range(args.runs):
        for mode in ("on", "off"):
            began, start = time.time(), time.perf_counter()
            process = subprocess.Popen([str(BIN / "mesh"), "materialize"], env={**env, "MESH_MONITORING": mode},
                                       cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            with PeakMemory(process.pid) as memory:
                output, _ = process.communicate()
            if process.returncode != 0:
                raise RuntimeError(output[-3000:])
            walls[mode].append(time.perf_counter() - start)
            peaks[mode].append(memory.peak)
            if mode == "on":
                measured.append(own_seconds(home, began))
    on, off = statistics.median(walls["on"]), statistics.median(walls["off"])
    print(f"full mesh at SF {args.scale:g}, {args.runs} runs each, alternating")
    for mode in ("off", "on"):
        print(f"  monitoring {mode:3s}: median {statistics.median(walls[mode]):6.1f}s "
              f"(runs {', '.join(f'{w:.1f}' for w in walls[mode])}); peak RSS {max(peaks[mode]) / 2**30:.2f} GiB")
    print(f"  ratio on/off: {on / off:.3f}x")
    print(f"  monitoring's own time per run (median): {statistics.median(measured):.2f}s "
          f"= {100 * statistics.median(measured) / on:.1f}% of the monitored run")


if __name__ == "__main__":
    main()
