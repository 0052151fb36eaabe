"""When a product refreshes by itself: Dagster's declarative automation, and the cadence its SLA sets.

A product is built by the automation daemon (its domain's `<domain>_propagation` sensor) when
- it is missing and none of its inputs is (the fill: a fresh `dagster dev` materializes the whole mesh,
  in dependency order, across code locations), unless its latest run failed (no retry storm: the next
  change of an input, or a click, tries again);
- the DATA VERSION of one of its inputs changed since it was last requested or updated. Every real build
  publishes a new data version (materialize.py), a renewal ("checked, still current") keeps it, so renewals
  never cascade into rebuilds while a new publish always does;
- its code version (the contract version) changed;
and never while it or one of its inputs is in progress.

Why data_version_changed and not Dagster's eager(): eager's any_deps_updated counts every materialization
of an input, runless renewals included, and would rebuild each consumer whenever its input was merely
confirmed. data_version_changed (dagster/_utils/caching_instance_queryer.py) compares the data version
tag of the input's latest record after the evaluation cursor with the one before it: materializations for
products, observations for observable sources.

Cadence (how refresh follows SLAs): a product whose inputs did not change is renewed by its domain's
`<domain>_sources` sensor once its latest record is half its SLA old, and each source is observed at
least every quarter of the tightest SLA among the products reading it (clamped to [1 min, 1 h]). So a
product's data is at most SLA/2 (renewal) + SLA/4 (observation) + two sensor ticks old when its inputs
keep theirs: a margin of a quarter of the SLA.

Partitioned products refresh incrementally: their condition ignores their sources (a source is not
partitioned, so its new version would request every partition) and the `<domain>_partition_refresh`
sensor requests only the partitions whose source rows changed (product/partition_refresh.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetSelection, AutomationCondition

from mesh_platform.contracts.model import Contract
from mesh_platform.storage.layout import bronze_key

RENEW_FRACTION = 0.5  # of the SLA: a product unchanged for this long is confirmed "still current"
OBSERVE_FRACTION = 0.25  # of the tightest reader's SLA: a source is observed at least this often
MIN_OBSERVE_SECONDS, MAX_OBSERVE_SECONDS = 60.0, 3600.0


def _fill() -> AutomationCondition:
    return (AutomationCondition.missing() & ~AutomationCondition.execution_failed()).with_label(
        "missing (and its latest run did not fail)")


def _new_input_version() -> AutomationCondition:
    # An input built in the same run as this product (same location) is no news to it afterwards.
    return AutomationCondition.data_version_changed() & ~AutomationCondition.executed_with_root_target()


def _inputs_changed(ignored: AssetSelection | None) -> AutomationCondition:
    def any_input(condition: AutomationCondition):
        deps = AutomationCondition.any_deps_match(condition)
        return deps.ignore(ignored) if ignored is not None else deps

    pending = any_input(
        _new_input_version() | AutomationCondition.will_be_requested()
    ).with_label("an input's data version changed").since_last_handled()
    # data_version_changed carries no timestamp, so when the product's own update (the "handled" reset)
    # lands in the same tick as an input's new version, SINCE lets the reset win and the change would be
    # lost; the change seen this very tick therefore counts on its own too.
    now = any_input(_new_input_version()).with_label("an input has a new data version now")
    return pending | now


def _code_changed() -> AutomationCondition:
    return AutomationCondition.code_version_changed().since_last_handled().with_label("contract version changed")


def refresh_condition(ignored: AssetSelection | None = None) -> AutomationCondition:
    """The condition of every automated product (see the module's docstring); a new data version of the
    `ignored` inputs does not trigger it."""
    return (
        (_fill() | _inputs_changed(ignored) | _code_changed())
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.in_progress()
        & ~AutomationCondition.any_deps_in_progress()
    ).with_label("mesh: fill, follow input data versions, keep the SLA")


def product_condition(contract: Contract) -> AutomationCondition | None:
    """`refresh: manual` opts a product out of every automation (builds and renewals). A partitioned
    product ignores its sources' data versions (which would rebuild every partition): its domain's
    `<domain>_partition_refresh` sensor rebuilds the partitions whose rows changed
    (product/partition_refresh.py); it still fills missing partitions, follows consumed products'
    partitions and its contract version."""
    if contract.refresh == "manual":
        return None
    if contract.partitioning is not None and contract.sources:
        return refresh_condition(AssetSelection.assets(*(bronze_key(contract.domain, t) for t in contract.sources)))
    return refresh_condition()


def automated(contract: Contract) -> bool:
    return contract.refresh != "manual"


def renew_after_seconds(contract: Contract) -> float:
    return contract.sla.freshness_hours * 3600 * RENEW_FRACTION


def observe_every_seconds(readers: Iterable[Contract]) -> float:
    """How often a source read by `readers` is observed even when nothing changed."""
    tightest = min((c.sla.freshness_hours for c in readers), default=None)
    if tightest is None:
        return MAX_OBSERVE_SECONDS
    return min(MAX_OBSERVE_SECONDS, max(MIN_OBSERVE_SECONDS, tightest * 3600 * OBSERVE_FRACTION))
