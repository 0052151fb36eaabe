"""Run parameters shared by every product build of a run (set per run in the launchpad or CLI)."""

from __future__ import annotations

import os
from datetime import date

from dagster import ConfigurableResource
from pydantic import Field, field_validator

from mesh_platform import settings
from mesh_platform.access.binding import DomainBound
from mesh_platform.config import current_mesh


class ProductRun(ConfigurableResource, DomainBound):
    """Use `ProductRun.bound_to(domain)`: a build reads its dependencies as the bound domain only."""

    as_of: str = Field(
        default="",
        description="Every product is computed as of this date (YYYY-MM-DD); empty: the mesh's default "
                    "(MESH_AS_OF, mesh.yaml's as_of, else the UTC date).",
    )

    @field_validator("as_of")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        if not value:
            return value
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"as_of {value!r} is not a date; write YYYY-MM-DD, e.g. 2026-12-01") from None
        return value

    lake_root: str = Field(description="Root of the lake that products are read from and published to.")

    @classmethod
    def from_env(cls) -> ProductRun:
        mesh = current_mesh(required=False)
        fixed = os.environ.get("MESH_AS_OF") or (mesh.as_of.isoformat() if mesh is not None and mesh.as_of else "")
        return cls(as_of=fixed, lake_root=str(settings.lake_root()))

    @property
    def as_of_date(self) -> date:
        return date.fromisoformat(self.as_of) if self.as_of else settings.default_as_of()
