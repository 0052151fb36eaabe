"""Drift: what changed in a product since its previous publishes, beyond what its contract guards.

Two non-blocking checks per product:
- schema drift: the published schema against the previous Delta version's (a change is expected only
  with a new contract version) and against the contract;
- distribution drift: the row count, each column's null share and the value range (min and max) of
  each numeric, date and timestamp column against a band learned from the product's recent
  materializations. The metrics ride in the contract checks' single aggregation and are recorded as
  materialization metadata (`drift/...`; dates and timestamps as days since 1970-01-01), so their
  history plots in the Dagster UI.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dagster import AssetKey, DagsterInstance
from pyspark.sql import DataFrame
from pyspark.sql.types import DateType, NumericType, StructType, TimestampNTZType, TimestampType

from mesh_platform.checks.evaluate import CheckOutcome
from mesh_platform.checks.metrics import Extreme, Metric, MetricValues, NullCount
from mesh_platform.checks.names import DISTRIBUTION_DRIFT_CHECK, SCHEMA_DRIFT_CHECK
from mesh_platform.checks.specs import DISTRIBUTION_DRIFT_DESCRIPTION, SCHEMA_DRIFT_DESCRIPTION
from mesh_platform.contracts.model import Contract
from mesh_platform.contracts.revisions import PublishedTable
from mesh_platform.monitoring.records import builds

HISTORY = 20  # materializations the band is learned from
MIN_HISTORY = 3  # fewer: the band is still being learned, the check passes
MAD_SIGMA = 1.4826  # median absolute deviation -> standard deviation, for normal data
ROWS_METRIC, NULL_METRIC = "drift/rows", "drift/null_share/"
MIN_METRIC, MAX_METRIC = "drift/min/", "drift/max/"
# A column's min or max may move by this share of its learned span (median max - median min) before
# it is flagged: a feed of dates that starts in year 1 or ends in 2999 is far outside, a new month is not.
RANGE_RELATIVE = 0.25
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    center: float
    history: int

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


def learn_band(values: Sequence[float], relative: float, absolute: float) -> Band | None:
    """median +- max(3 robust sigmas, `relative` of the median, `absolute`); None below MIN_HISTORY."""
    if len(values) < MIN_HISTORY:
        return None
    center = statistics.median(values)
    spread = 3 * MAD_SIGMA * statistics.median(abs(v - center) for v in values)
    width = max(spread, relative * abs(center), absolute)
    return Band(center - width, center + width, center, len(values))


RANGED_TYPES = (NumericType, DateType, TimestampType, TimestampNTZType)


@dataclass(frozen=True)
class DistributionProbe:
    """The distribution metrics of a build: each contract column's nulls, and the least and greatest
    value of each one whose data has a range (numbers, dates, timestamps)."""

    nulls: dict[str, NullCount]  # by column
    ranges: dict[str, tuple[Extreme, Extreme]]  # by column: (min, max)

    @classmethod
    def for_frame(cls, contract: Contract, df: DataFrame) -> DistributionProbe:
        types = {f.name: f.dataType for f in df.schema.fields}
        # a column missing from the data is the contract schema check's finding, not a metric
        present = [c.name for c in contract.columns if c.name in types]
        return cls({c: NullCount(c) for c in present},
                   {c: (Extreme(c, "min"), Extreme(c, "max")) for c in present if isinstance(types[c], RANGED_TYPES)})

    def metrics(self) -> list[Metric]:
        """For the contract checks' aggregation."""
        return [*self.nulls.values(), *(end for pair in self.ranges.values() for end in pair)]

    def observed(self, values: MetricValues, rows: int) -> dict[str, float]:
        shares = {f"{NULL_METRIC}{c}": (values[m] / rows if rows else 0.0) for c, m in self.nulls.items()}
        ranges = {}
        for column, ends in self.ranges.items():
            for prefix, metric in zip((MIN_METRIC, MAX_METRIC), ends):
                value = _as_number(values[metric])
                if value is not None:  # an empty or all-null column has no range
                    ranges[f"{prefix}{column}"] = value
        return {ROWS_METRIC: float(rows), **shares, **ranges}


