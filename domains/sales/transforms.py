"""Sales products: one function per contract in ./contracts, named after the product."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from mesh_platform.columns import identifier, money
from mesh_platform.product import BuildContext


def orders(ctx: BuildContext) -> DataFrame:
    # Partitioned by order month: the month's orders, and only their lines.
    placed = ctx.in_partition(ctx.source("orders"), "o_orderdate").where(F.col("o_orderdate") <= F.lit(ctx.as_of))
    keys = placed.select(F.col("o_orderkey").alias("l_orderkey"))
    lines = ctx.source("order_lines").join(keys, "l_orderkey", "left_semi").groupBy("l_orderkey").agg(
        F.count(F.lit(1)).alias("line_count"),
        F.sum(F.col("l_extendedprice") * (1 - F.col("l_discount"))).alias("net_revenue"),
    )
    return placed.join(lines, placed.o_orderkey == lines.l_orderkey, "left").select(
        identifier("o_orderkey").alias("order_id"),
        identifier("o_custkey").alias("customer_id"),
        F.col("o_orderdate").alias("order_date"),
        F.col("o_orderstatus").alias("order_status"),
        F.col("o_orderpriority").alias("order_priority"),
        money("o_totalprice").alias("total_price"),
        F.coalesce(F.col("line_count"), F.lit(0)).cast("int").alias("line_count"),
        money(F.coalesce(F.col("net_revenue"), F.lit(0))).alias("net_revenue"),
    )


def _order_totals() -> list[Column]:
    """order_count, total_revenue and avg_order_value from an aggregate's `order_count` and `revenue`."""
    return [
        F.col("order_count").cast("int").alias("order_count"),
        money("revenue").alias("total_revenue"),
        money(F.col("revenue") / F.col("order_count")).alias("avg_order_value"),
    ]


def _segment(score: Column) -> Column:
    return (
        F.when(score >= 1_000_000, "platinum")
        .when(score >= 500_000, "gold")
        .when(score >= 250_000, "silver")
        .otherwise("bronze")
    )


def customer_lifetime_value(ctx: BuildContext) -> DataFrame:
    per_customer = ctx.product("sales.orders").groupBy("customer_id").agg(
        F.count(F.lit(1)).alias("order_count"),
        F.sum("total_price").alias("revenue"),
        F.min("order_date").alias("first_order_date"),
        F.max("order_date").alias("last_order_date"),
    )
    names = ctx.source("customer").select(
        identifier("c_custkey").alias("customer_id"), F.col("c_name").alias("customer_name")
    )
    days_since_last = F.datediff(F.lit(ctx.as_of), F.col("last_order_date"))
    ltv = (
        0.3 * F.col("revenue").cast("double")
        + 10 * F.col("order_count")
        - 0.1 * days_since_last
    )
    return (
        per_customer.join(names, "customer_id", "left")
        .withColumn("ltv_score", ltv)
        .select(
            "customer_id",
            "customer_name",
            *_order_totals(),
            "first_order_date",
            "last_order_date",
            "ltv_score",
            _segment(F.col("ltv_score")).alias("segment"),
        )
    )


def order_analytics(ctx: BuildContext) -> DataFrame:
    return (
        ctx.product("sales.orders")
        .groupBy(F.trunc("order_date", "month").alias("order_month"), "order_priority")
        .agg(
            F.count(F.lit(1)).alias("order_count"),
            F.sum("total_price").alias("revenue"),
            F.avg(F.when(F.col("order_status") == "F", 1.0).otherwise(0.0)).alias("fulfilled_share"),
        )
        .select(
            "order_month",
            "order_priority",
            *_order_totals(),
            "fulfilled_share",
        )
    )
