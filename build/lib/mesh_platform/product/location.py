"""What a code location may define: its own domain's assets, and stubs of products it consumes.

A domain's location runs under resources bound to its domain (access/binding.py), so an asset it defines
with another domain's key would publish into that domain's folder and read under a name that is not its
own. The platform refuses such a location when it builds it, in one line.
"""

from __future__ import annotations

from dagster import AssetKey, Definitions

from mesh_platform.access.binding import DomainBound
from mesh_platform.contracts import ContractError
from mesh_platform.storage.layout import BRONZE


class LocationError(ContractError):
    """A code location defining assets outside its domain; it does not load."""


def _keys(keys) -> str:
    return ", ".join(sorted(k.to_user_string() for k in keys))


def _is_bronze(key: AssetKey) -> bool:
    return len(key.path) == 3 and key.path[1] == BRONZE


def location_problem(defs: Definitions, domain: str, where: str, bound_resources: tuple[str, ...] = ()) -> str | None:
    """One line naming what `defs` defines outside `domain`'s key prefix, or None if nothing.

    Runnable assets must be keyed [domain, ...]; other domains appear only as stubs (not runnable) of
    their published products, never of their bronze tables; `bound_resources` must be bound to `domain`.
    """
    graph = defs.resolve_asset_graph()
    problems = []
    foreign = [k for k in graph.executable_asset_keys if k.path[0] != domain]
    foreign += [c.asset_key for c in graph.asset_check_keys
                if c.asset_key.path[0] != domain and c.asset_key not in foreign]
    if foreign:
        problems.append(
            f"{_keys(foreign)} {'is' if len(foreign) == 1 else 'are'} outside {domain}'s key prefix: the {domain} "
            f"code location runs only assets keyed [\"{domain}\", ...]; define them in their own domain's code location"
        )
    bronze = [k for k in graph.external_asset_keys if k.path[0] != domain and _is_bronze(k)]
    if bronze:
        problems.append(
            f"{_keys(bronze)}: bronze tables are internal to their domain and not readable from {domain}; "
            "consume one of its published products instead"
        )
    resources = defs.resources or {}
    unbound = [key for key in bound_resources if getattr(type(resources.get(key)), "bound_domain", None) != domain]
    # Any other resource bound to another domain would read as that domain for the assets using it.
    unbound += [key for key, r in resources.items() if key not in bound_resources
                and isinstance(r, DomainBound) and r.bound_domain != domain]
    if unbound:
        problems.append(
            f"resources {', '.join(unbound)} are not the platform's, bound to {domain}; build the location "
            "with domain_definitions() and add assets through its extra_assets"
        )
    return f"{where}: {'; '.join(problems)}" if problems else None


def require_own_assets(defs: Definitions, domain: str, where: str, bound_resources: tuple[str, ...] = ()) -> None:
    problem = location_problem(defs, domain, where, bound_resources)
    if problem:
        raise LocationError(problem)
