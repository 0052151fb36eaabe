"""A partitioned publish finds each row's partition from its date or timestamp: the same key text as the
partitions' names, for every period, on the Arrow path (product/partitions.py PartitionWindow.layout)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from mesh_platform.product.partitions import PartitionWindow

pytestmark = pytest.mark.engine_independent  # Arrow only: one pass (Sail) runs it

DAYS = [date(1992, 1, 1), date(1995, 3, 31), date(1998, 12, 31), None]
MOMENTS = [datetime(1992, 1, 1, 0, 0), datetime(1995, 3, 31, 23, 59, 59, 999999), None]


@pytest.mark.parametrize(("every", "fmt"), [("day", "%Y-%m-%d"), ("month", "%Y-%m"), ("year", "%Y")])
def test_arrow_partition_keys_are_the_partition_names_of_dates_and_timestamps(every, fmt):
    layout = PartitionWindow("at", ("unused",), every=every).layout()
    expected_days = [d.strftime(fmt) if d else None for d in DAYS]
    expected_moments = [m.strftime(fmt) if m else None for m in MOMENTS]
    assert layout.arrow_key(pa.table({"at": pa.array(DAYS, pa.date32())})).to_pylist() == expected_days
    for unit in ("s", "ms", "us", "ns"):
        naive = pa.table({"at": pa.array(MOMENTS, pa.timestamp(unit))})
        assert layout.arrow_key(naive).to_pylist() == expected_moments, unit
    # a zoned timestamp falls in the period of its UTC time, as Spark's key in a UTC session
    zoned = pa.table({"at": pa.array([datetime(1995, 3, 31, 23, 30, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))})
    assert layout.arrow_key(zoned).to_pylist() == [datetime(1995, 3, 31).strftime(fmt)]
    shifted = pa.array([datetime(1995, 3, 31, 23, 30, tzinfo=UTC)], pa.timestamp("us", tz="UTC")).cast(
        pa.timestamp("us", tz="Europe/Berlin"))  # 1995-04-01 01:30 in Berlin, still March in UTC
    assert layout.arrow_key(pa.table({"at": shifted})).to_pylist() == [datetime(1995, 3, 31).strftime(fmt)]
