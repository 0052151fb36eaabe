"""Finance's sample sources (bronze), generated for `mesh seed`: billed order lines, taken from TPC-H for the sample lake."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

INVOICE_COLUMNS = [
    "l_orderkey", "l_linenumber", "l_quantity", "l_extendedprice", "l_discount", "l_tax",
    "l_returnflag", "l_linestatus", "l_shipdate",
]


def bronze_tables(tpch: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    orders = tpch["orders"].select(["o_orderkey", "o_orderdate", "o_custkey"])
    bill_to = tpch["customer"].select(["c_custkey", "c_nationkey"])
    lines = (
        tpch["lineitem"].select(INVOICE_COLUMNS)
        .join(orders, "l_orderkey", "o_orderkey")
        .join(bill_to, "o_custkey", "c_custkey")
    )
    invoice_lines = lines.select([*INVOICE_COLUMNS, "o_orderdate", "c_nationkey"]).rename_columns(
        [*INVOICE_COLUMNS, "order_date", "bill_to_nationkey"]
    )
    return {"invoice_lines": invoice_lines, "nation": tpch["nation"], "region": tpch["region"]}
