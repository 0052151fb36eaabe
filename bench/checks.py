"""Contract checks + governance gate versus the build, and versus one Spark job per rule, per product.

    .venv/bin/python bench/checks.py --scale 1 --runs 3 [--products sales.orders,finance.pricing_summary]

One `mesh materialize` publishes the mesh (consumed products must exist, with their Dagster records),
then in one Spark session in this process, for each product and run, over the same cached DataFrame:
  (a) build: transform + audit columns, persisted and counted into Spark's cache, as the factory does;
  (b) checks: the factory's own sequence (evaluate_contract with the PII probe and drift metrics,
      published table, governance_outcome, drift outcomes), calling the platform's functions;
  (c) one job per rule, as the reference text validates: one count per contract column's nulls and
      per quality rule, a group-by count for each unique rule and the key, min/max by agg().first().
Spark jobs of (b) and (c) are counted by job tag from Spark's status store (works with the UI off).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import BIN, ROOT, bench_parser, seeded_environment  # noqa: E402

CHECKS_TARGET, PER_RULE_TARGET = 0.15, 5.0  # checks/build at most; per-rule/checks at least


class SparkJobs:
    """Tags Spark jobs by step and reads them back (id, duration, call site) from the status store."""

    def __init__(self, spark):
        self.sc = spark.sparkContext
        self.jvm = self.sc._jsc.sc()
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str):
        tag = f"{self.prefix}-{name}"
        self.sc.addJobTag(tag)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = time.perf_counter() - started
            self.sc.removeJobTag(tag)

    def jobs(self, name: str) -> list[tuple[int, float, str]]:
        self.jvm.listenerBus().waitUntilEmpty(10_000)  # the status store is fed asynchronously
        store, found = self.jvm.statusStore(), []
        for job_id in sorted(self.jvm.statusTracker().getJobIdsForTag(f"{self.prefix}-{name}")):
            job = store.job(job_id)
            ms = job.completionTime().get().getTime() - job.submissionTime().get().getTime()
            found.append((job_id, ms / 1000, job.name()))
        return found


def per_rule_validation(df, contract) -> dict:
    """The reference text's validate_data_product/validate_quality: one Spark action per check."""
    from pyspark.sql import functions as F

    found = {"rows": df.count()}
    for column in contract.columns:  # each schema column: present, typed (no job) and its null count
        assert column.name in df.columns
        found[f"nulls:{column.name}"] = df.filter(F.col(column.name).isNull()).count()
    for rule in contract.quality:
        col, name = F.col(rule.column), f"{rule.rule}:{rule.column}"
        if rule.rule == "not_null":  # completeness against the threshold
            found[name] = df.filter(col.isNull()).count()
        elif rule.rule == "unique":
            found[name] = df.groupBy(col).count().filter(F.col("count") > 1).count()
        elif rule.rule == "min":
            found[name] = df.agg(F.min(col)).first()[0]
        elif rule.rule == "max":
            found[name] = df.agg(F.max(col)).first()[0]
        elif rule.rule == "allowed_values":
            found[name] = df.filter(col.isNotNull() & ~col.isin(*rule.values)).count()
    if contract.primary_key:
        found["primary_key"] = df.groupBy(*contract.primary_key).count().filter(F.col("count") > 1).count()
    return found


