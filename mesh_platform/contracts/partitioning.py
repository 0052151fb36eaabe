"""How a contract declares its partitions, and how a consumer maps them (contracts stay declarative).

    partitioning: {column: order_date, every: month, start: 1992-01-01}   # by time: day, month or year
    partitioning: {column: region, values: [EMEA, APAC, AMER]}            # by a static list of values

A time partitioning runs over a date or timestamp column (or, for `every: year`, an integer column holding
the year); each partition is the half-open window [start, end) of its period. A dependency may say how
it maps the upstream's partitions (`partition_mapping`): `same` (the same partition), `window` (every
upstream partition inside the consumer's window: a month reading its days, a year its months) or `all`.
Without one it is inferred (`same` for equal partitionings, `window` for a coarser consumer, `all` for an
unpartitioned one); a mapping that cannot work is refused at load and by `mesh lint`
(`mapping_problem`), naming both products.

`from_sources: {orders: o_orderdate}` says which column of a source carries a row's partition (its date,
or its value): a change to that source's rows rebuilds only the partitions they fall in. A changed source
not listed there (one without such a column, like order lines) marks every partition changed.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

PERIODS = ("day", "month", "year")
TIME_TYPES = ("date", "timestamp")
YEAR_TYPES = ("int", "bigint", "smallint")
Mapping = Literal["same", "window", "all"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Partitioning(_Strict):
    column: str
    # The primary key is unique within each partition's build; true also checks it across partitions
    # (checks/partition_keys.py: the key columns of the other partitions' files, not the table).
    key_unique_across_partitions: bool = False


class TimePartitioning(_Partitioning):
    every: Literal["day", "month", "year"]
    start: date
    # source -> its column holding the partition's date: a change to its rows rebuilds only their partitions
    from_sources: dict[str, str] = Field(default_factory=dict)

    @field_validator("start", mode="before")
    @classmethod
    def _start_text(cls, value: object) -> object:
        if isinstance(value, int):  # `start: 1992` for a yearly partitioning
            return date(value, 1, 1)
        return value

    def problems(self, types: dict[str, str]) -> list[str]:
        kind = types.get(self.column)
        if kind is None:
            return [f"partitioning.column: {self.column!r} is not in the schema; name a date or timestamp column"]
        found = []
        if kind not in TIME_TYPES and not (self.every == "year" and kind in YEAR_TYPES):
            found.append(f"partitioning.column: {self.column} is {kind}; a time partitioning needs a date or "
                         "timestamp column (or an integer year column with every: year)")
        aligned = {"day": self.start, "month": self.start.replace(day=1),
                   "year": self.start.replace(month=1, day=1)}[self.every]
        if aligned != self.start:
            found.append(f"partitioning.start: {self.start} does not begin a {self.every}; write {aligned}")
        return found

    @property
    def granularity(self) -> int:
        return PERIODS.index(self.every)


class ValuePartitioning(_Partitioning):
    values: Annotated[list[str], Field(min_length=1)]
    from_sources: dict[str, str] = Field(default_factory=dict)  # source -> its column holding the value

    @field_validator("values", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        return [str(v) for v in value] if isinstance(value, list) else value

    def problems(self, types: dict[str, str]) -> list[str]:
        kind = types.get(self.column)
        if kind is None:
            return [f"partitioning.column: {self.column!r} is not in the schema; name the column holding the values"]
        found = []
        if kind not in ("string", *YEAR_TYPES):
            found.append(f"partitioning.column: {self.column} is {kind}; partition by values of a string or "
                         "integer column")
        repeated = sorted({v for v in self.values if self.values.count(v) > 1})
        if repeated:
            found.append(f"partitioning.values: {', '.join(repeated)} listed more than once")
        return found


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "by_values" if "values" in value else "by_time"
    return "by_values" if isinstance(value, ValuePartitioning) else "by_time"


# One branch per declaration, so that an error names the field of the kind written, not of both kinds.
Partitioning = Annotated[
    Annotated[TimePartitioning, Tag("by_time")] | Annotated[ValuePartitioning, Tag("by_values")],
    Discriminator(_kind),
]


def inferred_mapping(consumer: Partitioning | None, upstream: Partitioning | None) -> Mapping | None:
    """The mapping a dependency gets when it declares none (None: the upstream is unpartitioned)."""
    if upstream is None:
        return None
    if consumer is None:
        return "all"
    if isinstance(consumer, TimePartitioning) and isinstance(upstream, TimePartitioning):
        return "same" if consumer.every == upstream.every else "window"
    return "same"


def mapping_problem(consumer_key: str, consumer: Partitioning | None, declared: Mapping | None,
                    upstream_key: str, upstream: Partitioning | None) -> str | None:
    """Why `consumer_key` cannot map `upstream_key`'s partitions this way, or None when it can."""
    mapping = declared or inferred_mapping(consumer, upstream)
    where = f"{consumer_key} -> {upstream_key}"
    if upstream is None:
        if declared and declared != "all":
            return (f"{where}: partition_mapping {declared!r} but {upstream_key} is not partitioned; remove "
                    "partition_mapping")
        return None
    if mapping == "all":
        return None
    if consumer is None:
        return (f"{where}: partition_mapping {mapping!r} needs a partitioned consumer; {consumer_key} is not "
                "partitioned, use 'all'")
    if isinstance(consumer, ValuePartitioning) != isinstance(upstream, ValuePartitioning):
        return (f"{where}: {consumer_key} and {upstream_key} partition differently (by time and by values); "
                "use partition_mapping: all")
    if isinstance(consumer, ValuePartitioning):
        missing = [v for v in consumer.values if v not in upstream.values]
        if missing:
            return (f"{where}: {upstream_key} has no partition {', '.join(missing)}; give it those values or "
                    "use partition_mapping: all")
        return None
    if mapping == "same" and consumer.every != upstream.every:
        return (f"{where}: partition_mapping 'same' maps a {consumer.every} to a {upstream.every}; use 'window' "
                f"(a coarser consumer reads the {upstream.every}s inside its {consumer.every}) or 'all'")
    if consumer.granularity < upstream.granularity:
        return (f"{where}: a {consumer.every} of {consumer_key} cannot read a whole {upstream.every} of "
                f"{upstream_key}; partition {consumer_key} by {upstream.every} or coarser, or use 'all'")
    if consumer.start < upstream.start:
        return (f"{where}: {consumer_key} starts {consumer.start}, before {upstream_key}'s first partition "
                f"({upstream.start}); start it on or after {upstream.start}")
    return None
