"""Cost of `hash` masking: the keyed HMAC from a key file versus the old salted literal and a Python UDF.

    .venv/bin/python bench/masking_key.py --rows 2000000 --runs 3

One Spark session, N string values, each variant drained by Spark's `noop` sink (every row hashed):
`literal` is sha2(concat(lit(salt), v)), whose salt shows in df.explain(); `hmac_key_file` is the
platform's HMAC-SHA256 with the key's pads joined from `<lake>/_platform/masking_key.parquet`;
`python_udf` is hmac.new(...) in a Python UDF. Prints the median seconds of each, and ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from pyspark.sql import functions as F

from mesh_platform.access.masking import apply_masking, masking_key
from mesh_platform.spark import SparkResource


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    lake = Path(tempfile.mkdtemp(prefix="mesh-bench-mask-"))
    spark = SparkResource.from_env().spark_session
    values = spark.range(args.rows).select(F.concat(F.lit("Customer#"), F.col("id").cast("string")).alias("v"))
    values = values.persist()
    values.count()
    key = masking_key(lake)

    @F.udf("string")
    def udf_hmac(v):
        return None if v is None else hmac.new(key, v.encode(), hashlib.sha256).hexdigest()

    variants = {
        "literal": lambda: values.select(F.sha2(F.concat(F.lit(key.hex()), F.col("v")), 256).alias("v")),
        "hmac_key_file": lambda: apply_masking(values, {"v": "hash"}, {"v": "string"}, lake),
        "python_udf": lambda: values.select(udf_hmac("v").alias("v")),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.runs):
        for name, build in variants.items():  # alternating: every variant sees the same cache state
            started = time.perf_counter()
            build().write.format("noop").mode("overwrite").save()
            times[name].append(time.perf_counter() - started)
    shutil.rmtree(lake, ignore_errors=True)
    base = statistics.median(times["literal"])
    for name, measured in times.items():
        median = statistics.median(measured)
        print(f"{name:14s} {median:7.2f} s  x{median / base:5.2f}  (runs: {', '.join(f'{t:.2f}' for t in measured)})")


if __name__ == "__main__":
    main()
