"""DEPENDENCY-001: products that consume themselves, directly or through other products of any domain.

Such a product can never be built (each build waits for the other's publish). Dagster rejects a cycle
inside one code location with a traceback and never sees one across code locations, so lint finds it
on the contracts, and every code location of the cycle refuses to load with the same line.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from mesh_platform.contracts import Contract


def dependency_cycle(contract: Contract, upstream: Callable[[str], Contract | None]) -> tuple[int, list[str]] | None:
    """The shortest cycle through `contract` as (index of its dependency that starts it, product keys from
    `contract` back to it), or None. `upstream(key)`: the contract of a product, None if unreadable."""
    start = contract.key
    pending = deque((i, [start, dep.product]) for i, dep in enumerate(contract.dependencies))
    visited = {start}
    while pending:
        first, chain = pending.popleft()
        key = chain[-1]
        if key == start:
            return first, chain
        if key in visited:
            continue
        visited.add(key)
        found = upstream(key)
        if found is not None:
            pending += [(first, [*chain, dep.product]) for dep in found.dependencies]
    return None
