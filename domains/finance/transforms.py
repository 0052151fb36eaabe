"""Finance products: one function per contract in ./contracts, named after the product."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mesh_platform.columns import money
from mesh_platform.product import BuildContext

# TPC-H Query 1 with DELTA = 90: shipdate <= date '1998-12-01' - interval '90' day.
Q1_SHIPPED_BY = date(1998, 9, 2)


def pricing_summary(ctx: BuildContext) -> DataFrame:
    price, discount, tax = F.col("l_extendedprice"), F.col("l_discount"), F.col("l_tax")
    count = F.count(F.lit(1))
    return (
        ctx.source("invoice_lines").where(F.col("l_shipdate") <= F.lit(Q1_SHIPPED_BY))
        .groupBy(F.col("l_returnflag").alias("return_flag"), F.col("l_linestatus").alias("line_status"))
        .agg(
            money(F.sum("l_quantity")).alias("sum_qty"),
            money(F.sum(price)).alias("sum_base_price"),
            money(F.sum(price * (1 - discount))).alias("sum_disc_price"),
            money(F.sum(price * (1 - discount) * (1 + tax))).alias("sum_charge"),
            (F.sum("l_quantity").cast("double") / count).alias("avg_qty"),
            money(F.sum(price) / count).alias("avg_price"),
            (F.sum(discount).cast("double") / count).alias("avg_disc"),
            count.cast("bigint").alias("count_order"),
        )
    )


def revenue_by_nation(ctx: BuildContext) -> DataFrame:
    price, discount = F.col("l_extendedprice"), F.col("l_discount")
    net = price * (1 - discount)
    # Partitioned by order year: the year's invoice lines.
    lines = ctx.in_partition(ctx.source("invoice_lines"), "order_date").where(F.col("order_date") <= F.lit(ctx.as_of))
    totals = lines.groupBy("bill_to_nationkey", F.year("order_date").alias("order_year")).agg(
        F.countDistinct("l_orderkey").cast("bigint").alias("order_count"),
        money(F.sum(price)).alias("gross_revenue"),
        money(F.sum(price * discount)).alias("discount_amount"),
        money(F.sum(net)).alias("net_revenue"),
        money(F.sum(net * F.col("l_tax"))).alias("tax_amount"),
    )
    places = ctx.source("nation").join(ctx.source("region"), F.col("n_regionkey") == F.col("r_regionkey")).select(
        "n_nationkey", F.col("n_name").alias("nation_name"), F.col("r_name").alias("region_name")
    )
    return totals.join(places, F.col("bill_to_nationkey") == F.col("n_nationkey")).select(
        "nation_name", "region_name", F.col("order_year").cast("int").alias("order_year"),
        "order_count", "gross_revenue", "discount_amount", "net_revenue", "tax_amount",
    )
