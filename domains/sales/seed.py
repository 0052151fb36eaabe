"""Sales' sample sources (bronze), generated for `mesh seed`, taken from TPC-H for the sample lake."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

ORDER_LINE_COLUMNS = [
    "l_orderkey", "l_linenumber", "l_partkey", "l_suppkey", "l_quantity", "l_extendedprice",
    "l_discount", "l_tax", "l_returnflag", "l_linestatus", "l_shipdate",
]


def _with_change_stamp(orders: pa.Table) -> pa.Table:
    """The order-entry system stamps each order when it is written: the sample's at its order date, so the
    seed stays deterministic (an update stamps a newer time; sources.yaml `change_column`)."""
    return orders.append_column("updated_at", pc.cast(pc.cast(orders["o_orderdate"], pa.timestamp("s")),
                                                      pa.timestamp("us")))


def bronze_tables(tpch: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    return {
        "orders": _with_change_stamp(tpch["orders"]),
        "customer": tpch["customer"],
        "order_lines": tpch["lineitem"].select(ORDER_LINE_COLUMNS),
    }
