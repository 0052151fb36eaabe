"""Independent computations of PRODUCTS.md: DuckDB SQL over the TPC-H parquet files.

Money averages are finished in Python with exact decimals (DuckDB divides decimals as doubles).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pandas as pd
from deltalake import DeltaTable

AS_OF = date(1998, 8, 2)
CENT = Decimal("0.01")


def half_up(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def query(tpch: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect()
    for table in ("orders", "lineitem", "customer", "nation", "region", "part", "partsupp", "supplier"):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{tpch / (table + '.parquet')}')")
    return con.sql(sql).to_arrow_table().to_pandas()  # Arrow keeps decimals exact


def published(lake: Path, domain: str, product: str) -> pd.DataFrame:
    return DeltaTable(str(lake / domain / "gold" / product)).to_pandas()


def sales_orders(tpch: Path, as_of: date = AS_OF) -> pd.DataFrame:
    return query(tpch, f"""
        SELECT CAST(o_orderkey AS VARCHAR) AS order_id, CAST(o_custkey AS VARCHAR) AS customer_id,
               o_orderdate AS order_date, o_orderstatus AS order_status, o_orderpriority AS order_priority,
               o_totalprice AS total_price, CAST(count(l_orderkey) AS INTEGER) AS line_count,
               coalesce(sum(l_extendedprice * (1 - l_discount)), 0) AS net_revenue
        FROM orders LEFT JOIN lineitem ON l_orderkey = o_orderkey
        WHERE o_orderdate <= DATE '{as_of}'
        GROUP BY ALL""").assign(net_revenue=lambda d: d.net_revenue.map(half_up))


def sales_customer_lifetime_value(tpch: Path, as_of: date = AS_OF) -> pd.DataFrame:
    df = query(tpch, f"""
        SELECT CAST(o_custkey AS VARCHAR) AS customer_id, c_name AS customer_name,
               CAST(count(*) AS INTEGER) AS order_count, sum(o_totalprice) AS total_revenue,
               min(o_orderdate) AS first_order_date, max(o_orderdate) AS last_order_date,
               date_diff('day', max(o_orderdate), DATE '{as_of}') AS days_since_last
        FROM orders JOIN customer ON c_custkey = o_custkey
        WHERE o_orderdate <= DATE '{as_of}'
        GROUP BY o_custkey, c_name""")
    df["avg_order_value"] = [half_up(r / n) for r, n in zip(df.total_revenue, df.order_count)]
    df["ltv_score"] = 0.3 * df.total_revenue.astype(float) + 10 * df.order_count - 0.1 * df.days_since_last
    df["segment"] = [
        "platinum" if s >= 1_000_000 else "gold" if s >= 500_000 else "silver" if s >= 250_000 else "bronze"
        for s in df.ltv_score
    ]
    return df.drop(columns="days_since_last")


def sales_order_analytics(tpch: Path, as_of: date = AS_OF) -> pd.DataFrame:
    df = query(tpch, f"""
        SELECT CAST(date_trunc('month', o_orderdate) AS DATE) AS order_month, o_orderpriority AS order_priority,
               CAST(count(*) AS INTEGER) AS order_count, sum(o_totalprice) AS total_revenue,
               avg(CASE WHEN o_orderstatus = 'F' THEN 1.0 ELSE 0.0 END)::DOUBLE AS fulfilled_share
        FROM orders WHERE o_orderdate <= DATE '{as_of}' GROUP BY ALL""")
    df["avg_order_value"] = [half_up(r / n) for r, n in zip(df.total_revenue, df.order_count)]
    return df


def bronze_query(lake: Path, tables: dict[str, tuple[str, str]], sql: str) -> pd.DataFrame:
    """DuckDB over bronze Delta tables (for generated sources that are not in TPC-H)."""
    con = duckdb.connect()
    for name, (domain, table) in tables.items():
        con.register(name, DeltaTable(str(lake / domain / "bronze" / table)).to_pyarrow_table())
    return con.sql(sql).to_arrow_table().to_pandas()


def supply_chain_supplier_performance(tpch: Path, as_of: date = AS_OF) -> pd.DataFrame:
    return query(tpch, f"""
        WITH d AS (SELECT * FROM lineitem WHERE l_receiptdate <= DATE '{as_of}'),
        stats AS (
            SELECT s_suppkey,
                   (SELECT count(*) FROM lineitem l WHERE l.l_suppkey = s_suppkey AND l_shipdate <= DATE '{as_of}') AS lines_shipped,
                   avg(CASE WHEN l_receiptdate <= l_commitdate THEN 1.0 ELSE 0.0 END)::DOUBLE AS on_time_rate,
                   avg(greatest(date_diff('day', l_commitdate, l_receiptdate), 0))::DOUBLE AS avg_delay_days,
                   avg(CASE WHEN l_returnflag = 'R' THEN 1.0 ELSE 0.0 END)::DOUBLE AS return_rate
            FROM supplier LEFT JOIN d ON l_suppkey = s_suppkey GROUP BY s_suppkey)
        SELECT CAST(s.s_suppkey AS VARCHAR) AS supplier_id, s_name AS supplier_name, n_name AS nation_name,
               lines_shipped, on_time_rate, avg_delay_days, return_rate,
               CASE WHEN on_time_rate >= 0.39 THEN 'A' WHEN on_time_rate >= 0.36 THEN 'B' ELSE 'C' END AS performance_tier
        FROM supplier s JOIN nation ON n_nationkey = s_nationkey JOIN stats USING (s_suppkey)""")


def supply_chain_inventory_forecast(tpch: Path, as_of: date = AS_OF) -> pd.DataFrame:
    month = date(as_of.year, as_of.month, 1)
    return query(tpch, f"""
        WITH m AS (SELECT DATE '{month}' - INTERVAL 1 MONTH AS m1, DATE '{month}' - INTERVAL 2 MONTH AS m2,
                          DATE '{month}' - INTERVAL 3 MONTH AS m3, DATE '{month}' AS m0),
        demand AS (
            SELECT l_partkey,
                   sum(CASE WHEN l_shipdate >= m1 AND l_shipdate < m0 THEN l_quantity ELSE 0 END) AS d1,
                   sum(CASE WHEN l_shipdate >= m2 AND l_shipdate < m1 THEN l_quantity ELSE 0 END) AS d2,
                   sum(CASE WHEN l_shipdate >= m3 AND l_shipdate < m2 THEN l_quantity ELSE 0 END) AS d3
            FROM lineitem, m GROUP BY l_partkey),
        stock AS (SELECT ps_partkey, sum(ps_availqty) AS available_qty FROM partsupp GROUP BY ps_partkey),
        base AS (
            SELECT CAST(p_partkey AS VARCHAR) AS part_id, p_name AS part_name, coalesce(available_qty, 0)::BIGINT AS available_qty,
                   coalesce(d1, 0)::BIGINT AS demand_m1, coalesce(d2, 0)::BIGINT AS demand_m2, coalesce(d3, 0)::BIGINT AS demand_m3
            FROM part LEFT JOIN stock ON ps_partkey = p_partkey LEFT JOIN demand ON l_partkey = p_partkey)
        SELECT *, (demand_m1 + demand_m2 + demand_m3) / 3.0 AS forecast_next_month_qty,
               CASE WHEN demand_m1 + demand_m2 + demand_m3 > 0
                    THEN available_qty / ((demand_m1 + demand_m2 + demand_m3) / 3.0 / 30.0) END AS days_of_cover,
               coalesce(CASE WHEN demand_m1 + demand_m2 + demand_m3 > 0
                    THEN available_qty / ((demand_m1 + demand_m2 + demand_m3) / 3.0 / 30.0) < 30 END, false) AS reorder_flag
        FROM base""")


def supply_chain_delivery_preferences(tpch: Path, as_of: date = AS_OF) -> pd.DataFrame:
    return query(tpch, f"""
        WITH d AS (
            SELECT o_custkey, l_shipdate, l_commitdate, l_receiptdate, l_returnflag,
                   CASE WHEN l_shipmode IN ('AIR', 'REG AIR') THEN 'express'
                        WHEN l_shipmode IN ('TRUCK', 'MAIL') THEN 'standard' ELSE 'economy' END AS speed
            FROM lineitem JOIN orders ON o_orderkey = l_orderkey WHERE l_receiptdate <= DATE '{as_of}'),
        speeds AS (
            SELECT o_custkey, speed, count(*) AS n,
                   row_number() OVER (PARTITION BY o_custkey ORDER BY count(*) DESC,
                       CASE speed WHEN 'express' THEN 0 WHEN 'standard' THEN 1 ELSE 2 END) AS rank
            FROM d GROUP BY o_custkey, speed)
        SELECT CAST(o_custkey AS VARCHAR) AS customer_id, any_value(s.speed) AS preferred_delivery_speed,
               avg(date_diff('day', l_shipdate, l_receiptdate))::DOUBLE AS avg_delivery_days,
               5 - 4 * avg(CASE WHEN l_receiptdate > l_commitdate THEN 1.0 ELSE 0.0 END)::DOUBLE AS avg_delivery_satisfaction,
               avg(CASE WHEN l_returnflag = 'R' THEN 1.0 ELSE 0.0 END)::DOUBLE AS return_rate
        FROM d JOIN speeds s USING (o_custkey) WHERE s.rank = 1 GROUP BY o_custkey""")


MARKETING_BRONZE = {"touches": ("marketing", "campaign_touches"), "campaigns": ("marketing", "campaigns")}


def marketing_customer_segments(lake: Path, as_of: date = AS_OF) -> pd.DataFrame:
    return bronze_query(lake, MARKETING_BRONZE, f"""
        WITH t AS (SELECT *, CAST(touched_at AT TIME ZONE 'UTC' AS DATE) AS d FROM touches WHERE CAST(touched_at AT TIME ZONE 'UTC' AS DATE) <= DATE '{as_of}'),
        ch AS (SELECT customer_id, channel, row_number() OVER (PARTITION BY customer_id ORDER BY count(*) DESC, channel) AS r
               FROM t GROUP BY customer_id, channel),
        e AS (SELECT customer_id, 100.0 * avg(CASE WHEN responded THEN 1.0 ELSE 0.0 END)::DOUBLE AS engagement_score,
                     max(CASE WHEN responded THEN d END) AS last_campaign_response FROM t GROUP BY customer_id)
        SELECT e.customer_id, engagement_score, ch.channel AS preferred_channel, last_campaign_response,
               CASE WHEN engagement_score >= 70 THEN 'champion' WHEN engagement_score >= 30 THEN 'engaged' ELSE 'dormant' END AS segment
        FROM e JOIN ch ON ch.customer_id = e.customer_id AND ch.r = 1""")


def marketing_campaign_attribution(lake: Path, as_of: date = AS_OF) -> pd.DataFrame:
    con = duckdb.connect()
    for name, (domain, table) in MARKETING_BRONZE.items():
        con.register(name, DeltaTable(str(lake / domain / "bronze" / table)).to_pyarrow_table())
    # Attribution consumes the published sales.orders product, so the oracle reads it too.
    con.register("orders", DeltaTable(str(lake / "sales" / "gold" / "orders")).to_pyarrow_table())
    return con.sql(f"""
        WITH t AS (SELECT *, CAST(touched_at AT TIME ZONE 'UTC' AS DATE) AS d FROM touches WHERE CAST(touched_at AT TIME ZONE 'UTC' AS DATE) <= DATE '{as_of}'),
        win AS (
            SELECT o.order_id, o.total_price, t.campaign_id,
                   row_number() OVER (PARTITION BY o.order_id ORDER BY t.touched_at DESC, t.touch_id DESC) AS r
            FROM orders o JOIN t ON t.customer_id = o.customer_id AND t.responded
                 AND t.d BETWEEN o.order_date - INTERVAL 30 DAY AND o.order_date),
        a AS (SELECT campaign_id, count(*) AS n, sum(total_price) AS revenue FROM win WHERE r = 1 GROUP BY campaign_id),
        reach AS (SELECT campaign_id, count(*) AS touches, count(DISTINCT CASE WHEN responded THEN customer_id END) AS responders
                  FROM t GROUP BY campaign_id)
        SELECT c.campaign_id, campaign_name, channel, coalesce(touches, 0)::BIGINT AS touches,
               coalesce(responders, 0)::BIGINT AS responders, coalesce(n, 0)::BIGINT AS attributed_orders,
               coalesce(revenue, 0)::DECIMAL(18,2) AS attributed_revenue
        FROM campaigns c LEFT JOIN reach USING (campaign_id) LEFT JOIN a USING (campaign_id)""").to_arrow_table().to_pandas()


def marketing_unified_customer_view(lake: Path) -> pd.DataFrame:
    con = duckdb.connect()
    for domain, product in [("sales", "customer_lifetime_value"), ("marketing", "customer_segments"),
                            ("supply_chain", "delivery_preferences")]:
        con.register(product, DeltaTable(str(lake / domain / "gold" / product)).to_pyarrow_table())
    return con.sql("""
        -- sales lets marketing see customer_name only under partial_mask: at most 3 leading characters
        SELECT c.customer_id, left(c.customer_name, least(3, floor(length(c.customer_name) / 2))::INT) || '****'
                   AS customer_name, c.ltv_score AS sales_ltv_score, c.segment AS sales_segment,
               c.total_revenue, c.order_count, s.segment AS marketing_segment, s.engagement_score, s.preferred_channel,
               d.preferred_delivery_speed, d.avg_delivery_satisfaction, d.return_rate,
               0.4 * c.ltv_score + 0.3 * coalesce(s.engagement_score, 0) + 0.3 * 100 * (1 - coalesce(d.return_rate, 0)) AS unified_score,
               CASE WHEN c.ltv_score >= 1000000 AND s.engagement_score > 70 AND d.avg_delivery_satisfaction > 4.0 THEN 'premium_retention_offer'
                    WHEN c.ltv_score < 250000 AND coalesce(s.engagement_score, 0) < 30 THEN 'win_back_campaign'
                    ELSE 'standard_nurture' END AS recommended_action
        FROM customer_lifetime_value c LEFT JOIN customer_segments s USING (customer_id)
             LEFT JOIN delivery_preferences d USING (customer_id)""").to_arrow_table().to_pandas()


def finance_pricing_summary(tpch: Path) -> pd.DataFrame:
    df = query(tpch, """
        SELECT l_returnflag AS return_flag, l_linestatus AS line_status, sum(l_quantity) AS sum_qty,
               sum(l_extendedprice) AS sum_base_price, sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
               sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
               (sum(l_quantity)::DOUBLE / count(*)) AS avg_qty, sum(l_extendedprice) AS sum_price_exact,
               (sum(l_discount)::DOUBLE / count(*)) AS avg_disc, count(*) AS count_order
        FROM lineitem WHERE l_shipdate <= DATE '1998-09-02' GROUP BY ALL""")
    df["avg_price"] = [half_up(p / n) for p, n in zip(df.sum_price_exact, df.count_order)]
    for column in ("sum_qty", "sum_base_price", "sum_disc_price", "sum_charge"):
        df[column] = df[column].map(half_up)
    return df.drop(columns="sum_price_exact")


def finance_revenue_by_nation(tpch: Path, as_of: date = AS_OF) -> pd.DataFrame:
    df = query(tpch, f"""
        SELECT n_name AS nation_name, r_name AS region_name, CAST(year(o_orderdate) AS INTEGER) AS order_year,
               count(DISTINCT l_orderkey) AS order_count, sum(l_extendedprice) AS gross_revenue,
               sum(l_extendedprice * l_discount) AS discount_amount,
               sum(l_extendedprice * (1 - l_discount)) AS net_revenue,
               sum(l_extendedprice * (1 - l_discount) * l_tax) AS tax_amount
        FROM lineitem JOIN orders ON o_orderkey = l_orderkey JOIN customer ON c_custkey = o_custkey
             JOIN nation ON n_nationkey = c_nationkey JOIN region ON r_regionkey = n_regionkey
        WHERE o_orderdate <= DATE '{as_of}' GROUP BY ALL""")
    for column in ("gross_revenue", "discount_amount", "net_revenue", "tax_amount"):
        df[column] = df[column].map(half_up)
    return df
