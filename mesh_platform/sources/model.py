"""A domain's source declarations (`<domain>/sources.yaml`): what its operational systems provide.

Each source has a name, a kind (where and how it lives), the columns and types the domain's products
may rely on, and optionally a freshness expectation: how old its newest data may be, told by a column
(like dbt's `loaded_at_field`) or a query. Credentials are never written here: a JDBC source names the
environment variables that hold them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mesh_platform.contracts.types import SUPPORTED_TYPES, is_supported_type

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
KINDS = ("delta", "files", "jdbc")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Freshness(_Strict):
    """How old a source's newest data may be, and what tells its newest-data time."""

    max_age_hours: Annotated[float, Field(gt=0)]
    loaded_at_field: str | None = None  # a timestamp/date column: its maximum is the newest-data time
    loaded_at_query: str | None = None  # jdbc only: SQL returning one timestamp

    @model_validator(mode="after")
    def _one_way_to_tell(self) -> Freshness:
        if self.loaded_at_field and self.loaded_at_query:
            raise ValueError("give loaded_at_field or loaded_at_query, not both")
        return self


class DeltaLocation(_Strict):
    path: str | None = None  # relative to the lake root; default <domain>/bronze/<name>


class FilesLocation(_Strict):
    path: str  # a folder, relative to the lake root unless absolute
    glob: str = "*"
    format: Literal["parquet", "csv", "json"]
    header: bool = True  # csv: the first line names the columns


class JdbcLocation(_Strict):
    url: str | None = None  # postgresql://host:port/database, without credentials
    url_env: str | None = None  # or the environment variable holding that URL
    table: str | None = None
    query: str | None = None
    user_env: str
    password_env: str
    change_probe: str = "count(*)"  # a cheap SQL expression over the table whose value changes with the data

    @field_validator("url_env", "user_env", "password_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name (UPPER_CASE, e.g. MESH_SALES_PG_USER)")
        return value

    @field_validator("url")
    @classmethod
    def _no_credentials_in_url(cls, value: str | None) -> str | None:
        if value is not None:  # credentials first: the other message repeats the URL, which must not show them
            if "@" in value or "password" in value.lower():
                raise ValueError("credentials never go in the URL; name them in user_env and password_env")
            if not re.match(r"^postgresql://[^/@]+/\w+", value):
                raise ValueError(f"{value!r} is not postgresql://host:port/database")
        return value

    @model_validator(mode="after")
    def _where(self) -> JdbcLocation:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url or url_env")
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of table or query")
        return self


class Source(_Strict):
    name: str
    kind: Literal["delta", "files", "jdbc"]
    description: str = ""
    columns: dict[str, str]
    freshness: Freshness | None = None
    # a timestamp column stamped on every insert and update: tells which rows changed since a watermark,
    # so a partitioned product rebuilds only their partitions (product/partition_refresh.py)
    change_column: str | None = None
    delta: DeltaLocation | None = None
    files: FilesLocation | None = None
    jdbc: JdbcLocation | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"{value!r} is not a source name (lower_snake_case, starting with a letter)")
        return value

    @field_validator("columns")
    @classmethod
    def _types(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("declare at least one column (name: type)")
        for column, type_ in value.items():
            if not isinstance(type_, str) or not is_supported_type(type_):
                raise ValueError(f"{column}: type {type_!r} is unknown; use one of {', '.join(SUPPORTED_TYPES)}")
        return {c: t.strip().lower() for c, t in value.items()}

    @model_validator(mode="after")
    def _location_of_its_kind(self) -> Source:
        others = [k for k in KINDS if k != self.kind and getattr(self, k) is not None]
        if others:
            raise ValueError(f"a {self.kind} source has no {others[0]} block (kind: {self.kind})")
        if self.kind in ("files", "jdbc") and getattr(self, self.kind) is None:
            raise ValueError(f"a {self.kind} source needs a {self.kind} block saying where it lives")
        fresh = self.freshness
        if fresh and fresh.loaded_at_field and fresh.loaded_at_field not in self.columns:
            raise ValueError(f"freshness.loaded_at_field {fresh.loaded_at_field!r} is not one of its columns")
        if self.change_column is not None:
            if self.kind == "files":
                raise ValueError("change_column is for delta and jdbc sources; a files source's changes are its "
                                 "new and changed files")
            if self.columns.get(self.change_column) not in ("timestamp", "date"):
                raise ValueError(f"change_column {self.change_column!r} is not one of its timestamp columns "
                                 f"(declare {self.change_column}: timestamp under columns)")
        if fresh and fresh.loaded_at_query and self.kind != "jdbc":
            raise ValueError("freshness.loaded_at_query is for jdbc sources; use loaded_at_field")
        return self


class SourcesFile(_Strict):
    sources: list[Source]

    @model_validator(mode="after")
    def _unique(self) -> SourcesFile:
        names = [s.name for s in self.sources]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"source {twice[0]!r} is declared twice")
        return self
