"""Marketing products: one function per contract in ./contracts, named after the product."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from mesh_platform.columns import money
from mesh_platform.product import BuildContext


def _touches(ctx: BuildContext) -> DataFrame:
    """Touches up to the as-of date, with their UTC calendar date."""
    touches = ctx.source("campaign_touches").withColumn("touch_date", F.to_date("touched_at"))
    return touches.where(F.col("touch_date") <= F.lit(ctx.as_of))


def customer_segments(ctx: BuildContext) -> DataFrame:
    touches = _touches(ctx)
    by_channel = touches.groupBy("customer_id", "channel").count()
    favourite = Window.partitionBy("customer_id").orderBy(F.desc("count"), F.asc("channel"))
    preferred = (
        by_channel.withColumn("rank", F.row_number().over(favourite)).where("rank = 1")
        .select("customer_id", F.col("channel").alias("preferred_channel"))
    )
    engagement = touches.groupBy("customer_id").agg(
        (100.0 * F.avg(F.col("responded").cast("double"))).alias("engagement_score"),
        F.max(F.when(F.col("responded"), F.col("touch_date"))).alias("last_campaign_response"),
    )
    score = F.col("engagement_score")
    return engagement.join(preferred, "customer_id").select(
        "customer_id",
        "engagement_score",
        "preferred_channel",
        "last_campaign_response",
        F.when(score >= 70, "champion").when(score >= 30, "engaged").otherwise("dormant").alias("segment"),
    )


def campaign_attribution(ctx: BuildContext) -> DataFrame:
    touches = _touches(ctx)
    responses = touches.where("responded").select("touch_id", "campaign_id", "customer_id", "touched_at", "touch_date")
    orders = ctx.product("sales.orders").select("order_id", "customer_id", "order_date", "total_price")
    candidates = orders.join(responses, "customer_id").where(
        F.col("touch_date").between(F.date_sub("order_date", 30), F.col("order_date"))
    )
    last_touch = Window.partitionBy("order_id").orderBy(F.desc("touched_at"), F.desc("touch_id"))
    attributed = (
        candidates.withColumn("rank", F.row_number().over(last_touch)).where("rank = 1")
        .groupBy("campaign_id")
        .agg(F.count(F.lit(1)).alias("attributed_orders"), F.sum("total_price").alias("revenue"))
    )
    reach = touches.groupBy("campaign_id").agg(
        F.count(F.lit(1)).alias("touches"),
        F.countDistinct(F.when(F.col("responded"), F.col("customer_id"))).alias("responders"),
    )
    return (
        ctx.source("campaigns").select("campaign_id", "campaign_name", "channel")
        .join(reach, "campaign_id", "left")
        .join(attributed, "campaign_id", "left")
        .select(
            "campaign_id", "campaign_name", "channel",
            F.coalesce("touches", F.lit(0)).cast("bigint").alias("touches"),
            F.coalesce("responders", F.lit(0)).cast("bigint").alias("responders"),
            F.coalesce("attributed_orders", F.lit(0)).cast("bigint").alias("attributed_orders"),
            money(F.coalesce("revenue", F.lit(0))).alias("attributed_revenue"),
        )
    )


def unified_customer_view(ctx: BuildContext) -> DataFrame:
    sales = ctx.product("sales.customer_lifetime_value").select(
        "customer_id", "customer_name", F.col("ltv_score").alias("sales_ltv_score"),
        F.col("segment").alias("sales_segment"), "total_revenue", "order_count",
    )
    marketing = ctx.product("marketing.customer_segments").select(
        "customer_id", F.col("segment").alias("marketing_segment"), "engagement_score", "preferred_channel",
    )
    delivery = ctx.product("supply_chain.delivery_preferences").select(
        "customer_id", "preferred_delivery_speed", "avg_delivery_satisfaction", "return_rate",
    )
    ltv, engagement = F.col("sales_ltv_score"), F.coalesce(F.col("engagement_score"), F.lit(0.0))
    premium = (ltv >= 1_000_000) & (F.col("engagement_score") > 70) & (F.col("avg_delivery_satisfaction") > 4.0)
    action = (
        F.when(F.coalesce(premium, F.lit(False)), "premium_retention_offer")
        .when((ltv < 250_000) & (engagement < 30), "win_back_campaign")
        .otherwise("standard_nurture")
    )
    unified = 0.4 * ltv + 0.3 * engagement + 0.3 * 100 * (1 - F.coalesce(F.col("return_rate"), F.lit(0.0)))
    return (
        sales.join(marketing, "customer_id", "left").join(delivery, "customer_id", "left")
        .withColumn("unified_score", unified)
        .withColumn("recommended_action", action)
    )
