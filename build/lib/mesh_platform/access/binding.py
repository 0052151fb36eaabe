"""Which domain a code location reads and publishes as: bound by the platform, never chosen by an asset key.

The platform builds each domain's Definitions (product/domain.py) with resources bound to that domain.
The binding lives in the resource's class, not in its config, so neither an asset key nor run config
(the launchpad, `mesh materialize --as-of`) can change the domain that the access policy is checked
against and the audit records.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, TypeVar

from mesh_platform.access.policy import AccessDenied

T = TypeVar("T", bound="DomainBound")


class DomainBound:
    """A resource whose subclass made by `bound_to(domain)` serves one domain; the base class serves none."""

    bound_domain: ClassVar[str | None] = None

    @classmethod
    def bound_to(cls: type[T], domain: str) -> type[T]:
        # Dagster re-creates a resource from its class and config at run time: the class carries the domain.
        return type(f"{cls.__name__}_{domain}", (cls,), {"bound_domain": domain, "__module__": cls.__module__})

    def domain(self) -> str:
        """The bound domain; AccessDenied (fail closed) for a resource the platform did not bind."""
        if self.bound_domain is None:
            raise AccessDenied(
                f"{type(self).__name__} is not bound to a domain, so it reads and publishes nothing; "
                "build the code location with domain_definitions() or its resources with platform_resources(domain)"
            )
        return self.bound_domain

    def require_own(self, keys: Iterable, action: str) -> str:
        """The bound domain, if every asset key in `keys` is inside its prefix; else AccessDenied."""
        domain = self.domain()
        foreign = sorted(k.to_user_string() for k in keys if k.path[0] != domain)
        if foreign:
            raise AccessDenied(
                f"{', '.join(foreign)} may not {action} in the {domain} code location: it runs only assets "
                f"keyed [\"{domain}\", ...]; define the asset in its own domain's code location"
            )
        return domain
