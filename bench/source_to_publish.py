"""Time from a source change to the last affected product published, through Dagster's real daemons.

    .venv/bin/python bench/source_to_publish.py --scale 0.1 --runs 3

The whole sample mesh runs under the sensor daemon (`<domain>_sources`) and the automation daemon
(`<domain>_propagation`) on the real clock, iterated back to back as `dagster dev`'s daemon does, each
sensor at its `MESH_SENSOR_INTERVAL` (30 s); runs execute in this process (Dagster's in-memory run
launcher, so no run pays a JVM start; tests/automation_sim.py). After the automation filled the mesh, each
round writes a new Delta version of sales' bronze `orders` and waits until every product downstream of it
has a new build: the figure includes waiting for the sensors' next ticks.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(Path(__file__).parent)]
from harness import bench_parser  # noqa: E402


def main() -> None:
    args = bench_parser(__doc__).parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    folder = Path(tempfile.mkdtemp(prefix="mesh-bench-s2p-"))
    seeded = Path(args.lake) if args.lake else folder / "seeded"
    from domains.seeding.bronze import seed

    seed(seeded, args.scale)
    from automation_sim import MeshSimulation, automated_products, copy_bronze, new_source_version
    from test_sla_automation import _downstream

    logging.getLogger("dagster").setLevel(logging.WARNING)
    lake = folder / "lake"
    copy_bronze(seeded, lake)
    os.environ["MESH_LAKE_ROOT"] = str(lake)
    products = automated_products()
    affected = _downstream(products, "sales", "orders")
    with MeshSimulation(folder / "sim", lake) as sim:
        started = time.time()
        while any(sim.latest(k) is None for k in products):
            sim.tick(time.time())
        print(f"SF {args.scale:g}: the automation filled the mesh ({len(products)} products) in "
              f"{time.time() - started:.0f} s")
        seconds = []
        for _ in range(args.runs):
            before = {k: sim.latest(k).storage_id for k in affected}
            changed = time.time()
            new_source_version(lake, "sales", "orders")
            while any(sim.latest(k).storage_id == before[k] for k in affected):
                sim.tick(time.time())
            last = max(sim.latest(k).timestamp for k in affected)
            seconds.append(last - changed)
            print(f"  source change -> {len(affected)} products republished in {seconds[-1]:.1f} s", flush=True)
            while time.time() - last < 35:  # let the sensors settle, so each round starts alike
                sim.tick(time.time())
        print(f"median of {len(seconds)}: {statistics.median(seconds):.1f} s from a new Delta version of "
              f"sales.orders (bronze) to the last of {', '.join(sorted(affected))} published")
        assert not sim.failed_runs(), sim.failed_runs()


if __name__ == "__main__":
    main()