def _as_number(value) -> float | None:
    """A metric value: numbers as they are, dates and timestamps as days since 1970-01-01."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value - datetime(1970, 1, 1, tzinfo=value.tzinfo)) / timedelta(days=1)
    if isinstance(value, date):
        return float((value - EPOCH).days)
    return float(value)


def as_date(days: float) -> str:
    try:
        return (EPOCH + timedelta(days=days)).isoformat()
    except OverflowError:  # a band edge before year 1 or after 9999
        return f"{days:g} days from 1970-01-01"


def dated_columns(contract: Contract) -> set[str]:
    return {c.name for c in contract.columns if c.type in ("date", "timestamp")}


def metric_history(instance: DagsterInstance, key: AssetKey, partition: str | None = None) -> dict[str, list[float]]:
    """The drift metrics of the product's latest builds (of `partition`'s, for a partitioned product), newest
    first (renewals carry none: skipped)."""
    found: dict[str, list[float]] = {}
    for record in builds(instance, key, HISTORY, partition=partition):
        built = record.asset_materialization.metadata.get("partitions")
        if partition is not None and built is not None and built.value != partition:
            continue  # a backfill's range: its metrics are the range's, not this partition's
        for name, value in record.asset_materialization.metadata.items():
            if name.startswith("drift/") and not name.endswith(("_low", "_high")):
                found.setdefault(name, []).append(float(value.value))
    return found


def previous_rows(history: dict[str, list[float]]) -> int | None:
    return int(history[ROWS_METRIC][0]) if history.get(ROWS_METRIC) else None


def _range_band(name: str, history: dict[str, list[float]]) -> Band | None:
    """The band of a column's min or max: its spread is measured against the column's learned span."""
    column = name.removeprefix(MIN_METRIC).removeprefix(MAX_METRIC)
    lows, highs = history.get(f"{MIN_METRIC}{column}", []), history.get(f"{MAX_METRIC}{column}", [])
    span = statistics.median(highs) - statistics.median(lows) if lows and highs else 0.0
    return learn_band(history.get(name, []), 0.01, RANGE_RELATIVE * span)  # a constant column: 1 % of it


def distribution_outcome(
    observed: dict[str, float], history: dict[str, list[float]], dated: set[str] = frozenset()
) -> tuple[CheckOutcome, dict[str, float]]:
    """The check, and the bands as metadata for the materialization (plotted next to the values);
    `history`: from metric_history; `dated`: columns whose range is shown as dates in the findings."""
    outside, bands = {}, {}
    for name, value in observed.items():
        if name.startswith((MIN_METRIC, MAX_METRIC)):
            band = _range_band(name, history)
        else:
            relative, absolute = (0.1, 1.0) if name == ROWS_METRIC else (0.0, 0.02)
            band = learn_band(history.get(name, []), relative, absolute)
        if band is None:
            continue
        bands |= {f"{name}_low": round(band.low, 6), f"{name}_high": round(band.high, 6)}
        if not band.holds(value):
            finding = {"value": round(value, 6), "band": [round(band.low, 6), round(band.high, 6)],
                       "median": band.center}
            if name.split("/")[-1] in dated and name.startswith((MIN_METRIC, MAX_METRIC)):
                finding["as_dates"] = {"value": as_date(value), "band": [as_date(band.low), as_date(band.high)]}
            outside[name.removeprefix("drift/")] = finding
    learned = len(history.get(ROWS_METRIC, []))
    metadata = {"outside_band": outside, "history": learned, "rows": observed[ROWS_METRIC]}
    if learned < MIN_HISTORY:
        metadata["note"] = f"learning: {learned} of {MIN_HISTORY} publishes seen"
    return CheckOutcome(DISTRIBUTION_DRIFT_CHECK, passed=not outside, critical=False,
                        description=DISTRIBUTION_DRIFT_DESCRIPTION, metadata=metadata), bands


def _types(schema: StructType) -> dict[str, str]:
    return {f.name: f.dataType.simpleString() for f in schema.fields}


def schema_outcome(
    df: DataFrame, contract: Contract, published: PublishedTable | None, contract_drift: dict
) -> CheckOutcome:
    """`published`: the table this build would replace; `contract_drift`: the contract schema check's
    findings (missing, extra, retyped columns)."""
    now = _types(df.schema)
    metadata: dict = {"vs_contract": contract_drift}
    if published is not None:
        before = _types(StructType.fromJson(json.loads(published.table.schema().to_json())))
        diff = {
            "added": sorted(set(now) - set(before)),
            "removed": sorted(set(before) - set(now)),
            "retyped": {c: f"{before[c]} -> {now[c]}" for c in sorted(set(now) & set(before)) if now[c] != before[c]},
        }
        previous = published.contract.version if published.contract else None
        metadata |= {"vs_previous": diff, "previous_version": published.version,
                     "contract_versions": f"{previous or 'unrecorded'} -> {contract.version}"}
        if any(diff.values()) and previous == contract.version:
            metadata["unexplained"] = "the schema changed but the contract version did not"
    against_contract = any(contract_drift.get(k) for k in ("missing", "extra", "retyped"))
    return CheckOutcome(SCHEMA_DRIFT_CHECK, passed=not against_contract and "unexplained" not in metadata,
                        critical=False, description=SCHEMA_DRIFT_DESCRIPTION, metadata=metadata)
