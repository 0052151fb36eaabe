"""Publishing a product (the platform's write_delta) versus Spark writing the same DataFrame as plain Parquet.

    .venv/bin/python bench/publish.py --scale 1 --runs 3 [--sizes 10000,100000,300000,1000000,3000000]

In one Spark session in this process, sales.orders (the largest product: 1.5M rows at SF 1) is built as
the factory builds it (transform, audit columns, persisted and counted), then written from the cache,
alternating, by write_delta with MESH_WRITE_PATH=arrow, =spark and =auto, and by
`df.write.mode("overwrite").parquet` (the baseline: what Spark does without a Delta commit).
A sweep then resizes the same rows (a sample, or copies unioned) to each size of --sizes (scaled by
--scale) and times both forced paths, to find the plan size (the estimate write_path() uses) from which
Spark's executors beat the Arrow path: where MESH_ARROW_WRITE_MAX_MB (64 by default) belongs.
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from functools import reduce
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import bench_parser, seeded_environment  # noqa: E402

TARGET = 1.2  # publish / plain Parquet, at most
SIZES = "10000,100000,300000,1000000,3000000"
MODES = ("arrow", "spark", "auto", "parquet")


def plan_bytes(df) -> int:
    """The size estimate storage/delta.py write_path() compares with MESH_ARROW_WRITE_MAX_MB."""
    return int(str(df._jdf.queryExecution().optimizedPlan().stats().sizeInBytes()))


def write_seconds(df, mode: str, folder: Path, metadata: dict[str, str]) -> tuple[float, int | None]:
    """One write of the cached `df`: the platform's publish under MESH_WRITE_PATH=mode, or plain Parquet;
    its seconds, and the committed row count (None for Parquet)."""
    from mesh_platform.storage.delta import write_delta

    started, committed = time.perf_counter(), None
    if mode == "parquet":
        df.write.mode("overwrite").parquet(str(folder / "parquet"))
    else:
        previous = os.environ.get("MESH_WRITE_PATH")
        os.environ["MESH_WRITE_PATH"] = mode  # settings.write_path() reads it at every publish
        try:
            committed = write_delta(df, folder / mode, metadata).row_count
        finally:
            os.environ.pop("MESH_WRITE_PATH") if previous is None else os.environ.update(MESH_WRITE_PATH=previous)
    return time.perf_counter() - started, committed


def measure(df, modes, runs: int, metadata: dict[str, str]) -> dict[str, list[float]]:
    folder = Path(tempfile.mkdtemp(prefix="publish-bench-"))
    times, rows = {m: [] for m in modes}, df.count()
    try:
        for m in modes:  # warm-up, untimed: the first write of a session pays class loading and JIT
            committed = write_seconds(df, m, folder, metadata)[1]
            assert committed in (None, rows), (m, committed, rows)  # every path publishes every row
        for i in range(runs):
            order = modes[i % len(modes):] + modes[:i % len(modes)]  # rotate: no mode always goes first
            for m in order:
                times[m].append(write_seconds(df, m, folder, metadata)[0])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return times


def result(name: str, values: list[float], baseline: str, base: list[float], target: float | None, **extra) -> dict:
    median, base_median = statistics.median(values), statistics.median(base)
    ratio = median / base_median
    return {"name": name, "median_s": round(median, 3), "baseline": baseline, "baseline_median_s": round(base_median, 3),
            "ratio": round(ratio, 3), "target": f"<= {target}x" if target else "info",
            "pass": ratio <= target if target else None, **extra}


def resized(base, base_rows: int, rows: int):
    """`rows` rows made of `base`'s: copies unioned, then a sample; partitioned as Spark would leave them."""
    copies = max(1, math.ceil(rows / base_rows))
    df = reduce(lambda a, b: a.unionAll(b), [base] * copies)
    if rows < copies * base_rows:
        df = df.sample(fraction=rows / (copies * base_rows), seed=7)
    return df.persist()


