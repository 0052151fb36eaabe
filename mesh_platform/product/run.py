"""Run parameters shared by every product build of a run (set per run in the launchpad or CLI)."""

from __future__ import annotations

from datetime import date

from dagster import ConfigurableResource
from pydantic import Field, field_validator

from mesh_platform import settings
from mesh_platform.access.binding import DomainBound


class ProductRun(ConfigurableResource, DomainBound):
    """Use `ProductRun.bound_to(domain)`: a build reads its dependencies as the bound domain only."""

    as_of: str = Field(
        default=settings.DEFAULT_AS_OF.isoformat(),
        description="Every product is computed as of this date (YYYY-MM-DD).",
    )

    @field_validator("as_of")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"as_of {value!r} is not a date; write YYYY-MM-DD, e.g. 2024-01-31") from None
        return value

    lake_root: str = Field(description="Root of the lake that products are read from and published to.")

    @classmethod
    def from_env(cls) -> ProductRun:
        return cls(as_of=settings.default_as_of().isoformat(), lake_root=str(settings.lake_root()))

    @property
    def as_of_date(self) -> date:
        return date.fromisoformat(self.as_of)
