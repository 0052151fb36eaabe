"""What the read path records: each denial and each read, once, where the read is opened (open_product).

A broken audit fails reads closed: a read that cannot be recorded is refused with AuditUnreadable (one
line: what is broken and how to repair it). One exception keeps a mesh building while its audit is
repaired: a build reading a product of its own domain (no access boundary crossed) proceeds, with a
warning in the run's log that the read went unrecorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from dagster import AssetObservation, get_dagster_logger

from mesh_platform.access.audit import DENIED, ReadEvent, reads, record, usage
from mesh_platform.access.audit_chain import AuditUnreadable
from mesh_platform.access.policy import AccessDenied, ReadPolicy, read_policy
from mesh_platform.contracts.model import Contract
from mesh_platform.storage.layout import product_key

BUILD_VIAS = {"dagster", "io_manager"}  # reads inside Dagster runs


def authorize(
    contract: Contract, consumer: str, lake_root: Path, *, via: str, run_id: str | None = None,
    read_by: str | None = None, columns: Sequence[str] | None = None, credential: str | None = None,
) -> ReadPolicy:
    """`consumer`'s policy on `contract`'s product; a denial is recorded (once) before AccessDenied is raised."""
    try:
        return read_policy(contract, consumer)
    except AccessDenied as denied:
        try:
            record(lake_root, ReadEvent(
                product=contract.key, version=None, consumer=consumer, read_at=datetime.now(UTC),
                columns=list(columns or []), rows=0, via=via, run_id=run_id, read_by=read_by,
                outcome=DENIED, reason=str(denied), credential=credential,
            ))
        except AuditUnreadable as broken:  # refused either way; say both
            raise AccessDenied(f"{denied} (not recorded: {broken})") from None
        raise


def record_read(event: ReadEvent, owner_domain: str, lake_root: Path) -> AssetObservation | None:
    """Records `event` and returns the product's usage so far as an observation on its asset.

    None (and a warning) only for a build's read of its own domain while the audit is unreadable.
    """
    try:
        earlier = reads(lake_root, event.product)  # first: a log that cannot be summarised refuses the read
        record(lake_root, event)
    except AuditUnreadable as broken:
        if event.via in BUILD_VIAS and event.consumer == owner_domain:
            get_dagster_logger().warning(f"{event.product} read by {event.read_by or event.consumer} not recorded: "
                                         f"{broken}")
            return None
        raise
    return observation(event.product, usage([*earlier, event])[event.product].metadata())


def observation(product: str, metadata: dict) -> AssetObservation:
    domain, name = product.split(".")
    return AssetObservation(asset_key=product_key(domain, name), metadata=metadata)
