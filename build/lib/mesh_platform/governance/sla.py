"""SLA-001: a freshness SLA that its inputs cannot give, so it can never be kept.

A product's data is as old as the oldest input it was built from (its data time), so it can be no
fresher than the loosest promise anywhere upstream of it: an input product's SLA, or an input source's
`freshness.max_age_hours` (a source without a freshness expectation promises nothing to fall short of).
A product promising 2 h over an input that may be 24 h old breaches its SLA whenever that input merely
keeps its own; no refresh cadence can help. Lint finds it on the declarations, across domains, and names
the chain from the product's own input to the promise that binds it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mesh_platform.contracts import Contract
from mesh_platform.sources import Source


@dataclass(frozen=True)
class Hop:
    """One input on the way up: a product (`domain.product`) or a source (`source domain.name`)."""

    name: str
    hours: float | None  # its promise: the product's SLA, the source's max_age_hours (None: no expectation)

    def text(self) -> str:
        return f"{self.name} ({self.hours:g} h)" if self.hours is not None else self.name


@dataclass(frozen=True)
class InfeasibleSla:
    field: str  # the product's own input that starts the chain: dependencies[i].product or sources[j]
    chain: tuple[Hop, ...]  # from that input up to the loosest promise it leads to

    @property
    def needed_hours(self) -> float:
        return self.chain[-1].hours

    def message(self, contract: Contract) -> str:
        first, *rest = self.chain
        path = "".join(f", which reads {hop.text()}" for hop in rest)
        tail = f": its data can be up to {self.needed_hours:g} h old" if rest else ""
        return f"{contract.key} promises {contract.sla.freshness_hours:g} h but reads {first.text()}{path}{tail}"


def _source_hop(domain: str, source: Source) -> Hop:
    return Hop(f"source {domain}.{source.name}", source.freshness.max_age_hours if source.freshness else None)


def _loosest_chain(start: Hop, start_contract: Contract | None, upstream: Callable[[str], Contract | None],
                   sources_of: Callable[[str], Mapping[str, Source]]) -> tuple[Hop, ...]:
    """The shortest chain from `start` to the loosest promise reachable from it (itself included)."""
    best = (start,)
    pending = deque([((start,), start_contract)])
    visited = {start.name}
    while pending:
        chain, contract = pending.popleft()
        if chain[-1].hours is not None and chain[-1].hours > (best[-1].hours or 0):
            best = chain
        if contract is None:
            continue  # a source, or a product whose contract does not load (its own lint reports it)
        own_sources = sources_of(contract.domain)
        inputs = [(_source_hop(contract.domain, own_sources[s]), None) for s in contract.sources if s in own_sources]
        for dep in contract.dependencies:
            found = upstream(dep.product)
            inputs.append((Hop(dep.product, found.sla.freshness_hours if found else None), found))
        for hop, found in inputs:
            if hop.name not in visited:  # a cycle is DEPENDENCY-001's to report
                visited.add(hop.name)
                pending.append(((*chain, hop), found))
    return best


def infeasible_slas(contract: Contract, upstream: Callable[[str], Contract | None],
                    sources_of: Callable[[str], Mapping[str, Source]]) -> list[InfeasibleSla]:
    """One finding per input of `contract` that leads to a promise looser than its SLA.
    `upstream(key)`: a product's contract (None if unreadable); `sources_of(domain)`: its declared sources."""
    sla = contract.sla.freshness_hours
    starts: list[tuple[str, Hop, Contract | None]] = []
    own_sources = sources_of(contract.domain)
    for j, name in enumerate(contract.sources):
        if name in own_sources:  # an undeclared source is reported at load
            starts.append((f"sources[{j}]", _source_hop(contract.domain, own_sources[name]), None))
    for i, dep in enumerate(contract.dependencies):
        found = upstream(dep.product)
        if found is not None:
            starts.append((f"dependencies[{i}].product", Hop(dep.product, found.sla.freshness_hours), found))
    findings = []
    for field, hop, found in starts:
        chain = _loosest_chain(hop, found, upstream, sources_of)
        if chain[-1].hours is not None and chain[-1].hours > sla:
            findings.append(InfeasibleSla(field, chain))
    return findings