def crossover(sweep: list[dict]) -> str:
    """Where the Spark path starts (and keeps) beating the Arrow path, in plan MB."""
    faster = [r["ratio"] < 1 for r in sweep]  # ratio: spark path / arrow path
    if all(faster):
        return f"the Spark path is faster at every size measured (from {sweep[0]['plan_mb']:.1f} MB)"
    if not any(faster):
        return f"the Arrow path is faster at every size measured (up to {sweep[-1]['plan_mb']:.1f} MB)"
    first = max(i for i, f in enumerate(faster) if not f) + 1  # after the last size Arrow still wins
    if first == len(sweep):
        return f"the Arrow path is faster at the largest size ({sweep[-1]['plan_mb']:.1f} MB); no stable crossover"
    low, high = sweep[first - 1], sweep[first]
    return (f"the Spark path is faster from between {low['plan_mb']:.1f} MB ({low['rows']:,} rows, spark/arrow "
            f"{low['ratio']:.2f}x) and {high['plan_mb']:.1f} MB ({high['rows']:,} rows, {high['ratio']:.2f}x)")


def run(args) -> list[dict]:
    env = seeded_environment(args.scale, args.lake)
    os.environ.update(env)
    from mesh_platform.contracts.revisions import contract_metadata
    from mesh_platform.mesh import domain_module, find_contract
    from mesh_platform.product.build import BuildContext
    from mesh_platform.product.materialize import with_audit_columns
    from mesh_platform.settings import arrow_write_max_bytes, default_as_of
    from mesh_platform.spark import SparkResource
    from mesh_platform.storage.delta import read_delta, write_path
    from mesh_platform.storage.layout import bronze_path

    spark = SparkResource.from_env().spark_session
    lake, contract = Path(env["MESH_LAKE_ROOT"]), find_contract("sales.orders")
    metadata = contract_metadata(contract)
    sources = {t: read_delta(spark, bronze_path(lake, "sales", t)) for t in contract.sources}
    transform = domain_module("sales", "transforms").orders
    orders = with_audit_columns(transform(BuildContext(spark, default_as_of(), sources, {})), contract,
                                datetime.now(UTC)).persist()
    rows = orders.count()
    mb, limit = plan_bytes(orders) / 2**20, arrow_write_max_bytes() / 2**20
    print(f"sales.orders: {rows:,} rows, plan size {mb:.1f} MB, {orders.rdd.getNumPartitions()} partitions; "
          f"auto publishes through {write_path(orders)} (MESH_ARROW_WRITE_MAX_MB={limit:g})", flush=True)
    times = measure(orders, MODES, args.runs, metadata)
    name = f"publish sales.orders ({rows:,} rows, {mb:.0f} MB)"
    results = [result(f"{name}, {m} path", times[m], "Spark plain Parquet write", times["parquet"], TARGET,
                      rows=rows, plan_mb=round(mb, 1)) for m in ("arrow", "spark", "auto")]
    for r in results:
        print(f"  {r['name']}: {r['median_s']:.2f}s vs Parquet {r['baseline_median_s']:.2f}s = {r['ratio']:.2f}x")

    sweep = []
    for size in sorted({max(1000, int(int(s) * args.scale)) for s in getattr(args, "sizes", SIZES).split(",")}):
        df = resized(orders, rows, size)
        n = df.count()
        mb = plan_bytes(df) / 2**20
        t = measure(df, ("arrow", "spark", "parquet"), args.runs, metadata)
        sweep.append(result(f"sweep {n:,} rows ({mb:.1f} MB): spark path", t["spark"], "arrow path", t["arrow"],
                            None, rows=n, plan_mb=round(mb, 2), parquet_median_s=round(statistics.median(t["parquet"]), 3),
                            partitions=df.rdd.getNumPartitions(), auto=write_path(df)))
        r = sweep[-1]
        print(f"  {n:>10,} rows {mb:8.1f} MB ({r['partitions']} partitions, auto: {r['auto']}): arrow "
              f"{r['baseline_median_s']:.2f}s  spark {r['median_s']:.2f}s  parquet {r['parquet_median_s']:.2f}s  "
              f"spark/arrow {r['ratio']:.2f}x", flush=True)
        df.unpersist()
    print(f"crossover: {crossover(sweep)}")
    orders.unpersist()
    spark.stop()
    return results + sweep


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--sizes", default=SIZES, help=f"sweep row counts at SF 1 (default {SIZES})")
    args = parser.parse_args()
    print(f"publish vs plain Parquet at SF {args.scale:g}, {os.cpu_count()} cores, {args.runs} runs")
    for r in run(args):
        target = f"target {r['target']}: {'pass' if r['pass'] else 'FAIL'}" if r["pass"] is not None else "info"
        print(f"{r['name']:60s} {r['median_s']:7.2f}s vs {r['baseline']} {r['baseline_median_s']:.2f}s = "
              f"{r['ratio']:.2f}x ({target})")


if __name__ == "__main__":
    main()
