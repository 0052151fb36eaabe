"""Cost per product and per domain, summed from the `cost/*` metadata each publish records.

Compute adds up over the publishes of a window (default: the last 30 days); storage is what each
product's table holds on disk now (all versions kept, and the log), from its latest publish.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

from dagster import DagsterInstance

from mesh_platform.contracts.model import Contract
from mesh_platform.monitoring.records import builds
from mesh_platform.settings import COST_WINDOW_DAYS
from mesh_platform.storage.layout import product_key

MAX_PUBLISHES = 10_000


@dataclass(frozen=True)
class Cost:
    publishes: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    bytes_read: int = 0
    bytes_written: int = 0
    storage_bytes: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(Cost)})


@dataclass(frozen=True)
class ProductCost:
    product: str
    domain: str
    cost: Cost

    def as_dict(self) -> dict:
        return {"product": self.product, "domain": self.domain, **asdict(self.cost)}


def _publish_cost(metadata: Mapping) -> Cost:
    """One publish's `cost/*` metadata; its storage is what the table held after it."""
    def number(name: str) -> float:
        entry = metadata.get(f"cost/{name}")
        return float(getattr(entry, "value", entry) or 0)

    return Cost(1, number("cpu_seconds"), number("wall_seconds"), int(number("bytes_read")),
                int(number("bytes_written")), int(number("storage_bytes")))


def product_cost(contract: Contract, instance: DagsterInstance, since: float) -> Cost:
    """Compute summed over the publishes since `since`; storage as of the latest one."""
    # Renewals ("still current") cost no compute and record none: only real builds count, newest first.
    records = builds(instance, product_key(contract.domain, contract.asset_name), MAX_PUBLISHES, after_timestamp=since)
    publishes = [_publish_cost(m) for r in records if "cost/wall_seconds" in (m := r.asset_materialization.metadata)]
    if not publishes:
        return Cost()
    total = sum(publishes, Cost())
    return replace(total, cpu_seconds=round(total.cpu_seconds, 3), wall_seconds=round(total.wall_seconds, 3),
                   storage_bytes=publishes[0].storage_bytes)


def mesh_cost(
    contracts: Mapping[str, Contract], instance: DagsterInstance, days: float = COST_WINDOW_DAYS
) -> tuple[list[ProductCost], dict[str, Cost]]:
    """Each product's cost over the last `days`, and each domain's total."""
    since = time.time() - days * 86400
    products = [ProductCost(f"{c.domain}.{c.asset_name}", c.domain, product_cost(c, instance, since))
                for c in sorted(contracts.values(), key=lambda c: (c.domain, c.asset_name))]
    domains: dict[str, Cost] = {}
    for p in products:
        domains[p.domain] = domains.get(p.domain, Cost()) + p.cost
    return products, domains
