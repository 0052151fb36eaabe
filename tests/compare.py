"""Compare a published product with its oracle: exact for decimals, dates and text; close for doubles."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd


def _normalise(value):
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    if hasattr(value, "date") and not isinstance(value, str) and type(value).__name__ == "Timestamp":
        return value.date()
    return value


def assert_same_rows(actual: pd.DataFrame, expected: pd.DataFrame, key: list[str], rel: float = 1e-9) -> None:
    columns = [c for c in expected.columns]
    assert len(actual) == len(expected), f"{len(actual)} rows published, {len(expected)} expected"
    a = actual[columns].sort_values(key).reset_index(drop=True)
    e = expected[columns].sort_values(key).reset_index(drop=True)
    for column in columns:
        for i, (x, y) in enumerate(zip(a[column], e[column])):
            x, y = _normalise(x), _normalise(y)
            if isinstance(y, float) and not isinstance(x, Decimal):
                ok = (pd.isna(x) and pd.isna(y)) or abs(float(x) - y) <= rel * max(1.0, abs(y))
            else:
                ok = (pd.isna(x) and pd.isna(y)) if (x is None or y is None or x != x) else x == y
            assert ok, f"{column} differs at {dict(a.loc[i, key])}: published {x!r}, expected {y!r}"
