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
    return con.execute(sql).to_arrow_table().to_pandas()  # Arrow keeps decimals exact


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
