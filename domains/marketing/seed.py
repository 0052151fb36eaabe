"""Marketing's sample sources (bronze), generated for `mesh seed`: campaigns and their touches, generated for the sample lake.

TPC-H has no marketing data, so it is generated deterministically from a fixed random seed and the
TPC-H customer keys: about 60% of customers are touched, about 3 times each, each touch inside its
campaign's dates, with a per-customer response propensity so that engagement varies.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa

SEED = 20_260_101
CAMPAIGNS = 24
CHANNELS = ("email", "social", "search", "display")
FIRST_DAY, LAST_DAY = date(1997, 1, 1), date(1998, 7, 31)
TOUCHED_SHARE, TOUCHES_MIN, TOUCHES_MAX = 0.6, 1, 5  # uniform 1..5 touches: 3 on average


def _campaigns(rng: np.random.Generator) -> pa.Table:
    span = (LAST_DAY - FIRST_DAY).days
    starts = rng.integers(0, span - 14, CAMPAIGNS)
    lengths = rng.integers(14, 91, CAMPAIGNS)
    rows = []
    for i, (start, length) in enumerate(zip(starts, lengths), 1):
        channel = CHANNELS[(i - 1) % len(CHANNELS)]
        first = FIRST_DAY + timedelta(days=int(start))
        last = min(first + timedelta(days=int(length)), LAST_DAY)
        rows.append({
            "campaign_id": f"CMP-{i:03d}",
            "campaign_name": f"{first:%B %Y} {channel} push #{i}",
            "channel": channel,
            "start_date": first,
            "end_date": last,
            "budget": Decimal(int(rng.integers(500_000, 25_000_000))) / 100,
        })
    schema = pa.schema([
        ("campaign_id", pa.string()), ("campaign_name", pa.string()), ("channel", pa.string()),
        ("start_date", pa.date32()), ("end_date", pa.date32()), ("budget", pa.decimal128(18, 2)),
    ])
    return pa.Table.from_pylist(rows, schema)


def _touches(rng: np.random.Generator, campaigns: pa.Table, customer_keys: np.ndarray) -> pa.Table:
    touched = customer_keys[rng.random(len(customer_keys)) < TOUCHED_SHARE]
    propensity = rng.beta(2.0, 2.5, len(touched))
    counts = rng.integers(TOUCHES_MIN, TOUCHES_MAX + 1, len(touched))
    customer = np.repeat(touched, counts)
    responds = rng.random(len(customer)) < np.repeat(propensity, counts)
    campaign = rng.integers(0, CAMPAIGNS, len(customer))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    start_s = np.array([(datetime.combine(d, datetime.min.time(), UTC) - epoch).total_seconds()
                        for d in campaigns["start_date"].to_pylist()], dtype=np.int64)
    end_s = np.array([(datetime.combine(d, datetime.min.time(), UTC) - epoch).total_seconds()
                      for d in campaigns["end_date"].to_pylist()], dtype=np.int64) + 86_399
    offset = (rng.random(len(customer)) * (end_s - start_s)[campaign]).astype(np.int64)
    touched_at = (start_s[campaign] + offset) * 1_000_000
    return pa.table({
        "touch_id": pa.array([f"TCH-{i:09d}" for i in range(1, len(customer) + 1)]),
        "campaign_id": pa.array(np.array(campaigns["campaign_id"].to_pylist())[campaign]),
        "customer_id": pa.array(customer.astype(str)),
        "touched_at": pa.array(touched_at, pa.timestamp("us", tz="UTC")),
        "channel": pa.array(np.array(campaigns["channel"].to_pylist())[campaign]),
        "responded": pa.array(responds),
    })


def bronze_tables(tpch: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    rng = np.random.default_rng(SEED)
    campaigns = _campaigns(rng)
    customer_keys = np.sort(tpch["customer"]["c_custkey"].to_numpy())
    return {"campaigns": campaigns, "campaign_touches": _touches(rng, campaigns, customer_keys)}
