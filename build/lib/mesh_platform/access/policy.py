"""Who may read a product and what they see: the contract's access policy applied to one consumer."""

from __future__ import annotations

from dataclasses import dataclass, field

from mesh_platform.contracts.model import Contract


class AccessDenied(PermissionError):
    """A read the product's contract does not allow; the message says whom to ask."""


def request_hint(product: str, consumer: str) -> str:
    return f"mesh access request {product} --as {consumer} --reason '...'"


def denial(contract: Contract, consumer: str) -> str:
    allowed = ", ".join(contract.access.consumers) or "no domain but its owner"
    return (
        f"{consumer} may not read {contract.key}: its contract allows {allowed}; "
        f"ask its owner {contract.owner} ({request_hint(contract.key, consumer)})"
    )


@dataclass(frozen=True)
class ReadPolicy:
    product: str
    consumer: str
    masking: dict[str, str] = field(default_factory=dict)  # column -> masking rule
    row_filter: str | None = None


def read_policy(contract: Contract, consumer: str) -> ReadPolicy:
    """What `consumer` sees of `contract`'s product; AccessDenied if it may not read it at all.

    The owner domain reads clear values. Everyone else sees each PII column masked by its rule (a PII
    column without one is redacted: fail closed), plus any other column the contract chooses to mask,
    and only the rows of its row filter.
    """
    if consumer == contract.domain:
        return ReadPolicy(contract.key, consumer)
    if consumer not in contract.access.consumers:
        raise AccessDenied(denial(contract, consumer))
    return ReadPolicy(
        contract.key,
        consumer,
        masking=contract.consumer_masking,
        row_filter=contract.access.row_filters.get(consumer),
    )
