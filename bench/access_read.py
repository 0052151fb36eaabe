"""Cost of access policies on a read: masking and row filters versus a plain read of the same table.

    .venv/bin/python bench/access_read.py --scale 1 --runs 3

Publishes sales and finance at the scale through `mesh materialize`, then in one Spark session reads
each table fully (Spark's `noop` sink forces every column) as a plain Delta read and through the
platform's read path (policy, row filter, masking in the plan, row count, audit commit and usage
observation), alternating so that both see the same cache state. Prints medians and their ratios.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import BIN, ROOT, bench_parser, seeded_environment  # noqa: E402


def drain(df) -> None:
    df.write.format("noop").mode("overwrite").save()


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    args = bench_parser(__doc__).parse_args()
    env = seeded_environment(args.scale, args.lake)
    subprocess.run([str(BIN / "mesh"), "materialize", "--select", "sales", "--select", "finance"],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    os.environ.update(env)

    from dagster import DagsterInstance

    from mesh_platform.access.reader import open_product
    from mesh_platform.contracts.loader import parse_contract
    from mesh_platform.mesh import find_contract
    from mesh_platform.spark import SparkResource
    from mesh_platform.storage.delta import read_delta
    from mesh_platform.storage.layout import product_path

    lake = Path(env["MESH_LAKE_ROOT"])
    spark = SparkResource.from_env().spark_session
    instance = DagsterInstance.ephemeral()

    def with_access(contract, **changes):  # the shipped contract with more masking or row filters
        access = contract.access.model_dump() | changes
        return parse_contract({**contract.model_dump(by_alias=True, mode="json"), "access": access}, "bench")

    def platform(contract, consumer: str) -> Callable[[], None]:
        def read() -> None:  # what read_product does, with the contract given
            product = open_product(spark, contract, consumer, lake)  # the read is audited here
            drain(product.df)
            instance.report_runless_asset_event(product.observation)
        return read

    orders, clv = find_contract("sales.orders"), find_contract("sales.customer_lifetime_value")
    cases = {
        "sales.orders, consumer without mask or filter": ("sales.orders", platform(orders, "marketing")),
        "sales.orders, hash customer_id + partial_mask order_priority": ("sales.orders", platform(
            with_access(orders, masking={"customer_id": "hash", "order_priority": "partial_mask"}), "marketing")),
        "sales.orders, row filter order_status = 'F'": ("sales.orders", platform(
            with_access(orders, row_filters={"marketing": "order_status = 'F'"}), "marketing")),
        "sales.orders, both": ("sales.orders", platform(with_access(
            orders, masking={"customer_id": "hash", "order_priority": "partial_mask"},
            row_filters={"marketing": "order_status = 'F'"}), "marketing")),
        "sales.customer_lifetime_value as marketing (shipped policy)": (
            "sales.customer_lifetime_value", platform(clv, "marketing")),
    }
    for action in [c[1] for c in cases.values()]:
        action()  # warm up: JIT, file listing caches, the audit table
    print(f"access policies on a read at SF {args.scale:g}, {args.runs} runs, {os.cpu_count()} cores")
    for label, (product, action) in cases.items():
        domain, name = product.split(".")
        plain_read = lambda domain=domain, name=name: drain(read_delta(spark, product_path(lake, domain, name)))  # noqa: E731
        plain, policed = [], []
        for _ in range(args.runs):
            plain.append(timed(plain_read))
            policed.append(timed(action))
        base, cost = statistics.median(plain), statistics.median(policed)
        print(f"  {label}: plain {base:.3f}s, platform {cost:.3f}s, ratio {cost / base:.2f}x")


if __name__ == "__main__":
    main()
