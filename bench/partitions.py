"""Partitioned sales.orders (monthly): a one-month refresh vs the full rebuild, the backfill vs an unpartitioned build.

    .venv/bin/python bench/partitions.py --scale 1 --runs 3 [--lake DIR] [--engines sail jvm]

Every measured build is a fresh `mesh materialize --select sales.orders` process (interpreter, code
location load, Spark session or Sail server, one Dagster run), its peak memory that of its process tree
(harness.PeakMemory: Python, the JVM or Sail, Dagster's children). In each run, in rotating order:

- refresh: 1 % of the bronze `orders` rows, all in one month (REFRESH_MONTH), get a new total price and
  priority (one delta-rs update, untimed), then `--partition <that month>` rebuilds that partition: what
  the incremental refresh runs. Its published month must carry the change (checked after every refresh).
- backfill: no --partition, so every partition (80 months at the sample's as-of date) in one run, one
  Spark session, one Delta commit. It is also the refresh's baseline (a full rebuild of the product).
- unpartitioned: the same contract without `partitioning:` (a copy of the mesh in a temporary folder, the
  line removed) building the whole product once, into a lake of its own whose bronze tables are the
  seeded lake's (symlinks), with an instance of its own.

Targets (issue 20): refresh <= 0.1x the full rebuild; backfill <= 1.3x the unpartitioned build; the
backfill's peak memory no higher than the unpartitioned build's (their ratio, to 2 decimals: the
peaks are sampled every 0.2 s, so a few MiB either way are noise).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
from deltalake import DeltaTable

sys.path.insert(0, str(Path(__file__).parent))
from harness import BIN, ROOT, PeakMemory, bench_parser, runs_since, seeded_environment  # noqa: E402

PRODUCT = "sales.orders"
REFRESH_MONTH = date(1995, 3, 1)  # a full month in the middle of TPC-H's 1992-01..1998-08
CHANGED_SHARE = 0.01  # of all bronze orders rows
REFRESH_TARGET, BACKFILL_TARGET = 0.1, 1.3
CONTRACT = Path("domains") / "sales" / "contracts" / "orders.yaml"


def unpartitioned_mesh() -> Path:
    """A copy of this mesh whose sales.orders contract has no `partitioning:` line."""
    copy = Path(tempfile.mkdtemp(prefix="mesh-unpartitioned-"))
    skip = shutil.ignore_patterns("__pycache__", ".lake")
    shutil.copyfile(ROOT / "mesh.yaml", copy / "mesh.yaml")
    for folder in ("domains", "governance"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=skip)
    text = (copy / CONTRACT).read_text()
    kept = [line for line in text.splitlines(keepends=True) if not line.startswith("partitioning:")]
    assert len(kept) == len(text.splitlines()) - 1, f"{CONTRACT}: expected one `partitioning:` line"
    (copy / CONTRACT).write_text("".join(kept))
    return copy


def sibling_lake(lake: Path) -> Path:
    """A lake sharing `lake`'s bronze tables and platform state (symlinks) but with gold tables of its own."""
    other = Path(tempfile.mkdtemp(prefix="mesh-bench-unpartitioned-lake-"))
    for entry in lake.iterdir():
        if entry.is_dir() and (entry / "bronze").is_dir():  # a domain: its bronze shared, its gold its own
            (other / entry.name).mkdir()
            for part in entry.iterdir():
                if part.name != "gold":
                    (other / entry.name / part.name).symlink_to(part)
        else:
            (other / entry.name).symlink_to(entry)
    return other


def unpartitioned_environment(env: dict[str, str]) -> dict[str, str]:
    home = Path(tempfile.mkdtemp(prefix="mesh-bench-home-"))
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    return {**env, "MESH_ROOT": str(unpartitioned_mesh()), "DAGSTER_HOME": str(home),
            "MESH_LAKE_ROOT": str(sibling_lake(Path(env["MESH_LAKE_ROOT"])))}


