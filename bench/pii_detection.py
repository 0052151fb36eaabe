"""Precision and recall of the publish gate's PII probe on the labelled sample (tests/pii_sample.py).

    PYTHONPATH=. .venv/bin/python bench/pii_detection.py [--rows 400] [--seed 20261201] [--cost-scale 0.1]

Column level: the gate's own decision (PiiProbe's metrics in one Spark aggregation, thresholds from
governance/policies.yaml) on every labelled column; value level: the same patterns per value (Python,
which the tests hold to the Spark decision). Prints precision and recall per kind and overall, the
columns decided wrongly, and the aggregation's wall time (the first query of the session included).
With --cost-scale, also the probe's cost on TPC-H's string tables at that scale: the aggregation with
the probe's metrics minus the same aggregation without them, on the cached table (median of --runs), with
every value inspected (a first publish; later ones inspect a sample of about 20,000 rows).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from pii_sample import COLUMN_ROWS, SEED, column_level, labelled_columns, value_level  # noqa: E402


def _table(title: str, scores: dict) -> None:
    print(f"\n{title}\n{'kind':<12} {'precision':>9} {'recall':>7} {'tp':>6} {'fp':>4} {'fn':>4}")
    for kind, s in scores.items():
        print(f"{kind:<12} {s['precision']:>9.3f} {s['recall']:>7.3f} {s['tp']:>6} {s['fp']:>4} {s['fn']:>4}")


def _probe_cost(spark, scale: float, runs: int) -> None:
    from domains.seeding.tpch import generate
    from mesh_platform.checks.metrics import MetricPlan, RowCount
    from mesh_platform.governance.gate import PiiProbe

    folder = generate(scale, Path(tempfile.gettempdir()) / "mesh-bench-tpch" / f"sf{scale:g}")
    print(f"\nprobe cost at TPC-H SF {scale:g} (every value inspected), median of {runs} runs")
    for table in ("lineitem", "orders", "customer", "part"):
        df = spark.read.parquet(str(folder / f"{table}.parquet")).cache()
        rows = df.count()
        probe = PiiProbe([f.name for f in df.schema.fields if f.dataType.simpleString() == "string"])
        timings = {}
        for label, metrics in (("count", []), ("count+probe", probe.metrics())):
            plan = MetricPlan([RowCount(), *metrics])
            seconds = []
            for _ in range(runs):
                started = time.perf_counter()
                plan.compute(df)
                seconds.append(time.perf_counter() - started)
            timings[label] = statistics.median(seconds)
        added = timings["count+probe"] - timings["count"]
        print(f"{table:<9} {rows:>9} rows {len(probe.columns)} string columns: probe adds {added:.2f} s "
              f"({added / len(probe.columns):.2f} s a column)")
        df.unpersist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=COLUMN_ROWS, help="values per labelled column")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--cost-scale", type=float, help="also time the probe on TPC-H at this scale")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from mesh_platform.spark import SparkResource

    columns = labelled_columns(args.seed, args.rows)
    positives = sum(c.label is not None for c in columns)
    print(f"{len(columns)} columns of {args.rows} values ({positives} holding PII, "
          f"{len(columns) - positives} hard negatives), seed {args.seed}")
    spark = SparkResource.from_env().spark_session
    started = time.perf_counter()
    scores, found = column_level(spark, columns)
    seconds = time.perf_counter() - started
    _table("column level (the gate's decision)", scores)
    _table("value level", value_level(columns))
    wrong = [(c.name, c.label, found[c.name]) for c in columns if (found[c.name] or {}).get("kind") != c.label]
    print(f"\nwrongly decided columns: {wrong or 'none'}")
    print(f"one aggregation over {len(columns)} columns: {seconds:.1f} s")
    if args.cost_scale:
        _probe_cost(spark, args.cost_scale, args.runs)


if __name__ == "__main__":
    main()
