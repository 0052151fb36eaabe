"""Major versions side by side: deprecation, sunset and retirement of a product's older majors.

A breaking change is released as a new major with its own table and asset (`orders_v2`) while the
previous major (`orders`, contract in `orders.v1.yaml`) keeps being built for its consumers until the
sunset date in its `deprecation`. Consumers reading a deprecated major are warned; after the sunset it
is retired: no longer built, and consumers still depending on it fail until they move.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from mesh_platform.contracts.model import Contract


def today() -> date:
    """The calendar date that sunsets are judged by (UTC wall clock, not a build's as-of date)."""
    return datetime.now(UTC).date()


def lifecycle(contract: Contract, on: date | None = None) -> str:
    """active, deprecated or retired."""
    if contract.deprecation is None:
        return "active"
    return "retired" if contract.retired(on or today()) else "deprecated"


def deprecation_notice(contract: Contract, on: date | None = None) -> str | None:
    """What a consumer of `contract` is told, or None for an active product."""
    state = lifecycle(contract, on)
    if state == "active":
        return None
    sunset = contract.deprecation.sunset.isoformat()
    successor = contract.deprecation.successor
    move = f"; move to {successor}" if successor else ""
    note = f" ({contract.deprecation.note})" if contract.deprecation.note else ""
    if state == "retired":
        return f"{contract.key} {contract.version} was retired on {sunset} and is no longer built{move}{note}"
    return f"{contract.key} {contract.version} is deprecated: built until its sunset on {sunset}{move}{note}"


def lineup_problems(contracts: Iterable[Contract], where: str) -> list[str]:
    """Majors of one domain that do not fit together: two contracts for one table, or a successor that
    the domain does not publish. `where` is the domain's contracts folder."""
    contracts = list(contracts)
    problems, seen = [], {}
    for contract in contracts:
        if contract.key in seen:
            problems.append(
                f"{where}/{contract.file_name}: version: {contract.key} is also published by "
                f"{seen[contract.key].file_name} (each major version is one table: give one of them another major)"
            )
        seen.setdefault(contract.key, contract)
    for contract in contracts:
        successor = contract.deprecation and contract.deprecation.successor
        if successor and successor not in seen:
            problems.append(
                f"{where}/{contract.file_name}: deprecation.successor: {successor} is not published by this "
                f"domain; release it in {contract.name}.yaml (version "
                f"{contract.deprecation.successor_major}.0.0) or remove the successor"
            )
    return problems
