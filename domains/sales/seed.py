"""Sales' sample sources (bronze), generated for `mesh seed`, taken from TPC-H for the sample lake."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

ORDER_LINE_COLUMNS = [
    "l_orderkey", "l_linenumber", "l_partkey", "l_suppkey", "l_quantity", "l_extendedprice",
    "l_discount", "l_tax", "l_returnflag", "l_linestatus", "l_shipdate",
]


def bronze_tables(tpch: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    return {
        "orders": tpch["orders"],
        "customer": tpch["customer"],
        "order_lines": tpch["lineitem"].select(ORDER_LINE_COLUMNS),
    }