class ProductBench:
    """One product's build inputs, read once as the factory reads them before its timed build."""

    def __init__(self, spark, instance, lake: Path, key: str):
        from mesh_platform.governance import domain_policies, lint_contract
        from mesh_platform.mesh import DOMAINS_DIR, all_contracts, domain_module
        from mesh_platform.access.reader import open_product
        from mesh_platform.product.upstream import resolve
        from mesh_platform.storage.delta import read_delta
        from mesh_platform.storage.layout import bronze_path, product_key

        contracts = all_contracts()
        self.spark, self.instance, self.lake = spark, instance, lake
        self.contract = contract = contracts[key]
        self.key = product_key(contract.domain, contract.asset_name)
        self.transform = getattr(domain_module(contract.domain, "transforms"), contract.asset_name)
        self.policies = domain_policies(DOMAINS_DIR / contract.domain)
        self.where = f"{contract.domain}/contracts/{contract.file_name}"
        self.static = lint_contract(contract, self.policies, self.where)  # at asset definition, untimed
        self.sources = {t: read_delta(spark, bronze_path(lake, contract.domain, t)) for t in contract.sources}
        self.read = [resolve(d, contracts[d.product], contract.key, instance, lake, time.time())
                     for d in contract.dependencies]
        self.products = {s.product: open_product(spark, contracts[s.product], contract.domain, lake, s.version).df
                         for s in self.read}

    def build(self):
        from mesh_platform.product.build import BuildContext
        from mesh_platform.product.factory import with_audit_columns
        from mesh_platform.settings import default_as_of

        ctx = BuildContext(self.spark, default_as_of(), self.sources, self.products)
        df = with_audit_columns(self.transform(ctx), self.contract, datetime.now(UTC), self.read).persist()
        return df, df.count()

    def checks(self, df, rows: int, jobs: SparkJobs) -> None:
        """factory.product_asset's check phase, call for call (minus emitting the Dagster results)."""
        from mesh_platform.checks import evaluate_contract
        from mesh_platform.checks.drift import (distribution_outcome, null_share_metrics, observed_distribution,
                                                schema_outcome)
        from mesh_platform.checks.names import SCHEMA_CHECK
        from mesh_platform.contracts.revisions import published_table
        from mesh_platform.governance.gate import PiiProbe, governance_outcome
        from mesh_platform.product.factory import _published_version_violations, _upstream_outcome

        contract = self.contract
        with jobs.step("evaluate"):
            probe = PiiProbe.for_frame(df, contract)
            report = evaluate_contract(df, contract, [*probe.metrics(rows), *null_share_metrics(contract, df)])
        with jobs.step("published"):
            published = published_table(self.lake, contract)
            static = self.static + _published_version_violations(contract, published, self.where)
        with jobs.step("governance"):
            report.outcomes.append(governance_outcome(df, contract, report, probe, self.policies, static))
            if contract.dependencies:
                report.outcomes.append(_upstream_outcome(self.read))
        with jobs.step("drift"):
            observed = observed_distribution(contract, df, report.metrics, rows)
            distribution, _ = distribution_outcome(observed, self.instance, self.key)
            contract_drift = report.outcome(SCHEMA_CHECK).metadata
            report.outcomes += [schema_outcome(df, contract, published, contract_drift), distribution]
        assert not report.blocking_failures, [o.name for o in report.blocking_failures]


def result(name: str, value: float, baseline: str, base: float, target: float, at_most: bool, **extra) -> dict:
    ratio = value / base
    return {"name": name, "median_s": round(value, 3), "baseline": baseline, "baseline_median_s": round(base, 3),
            "ratio": round(ratio, 3), "target": f"{'<=' if at_most else '>='} {target}x",
            "pass": ratio <= target if at_most else ratio >= target, **extra}


def measure(bench: ProductBench, runs: int) -> dict:
    """Medians over `runs` of build, checks and per-rule; jobs and sub-step times of the checks."""
    from mesh_platform.checks.evaluate import schema_drift

    times, steps = defaultdict(list), defaultdict(list)
    for i in range(runs):
        jobs = SparkJobs(bench.spark)
        started = time.perf_counter()
        df, rows = bench.build()
        times["build"].append(time.perf_counter() - started)
        # alternate the order of (b) and (c): neither always meets the freshly built cache first
        for side in (("checks", "per_rule") if i % 2 == 0 else ("per_rule", "checks")):
            started = time.perf_counter()
            if side == "checks":
                bench.checks(df, rows, jobs)
            else:
                with jobs.step("per_rule"):
                    per_rule_validation(df, bench.contract)
            times[side].append(time.perf_counter() - started)
        for name in ("evaluate", "published", "governance", "drift"):
            steps[name].append(jobs.seconds[name])
        started = time.perf_counter()
        schema_drift(df, bench.contract)  # pandera's share of `evaluate` (no Spark job), profiled apart
        steps["pandera"].append(time.perf_counter() - started)
        df.unpersist()
    check_jobs = [j for s in ("evaluate", "published", "governance", "drift") for j in jobs.jobs(s)]
    return {"rows": rows, **{k: statistics.median(v) for k, v in times.items()},
            "steps": {k: statistics.median(v) for k, v in steps.items()},
            "check_jobs": check_jobs, "rule_jobs": jobs.jobs("per_rule")}


