"""Supply chain's sample sources (bronze), generated for `mesh seed`, taken from TPC-H for the sample lake."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

SHIPMENT_COLUMNS = [
    "l_orderkey", "l_linenumber", "l_partkey", "l_suppkey", "l_quantity", "l_shipdate", "l_commitdate",
    "l_receiptdate", "l_shipmode", "l_shipinstruct", "l_returnflag",
]


def bronze_tables(tpch: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    ship_to = tpch["orders"].select(["o_orderkey", "o_custkey"])
    shipments = tpch["lineitem"].select(SHIPMENT_COLUMNS).join(ship_to, "l_orderkey", "o_orderkey")
    return {
        **{name: tpch[name] for name in ("part", "partsupp", "supplier", "nation", "region")},
        "shipments": shipments.rename_columns([*SHIPMENT_COLUMNS, "ship_to_custkey"]),
    }