def _month_end(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def change_one_month(lake: Path, round_: int) -> int:
    """Gives 1 % of bronze orders' rows, all in REFRESH_MONTH, a new total price and priority (one Delta
    commit); returns how many rows changed."""
    table = DeltaTable(str(lake / "sales" / "bronze" / "orders"))
    data = table.to_pyarrow_dataset().to_table(columns=["o_orderkey", "o_orderdate"])
    wanted = round(CHANGED_SHARE * data.num_rows)
    in_month = (pc.field("o_orderdate") >= REFRESH_MONTH) & (pc.field("o_orderdate") < _month_end(REFRESH_MONTH))
    keys = pc.sort_indices(data.filter(in_month).column("o_orderkey"))
    month_keys = data.filter(in_month).column("o_orderkey").take(keys)
    assert len(month_keys) >= wanted, f"{REFRESH_MONTH:%Y-%m} holds {len(month_keys)} orders, fewer than 1 % ({wanted})"
    last = month_keys[wanted - 1].as_py()
    start, end = REFRESH_MONTH.isoformat(), _month_end(REFRESH_MONTH).isoformat()
    priority = ("1-URGENT", "5-LOW")[round_ % 2]
    done = table.update(
        updates={"o_totalprice": "o_totalprice + 1", "o_orderpriority": f"'{priority}'"},
        predicate=f"o_orderdate >= '{start}' AND o_orderdate < '{end}' AND o_orderkey <= {last}")
    assert done["num_updated_rows"] == wanted, (done, wanted)
    return wanted


def month_revenue(lake: Path) -> tuple[float, float]:
    """REFRESH_MONTH's total price summed in bronze orders and in the published product."""
    month = (REFRESH_MONTH, _month_end(REFRESH_MONTH))
    bronze = DeltaTable(str(lake / "sales" / "bronze" / "orders")).to_pyarrow_dataset().to_table(
        columns=["o_totalprice"], filter=(pc.field("o_orderdate") >= month[0]) & (pc.field("o_orderdate") < month[1]))
    gold = DeltaTable(str(lake / "sales" / "gold" / "orders")).to_pyarrow_dataset().to_table(
        columns=["total_price"], filter=(pc.field("order_date") >= month[0]) & (pc.field("order_date") < month[1]))
    return (float(pc.sum(pc.round(pc.cast(bronze.column(0), "float64"), 2)).as_py()),
            float(pc.sum(pc.cast(gold.column(0), "float64")).as_py()))


def build(env: dict[str, str], *extra: str) -> dict:
    """One `mesh materialize --select sales.orders` process: wall seconds, peak memory, the step's seconds
    and the materialization's `partitions` label from the instance."""
    began, started = time.time(), time.perf_counter()
    process = subprocess.Popen([str(BIN / "mesh"), "materialize", "--select", PRODUCT, *extra], env=env, cwd=ROOT,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with PeakMemory(process.pid) as memory:
        output, _ = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"mesh materialize --select {PRODUCT} {' '.join(extra)} failed:\n{output[-3000:]}")
    found = {"seconds": seconds, "peak": memory.peak, "step": None, "partitions": None, "build": None, "checks": None}
    for run in runs_since(Path(env["DAGSTER_HOME"]), began):
        found["step"] = run.step_seconds.get("sales__orders", found["step"])
        for m in run.materializations:
            if m.asset_key.path == ["sales", "orders"]:
                found["partitions"] = m.metadata["partitions"].value if "partitions" in m.metadata else None
                found["build"], found["checks"] = m.metadata["build_seconds"].value, m.metadata["check_seconds"].value
    return found


def _row(name: str, values: list[float], baseline: str, base: list[float], target: float, **extra) -> dict:
    median, base_median = statistics.median(values), statistics.median(base)
    ratio = median / base_median
    return {"name": name, "median_s": round(median, 2), "baseline": baseline, "baseline_median_s": round(base_median, 2),
            "ratio": round(ratio, 3), "target": f"<= {target}x", "pass": ratio <= target,
            "runs": [round(v, 2) for v in values], "baseline_runs": [round(v, 2) for v in base], **extra}


def run(args, engine: str) -> list[dict]:
    """The three cases on `engine` (MESH_SPARK_ENGINE), `args.runs` times each; rows for run.py's table."""
    env = {**seeded_environment(args.scale, args.lake), "MESH_SPARK_ENGINE": engine, "PYTHONPATH": str(ROOT)}
    lake = Path(env["MESH_LAKE_ROOT"])
    plain = unpartitioned_environment(env)
    print(f"[{engine}] partitioned {PRODUCT} at SF {args.scale:g}: {args.runs} runs", flush=True)
    if args.runs > 1:  # untimed: the first build of each side creates its table and warms the page cache
        build(env), build(plain)
    month = f"{REFRESH_MONTH:%Y-%m}"
    results: dict[str, list[dict]] = {"refresh": [], "backfill": [], "unpartitioned": []}
    cases = ["backfill", "refresh", "unpartitioned"]  # a smoke run's first build creates the table
    for i in range(args.runs):
        for case in cases[i % 3:] + cases[:i % 3]:  # rotate: no case always meets the coldest cache
            if case == "refresh":
                changed = change_one_month(lake, i)
                results[case].append(build(env, "--partition", month))
                bronze, gold = month_revenue(lake)
                assert abs(bronze - gold) < 1, f"the refresh of {month} did not publish the change: {bronze} vs {gold}"
                assert results[case][-1]["partitions"] == month, results[case][-1]
            else:
                results[case].append(build(env if case == "backfill" else plain))
        for case, measured in results.items():
            r = measured[-1]
            print(f"    {case:13s} wall {r['seconds']:6.1f}s  step {r['step'] or 0:6.1f}s  build {r['build'] or 0:6.1f}s  "
                  f"checks+gate {r['checks'] or 0:5.1f}s  peak {r['peak'] / 2**30:.2f} GiB")
        print(f"  run {i + 1}: refresh of {month} ({changed:,} rows changed) {results['refresh'][-1]['seconds']:.1f}s, "
              f"backfill {results['backfill'][-1]['seconds']:.1f}s ({results['backfill'][-1]['partitions']}), "
              f"unpartitioned {results['unpartitioned'][-1]['seconds']:.1f}s "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    assert all(r["partitions"] is None for r in results["unpartitioned"]), "the baseline built a partitioned product"
    for side in (lake, Path(plain["MESH_LAKE_ROOT"])):  # the same product on both sides
        assert DeltaTable(str(side / "sales" / "gold" / "orders")).to_pyarrow_dataset().count_rows() == \
            DeltaTable(str(lake / "sales" / "gold" / "orders")).to_pyarrow_dataset().count_rows()

    def of(case: str, field: str) -> list[float]:
        return [r[field] for r in results[case]]

    months = results["backfill"][-1]["partitions"]
    peak, base_peak = statistics.median(of("backfill", "peak")), statistics.median(of("unpartitioned", "peak"))
    rows = [
        _row(f"[{engine}] refresh: 1 month of {PRODUCT} after 1 % of its rows changed", of("refresh", "seconds"),
             "full rebuild (all months, one run)", of("backfill", "seconds"), REFRESH_TARGET),
        _row(f"[{engine}] backfill: every month of {PRODUCT} ({months}) in one run", of("backfill", "seconds"),
             "unpartitioned build", of("unpartitioned", "seconds"), BACKFILL_TARGET),
        {"name": f"[{engine}] backfill peak memory vs the unpartitioned build's", "median_gib": round(peak / 2**30, 2),
         "baseline_gib": round(base_peak / 2**30, 2), "ratio": round(peak / base_peak, 3), "target": "<= 1.0x",
         "pass": round(peak / base_peak, 2) <= 1.0, "runs": [round(p / 2**30, 2) for p in of("backfill", "peak")],
         "baseline_runs": [round(p / 2**30, 2) for p in of("unpartitioned", "peak")]},
    ]
    steps = {case: [s for s in of(case, "step") if s is not None] for case in results}
    if all(steps.values()):  # where the time goes: the product's step inside the run, without process start-up
        rows.append(_row(f"[{engine}] refresh, the Dagster step only", steps["refresh"], "full rebuild's step",
                         steps["backfill"], REFRESH_TARGET) | {"pass": None, "target": "info"})
        rows.append(_row(f"[{engine}] backfill, the Dagster step only", steps["backfill"], "unpartitioned build's step",
                         steps["unpartitioned"], BACKFILL_TARGET) | {"pass": None, "target": "info"})
    shutil.rmtree(plain["MESH_ROOT"], ignore_errors=True)
    return rows


def print_rows(rows: list[dict]) -> None:
    for r in rows:
        verdict = "info" if r["pass"] is None else ("pass" if r["pass"] else "MISS")
        if "median_gib" in r:
            print(f"{r['name']:62s} {r['median_gib']:.2f} GiB {r['runs']} vs {r['baseline_gib']:.2f} GiB "
                  f"{r['baseline_runs']} = {r['ratio']:.2f}x ({r['target']}: {verdict})")
        else:
            print(f"{r['name']:62s} {r['median_s']:.2f}s {r['runs']} vs {r['baseline']} {r['baseline_median_s']:.2f}s "
                  f"{r['baseline_runs']} = {r['ratio']:.2f}x ({r['target']}: {verdict})")


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--engines", nargs="+", default=["sail"], choices=["jvm", "sail"])
    args = parser.parse_args()
    rows = []
    for engine in args.engines:
        rows += run(args, engine)
    print_rows(rows)


if __name__ == "__main__":
    main()