def run(args) -> list[dict]:
    env = seeded_environment(args.scale, args.lake)
    # consumed products must be published, with the Dagster records the build's upstream resolution reads
    subprocess.run([str(BIN / "mesh"), "materialize"], env=env, cwd=ROOT, check=True, capture_output=True)
    os.environ.update(env)
    from mesh_platform.instance import get_instance
    from mesh_platform.mesh import all_contracts
    from mesh_platform.spark import SparkResource

    spark = SparkResource.from_env().spark_session
    instance, lake = get_instance(), Path(env["MESH_LAKE_ROOT"])
    chosen = getattr(args, "check_products", None)  # not `products`: a suite's args may use that name
    products = chosen.split(",") if chosen else sorted(all_contracts())
    rows, totals = [], defaultdict(float)
    for key in products:
        m = measure(ProductBench(spark, instance, lake, key), args.runs)
        for side in ("build", "checks", "per_rule"):
            totals[side] += m[side]
        jobs = {"checks_jobs": len(m["check_jobs"]), "per_rule_jobs": len(m["rule_jobs"]), "rows": m["rows"]}
        rows += [result(f"{key}: checks + gate", m["checks"], f"{key}: build", m["build"], CHECKS_TARGET, True, **jobs),
                 result(f"{key}: one job per rule", m["per_rule"], f"{key}: checks + gate", m["checks"],
                        PER_RULE_TARGET, False, **jobs)]
        print(f"{key} ({m['rows']:,} rows): build {m['build']:.2f}s, checks+gate {m['checks']:.2f}s "
              f"({len(m['check_jobs'])} Spark jobs), one job per rule {m['per_rule']:.2f}s "
              f"({len(m['rule_jobs'])} jobs)", flush=True)
        print("  checks by step: " + ", ".join(f"{k} {v:.2f}s" for k, v in m["steps"].items()))
        print("  checks' jobs: " + ", ".join(f"#{i} {s:.2f}s {n.split(' at ')[0]}" for i, s, n in m["check_jobs"]))
        print(f"  per-rule jobs: {sum(s for _, s, _ in m['rule_jobs']):.2f}s in {len(m['rule_jobs'])} jobs "
              f"(median {statistics.median(s for _, s, _ in m['rule_jobs']):.3f}s)")
    rows += [result(f"all {len(products)} products: checks + gate", totals["checks"], "build", totals["build"],
                    CHECKS_TARGET, True),
             result(f"all {len(products)} products: one job per rule", totals["per_rule"], "checks + gate",
                    totals["checks"], PER_RULE_TARGET, False)]
    spark.stop()
    return rows


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--products", dest="check_products", default=None,
                        help="comma-separated domain.product (default: all)")
    args = parser.parse_args()
    print(f"checks vs build vs one job per rule at SF {args.scale:g}, {os.cpu_count()} cores, {args.runs} runs")
    for r in run(args):
        print(f"{r['name']:55s} {r['median_s']:7.2f}s vs {r['baseline']} {r['baseline_median_s']:.2f}s = "
              f"{r['ratio']:.2f}x (target {r['target']}: {'pass' if r['pass'] else 'FAIL'})")


if __name__ == "__main__":
    main()
