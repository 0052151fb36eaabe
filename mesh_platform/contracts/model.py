"""The data product contract: what a domain promises about one product.

A contract is one YAML file per product (`domains/<domain>/contracts/<product>.yaml`). Everything the
platform generates for a product (asset, checks, freshness policy, metadata) is derived from this model.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mesh_platform.contracts.access import AccessPolicy, access_problems
from mesh_platform.contracts.bounds import DateBound, parse_date_bound
from mesh_platform.contracts.partitioning import Mapping, Partitioning, TimePartitioning
from mesh_platform.contracts.types import SUPPORTED_TYPES, is_supported_type

# Names must be usable as SQL identifiers; the naming *conventions* are governance (NAMING-001).
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

# Columns the platform adds to every product; a contract does not declare them.
AUDIT_COLUMNS = {
    "_computed_at": "timestamp",
    "_product_version": "string",
}
# Composed products also record what they were built from.
LINEAGE_COLUMNS = {
    "_source_products": "array<string>",
    "_composed_at": "timestamp",
}


class _Strict(BaseModel):
    # Unknown keys are typos far more often than intent: reject them with the field's path.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Strict):
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    pii: bool = False
    classification: Literal["public", "internal", "confidential", "restricted"] = "internal"

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"column name {value!r} must be a letter followed by letters, digits or _")
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if not is_supported_type(value):
            raise ValueError(
                f"type {value!r} is not supported; expected one of {', '.join(SUPPORTED_TYPES)}"
            )
        return value.strip().lower()


Severity = Literal["critical", "warning"]


class _Rule(_Strict):
    column: str
    severity: Severity = "critical"


class NotNullRule(_Rule):
    """Share of non-null values must reach `threshold` (1.0 = no nulls at all)."""

    rule: Literal["not_null"]
    threshold: Annotated[float, Field(gt=0, le=1)] = 1.0


class UniqueRule(_Rule):
    rule: Literal["unique"]


class _BoundRule(_Rule):
    """`value`: a number, or for a date/timestamp column a date bound (see contracts/bounds.py):
    `1992-01-01`, `as_of`, `as_of - 30 years`."""

    value: float | str

    @field_validator("value", mode="before")
    @classmethod
    def _date_as_text(cls, value: object) -> object:
        # YAML reads an unquoted 1992-01-01 as a date
        return value.isoformat() if isinstance(value, date) else value

    @field_validator("value")
    @classmethod
    def _bound(cls, value: float | str) -> float | str:
        return parse_date_bound(value).text() if isinstance(value, str) else value

    @property
    def date_bound(self) -> DateBound | None:
        return parse_date_bound(self.value) if isinstance(self.value, str) else None


class MinRule(_BoundRule):
    rule: Literal["min"]


class MaxRule(_BoundRule):
    rule: Literal["max"]


class AllowedValuesRule(_Rule):
    rule: Literal["allowed_values"]
    values: Annotated[list[str | int | float | bool], Field(min_length=1)]


QualityRule = Annotated[
    NotNullRule | UniqueRule | MinRule | MaxRule | AllowedValuesRule,
    Field(discriminator="rule"),
]


class Sla(_Strict):
    freshness_hours: Annotated[float, Field(gt=0)]
    warn_after_hours: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _warn_before_fail(self) -> Sla:
        if self.warn_after_hours is not None and self.warn_after_hours >= self.freshness_hours:
            raise ValueError("warn_after_hours must be smaller than freshness_hours")
        return self


class Dependency(_Strict):
    product: str
    on_stale: Literal["use_last_good", "fail"] = "fail"
    partition_mapping: Mapping | None = None  # contracts/partitioning.py; inferred when not given

    @field_validator("product")
    @classmethod
    def _qualified(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", value):
            raise ValueError(f"{value!r} must name a product as 'domain.product'")
        return value

    @property
    def domain(self) -> str:
        return self.product.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.product.split(".", 1)[1]


class Deprecation(_Strict):
    """A major version kept for its consumers until `sunset`; after that date it is no longer built."""

    sunset: date
    successor: str | None = None  # the product that replaces it, e.g. sales.orders_v2
    note: str = ""

    @field_validator("successor")
    @classmethod
    def _qualified(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", value):
            raise ValueError(f"{value!r} must name a product as 'domain.product', e.g. sales.orders_v2")
        return value

    @property
    def successor_major(self) -> int | None:
        """N of a successor named `..._vN`, None for any other successor (or none)."""
        suffix = (self.successor or "").rsplit("_v", 1)
        return int(suffix[1]) if len(suffix) == 2 and suffix[1].isdigit() else None


DATE_TYPES = ("date", "timestamp")


def _bound_problems(contract: Contract):
    """A date bound needs a date or timestamp column, and such a column needs a date bound."""
    types = {c.name: c.type for c in contract.columns}
    for i, rule in enumerate(contract.quality):
        if rule.rule not in {"min", "max"}:
            continue
        dated = types[rule.column] in DATE_TYPES
        if rule.date_bound is not None and not dated:
            yield (f"quality[{i}].value: {rule.value!r} is a date bound but {rule.column} is "
                   f"{types[rule.column]}; give a number")
        elif rule.date_bound is None and dated:
            yield (f"quality[{i}].value: {rule.column} is a {types[rule.column]}; give a date bound such as "
                   f"1992-01-01 or as_of, not {rule.value:g}")


class Contract(_Strict):
    name: str
    domain: str
    version: str
    owner: str
    description: str
    kind: Literal["source-aligned", "aggregate", "composed"] = "aggregate"
    tags: list[str] = []
    primary_key: list[str] = []
    sources: list[str] = []
    dependencies: list[Dependency] = []
    refresh: Literal["on_upstream_change", "manual"] = "on_upstream_change"
    sla: Sla
    columns: Annotated[list[Column], Field(alias="schema", min_length=1)]
    quality: list[QualityRule] = []
    # A build with fewer rows is refused; an empty one is refused unless `allow_empty` says empty is normal.
    min_rows: Annotated[int, Field(ge=1)] | None = None
    allow_empty: bool = False
    access: AccessPolicy = AccessPolicy()
    deprecation: Deprecation | None = None
    partitioning: Partitioning | None = None

    @field_validator("name", "domain")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"{value!r} must be a letter followed by letters, digits or _")
        return value

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not SEMVER.match(str(value)):
            raise ValueError(f"{value!r} is not a semantic version; write MAJOR.MINOR.PATCH, e.g. 1.0.0")
        return str(value)

    @field_validator("owner")
    @classmethod
    def _team(cls, value: str) -> str:
        if not value.startswith("team:"):
            raise ValueError(f"{value!r} must name a team as 'team:<name>'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        names = [c.name for c in self.columns]
        reserved = sorted(set(names) & (set(AUDIT_COLUMNS) | set(LINEAGE_COLUMNS)))
        if reserved:
            raise ValueError(f"schema declares platform columns (added automatically): {', '.join(reserved)}")
        if self.kind == "composed" and not self.dependencies:
            raise ValueError("a composed product needs at least one entry under dependencies")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"schema declares columns more than once: {', '.join(duplicates)}")
        known = set(names)
        for label, cols in (
            ("primary_key", self.primary_key),
            ("quality", [r.column for r in self.quality]),
        ):
            unknown = [c for c in cols if c not in known]
            if unknown:
                raise ValueError(f"{label} names columns not in the schema: {', '.join(unknown)}")
        rule_ids = [(r.rule, r.column) for r in self.quality]
        repeated = sorted({f"{k} on {c}" for k, c in rule_ids if rule_ids.count((k, c)) > 1})
        if repeated:
            raise ValueError(f"quality declares the same rule twice: {', '.join(repeated)}")
        if self.allow_empty and self.min_rows is not None:
            raise ValueError(f"allow_empty: true contradicts min_rows: {self.min_rows}; remove one of them")
        if self.partitioning is not None:
            problems = self.partitioning.problems({c.name: c.type for c in self.columns})
            if problems:
                raise ValueError("\n".join(problems))
        bound_problems = list(_bound_problems(self))
        if bound_problems:
            raise ValueError("\n".join(bound_problems))
        problems = access_problems(self.access, self.domain, self.published_columns)
        if problems:
            raise ValueError("\n".join(problems))
        deprecation = self.deprecation
        if deprecation and deprecation.successor and not (
            deprecation.successor == f"{self.domain}.{self.name}_v{deprecation.successor_major}"
            and deprecation.successor_major > self.major
        ):
            raise ValueError(
                f"deprecation.successor: {deprecation.successor!r} must be a later major of this product, "
                f"e.g. {self.domain}.{self.name}_v{self.major + 1}"
            )
        return self

    @property
    def major(self) -> int:
        return int(self.version.split(".", 1)[0])

    @property
    def asset_name(self) -> str:
        """Name of this major version's asset and Delta table. Each major is its own table, so that a
        breaking release never changes what existing consumers read: 0.x and 1.x publish `orders`,
        2.x `orders_v2`, and so on."""
        return self.name if self.major <= 1 else f"{self.name}_v{self.major}"

    @property
    def key(self) -> str:
        return f"{self.domain}.{self.asset_name}"

    @property
    def file_name(self) -> str:
        """A major superseded by a newer one keeps its own file next to the current contract."""
        superseded = self.deprecation is not None and self.deprecation.successor is not None
        return f"{self.name}.v{self.major}.yaml" if superseded else f"{self.name}.yaml"

    def retired(self, today: date) -> bool:
        return self.deprecation is not None and today > self.deprecation.sunset

    @property
    def time_partitioned(self) -> bool:
        return isinstance(self.partitioning, TimePartitioning)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def consumer_masking(self) -> dict[str, str]:
        """Column -> masking rule as every reader outside the owner domain gets it: each PII column by
        its rule (redacted when it has none: fail closed), and any other column the contract masks."""
        pii = {c.name: self.access.masking.get(c.name, "redact") for c in self.columns if c.pii}
        return {**pii, **self.access.masking}

    @property
    def published_columns(self) -> dict[str, str]:
        """Every column of the published table, in order, with its type (platform columns last)."""
        lineage = LINEAGE_COLUMNS if self.kind == "composed" else {}
        return {**{c.name: c.type for c in self.columns}, **lineage, **AUDIT_COLUMNS}
