"""Supply chain products: one function per contract in ./contracts, named after the product.

"Delivered" lines are shipments received by the as-of date.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from mesh_platform.columns import identifier
from mesh_platform.product import BuildContext

SPEED_BY_MODE = {"AIR": "express", "REG AIR": "express", "TRUCK": "standard", "MAIL": "standard",
                 "SHIP": "economy", "RAIL": "economy", "FOB": "economy"}


def _share(condition: Column, among: Column) -> Column:
    """Share of rows matching `among` that also match `condition` (null when none match `among`)."""
    return F.avg(F.when(among, F.when(condition, 1.0).otherwise(0.0)))


def supplier_performance(ctx: BuildContext) -> DataFrame:
    as_of = F.lit(ctx.as_of)
    delivered = F.col("l_receiptdate") <= as_of
    stats = ctx.source("shipments").groupBy("l_suppkey").agg(
        F.count(F.when(F.col("l_shipdate") <= as_of, 1)).alias("lines_shipped"),
        _share(F.col("l_receiptdate") <= F.col("l_commitdate"), delivered).alias("on_time_rate"),
        F.avg(F.when(delivered, F.greatest(F.datediff("l_receiptdate", "l_commitdate"), F.lit(0))))
        .cast("double").alias("avg_delay_days"),
        _share(F.col("l_returnflag") == "R", delivered).alias("return_rate"),
    )
    nations = ctx.source("nation").select("n_nationkey", F.col("n_name").alias("nation_name"))
    suppliers = ctx.source("supplier").join(nations, F.col("s_nationkey") == F.col("n_nationkey"), "left")
    rate = F.col("on_time_rate")
    return suppliers.join(stats, F.col("s_suppkey") == F.col("l_suppkey"), "left").select(
        identifier("s_suppkey").alias("supplier_id"),
        F.col("s_name").alias("supplier_name"),
        "nation_name",
        F.coalesce(F.col("lines_shipped"), F.lit(0)).cast("bigint").alias("lines_shipped"),
        "on_time_rate",
        "avg_delay_days",
        "return_rate",
        F.when(rate >= 0.39, "A").when(rate >= 0.36, "B").otherwise("C").alias("performance_tier"),
    )


def _month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def inventory_forecast(ctx: BuildContext) -> DataFrame:
    shipped = F.col("l_shipdate")
    months = [(_month_start(ctx.as_of, k), _month_start(ctx.as_of, k - 1)) for k in (1, 2, 3)]
    demand = ctx.source("shipments").where(shipped >= F.lit(months[-1][0])).groupBy("l_partkey").agg(*[
        F.sum(F.when((shipped >= F.lit(start)) & (shipped < F.lit(end)), F.col("l_quantity")))
        .alias(f"demand_m{k}")
        for k, (start, end) in enumerate(months, 1)
    ])
    stock = ctx.source("partsupp").groupBy("ps_partkey").agg(F.sum("ps_availqty").alias("available_qty"))
    parts = ctx.source("part").join(stock, F.col("p_partkey") == F.col("ps_partkey"), "left")
    forecast = (F.col("demand_m1") + F.col("demand_m2") + F.col("demand_m3")) / 3.0
    cover = F.when(F.col("forecast_next_month_qty") > 0,
                   F.col("available_qty") / (F.col("forecast_next_month_qty") / 30.0))
    return (
        parts.join(demand, F.col("p_partkey") == F.col("l_partkey"), "left")
        .select(
            identifier("p_partkey").alias("part_id"),
            F.col("p_name").alias("part_name"),
            F.coalesce(F.col("available_qty"), F.lit(0)).cast("bigint").alias("available_qty"),
            *[F.coalesce(F.col(f"demand_m{k}"), F.lit(0)).cast("bigint").alias(f"demand_m{k}") for k in (1, 2, 3)],
        )
        .withColumn("forecast_next_month_qty", forecast.cast("double"))
        .withColumn("days_of_cover", cover.cast("double"))
        .withColumn("reorder_flag", F.coalesce(F.col("days_of_cover") < 30, F.lit(False)))
    )


def delivery_preferences(ctx: BuildContext) -> DataFrame:
    delivered = ctx.source("shipments").where(F.col("l_receiptdate") <= F.lit(ctx.as_of))
    speed = F.lit(None).cast("string")
    for mode, klass in SPEED_BY_MODE.items():
        speed = F.when(F.col("l_shipmode") == mode, klass).otherwise(speed)
    counts = {k: F.count(F.when(F.col("speed") == k, 1)) for k in ("express", "standard", "economy")}
    per_customer = delivered.withColumn("speed", speed).groupBy("ship_to_custkey").agg(
        *[c.alias(f"n_{k}") for k, c in counts.items()],
        F.avg(F.datediff("l_receiptdate", "l_shipdate")).cast("double").alias("avg_delivery_days"),
        _share(F.col("l_receiptdate") > F.col("l_commitdate"), F.lit(True)).alias("late_share"),
        _share(F.col("l_returnflag") == "R", F.lit(True)).alias("return_rate"),
    )
    e, s, c = F.col("n_express"), F.col("n_standard"), F.col("n_economy")
    preferred = F.when((e >= s) & (e >= c), "express").when(s >= c, "standard").otherwise("economy")
    return per_customer.select(
        identifier("ship_to_custkey").alias("customer_id"),
        preferred.alias("preferred_delivery_speed"),
        "avg_delivery_days",
        (5 - 4 * F.col("late_share")).alias("avg_delivery_satisfaction"),
        "return_rate",
    )
