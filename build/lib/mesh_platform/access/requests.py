"""Access requests: a consumer domain asks, the owner team grants or denies.

The log is append-only (a Delta table of events: requested, granted, denied); a request's state is
its latest event. Granting does not change who may read: it proposes the contract change (see
change.py), and access follows once that change is reviewed and merged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from mesh_platform.access.credentials import Identity, domain_principals
from mesh_platform.contracts.model import Contract
from mesh_platform.storage.delta import TableMissing, open_table
from mesh_platform.storage.layout import platform_path
from mesh_platform.storage.permissions import close_new_versions, prepare_table

SCHEMA = pa.schema([
    ("request_id", pa.string()),
    ("status", pa.string()),  # pending | granted | denied
    ("product", pa.string()),
    ("owner", pa.string()),
    ("consumer", pa.string()),
    ("reason", pa.string()),
    ("decided_by", pa.string()),
    ("note", pa.string()),  # the denial's reason, or where the grant's contract change waits
    ("at", pa.timestamp("us", tz="UTC")),
])


class RequestError(ValueError):
    """A request that cannot be made or decided; the message says why."""


@dataclass(frozen=True)
class AccessRequest:
    request_id: str
    status: str
    product: str
    owner: str
    consumer: str
    reason: str
    decided_by: str | None = None
    note: str | None = None
    at: datetime | None = None


def _log(lake_root: Path) -> Path:
    return platform_path(lake_root, "access_requests")


def _append(lake_root: Path, request: AccessRequest) -> AccessRequest:
    request = replace(request, at=datetime.now(UTC))
    log = _log(lake_root)
    access = prepare_table(log)  # platform state: the platform user's only
    write_deltalake(str(log), pa.Table.from_pylist([asdict(request)], schema=SCHEMA), mode="append")
    close_new_versions(log, access, DeltaTable(str(log)).version())
    return request


def requests(lake_root: Path) -> list[AccessRequest]:
    """Every request in its latest state, oldest first."""
    try:
        events = open_table(_log(lake_root)).to_pyarrow_table().to_pylist()
    except TableMissing:
        return []
    latest: dict[str, AccessRequest] = {}
    for event in sorted(events, key=lambda e: e["at"]):
        latest[event["request_id"]] = AccessRequest(**event)
    return list(latest.values())


def find(lake_root: Path, request_id: str) -> AccessRequest:
    for request in requests(lake_root):
        if request.request_id == request_id:
            return request
    raise RequestError(f"no access request {request_id!r} (see `mesh access list`)")


def request_access(lake_root: Path, contract: Contract, consumer: str, reason: str, by: Identity) -> AccessRequest:
    """`by` (from credentials.authenticate) must act as `consumer`: no one asks in another domain's name."""
    if by.principal not in domain_principals(consumer):
        raise RequestError(f"{by.principal} may not request access as {consumer}")
    if consumer == contract.domain or consumer in contract.access.consumers:
        raise RequestError(f"{consumer} can already read {contract.key}")
    if not reason.strip():
        raise RequestError("say why the access is needed (--reason): the owner decides on it")
    for open_request in requests(lake_root):
        if (open_request.product, open_request.consumer, open_request.status) == (contract.key, consumer, "pending"):
            raise RequestError(f"{consumer} already has a pending request for {contract.key}: {open_request.request_id}")
    request = AccessRequest(uuid.uuid4().hex[:8], "pending", contract.key, contract.owner, consumer, reason.strip())
    return _append(lake_root, request)


def _pending(lake_root: Path, request_id: str, by: Identity) -> AccessRequest:
    """`by` comes from credentials.authenticate: verified once enforcement is on."""
    request = find(lake_root, request_id)
    if request.status != "pending":
        raise RequestError(f"request {request_id} is already {request.status}")
    if by.principal != request.owner:
        raise RequestError(f"only {request.owner}, the owner of {request.product}, decides request {request_id}")
    return request


def deny(lake_root: Path, request_id: str, by: Identity, reason: str) -> AccessRequest:
    request = _pending(lake_root, request_id, by)
    return _append(lake_root, replace(request, status="denied", decided_by=by.principal, note=reason))


def grant(lake_root: Path, request_id: str, by: Identity, propose: Callable[[AccessRequest], str]) -> AccessRequest:
    """`propose` writes the contract change for review and says where it is."""
    request = _pending(lake_root, request_id, by)
    return _append(lake_root, replace(request, status="granted", decided_by=by.principal, note=propose(request)))
