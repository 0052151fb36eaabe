"""Refresh that keeps SLAs, driven by Dagster's real daemons with a frozen, advanced clock.

The whole sample mesh (four code locations, in process) on its own lake and instance: the sensor daemon
runs the `<domain>_sources` sensors (observations, renewals), the automation daemon the
`<domain>_propagation` sensors, and the runs it launches execute in this process during the iteration
that launched them (Dagster's SyncInMemoryRunLauncher; tests/automation_sim.py).
"""

from __future__ import annotations

import random
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster._core.definitions.data_version import DATA_VERSION_TAG
from dagster._time import get_current_timestamp

from automation_sim import automated_products, new_source_version, simulation
from mesh_platform.monitoring.records import CONFIRMS_RUN
from mesh_platform.product.automation import renew_after_seconds

# 10-14 minutes on 2 busy cores: a fill, a propagation and 192 ticks of 48 simulated hours. What it asserts is
# scheduling (which runs, when), not an engine's values: one pass (Sail) runs it.
pytestmark = [pytest.mark.slow, pytest.mark.engine_independent]

MINUTE, HOUR = 60.0, 3600.0
SIM_HOURS, STEP = 48, 15 * MINUTE
CHANGES = 6  # source changes at random moments of the 48 h


def _downstream(products: dict, domain: str, table: str) -> set[str]:
    """The automated products reading `domain`'s source `table`, and everything consuming them."""
    affected = {k for k, c in products.items() if c.domain == domain and table in c.sources}
    while True:
        more = {k for k, c in products.items() if any(d.product in affected for d in c.dependencies)} - affected
        if not more:
            return affected
        affected |= more


def _inputs(contract) -> list[str]:
    return [d.product for d in contract.dependencies]


def _feasible(products: dict) -> dict:
    """Products whose SLA is no tighter than any input product's, through the chain (SLA-001 refuses the
    others: they cannot keep their promise even when every input keeps its own)."""
    def ok(key: str) -> bool:
        c = products[key]
        return all(d in products and products[d].sla.freshness_hours <= c.sla.freshness_hours and ok(d)
                   for d in _inputs(c))
    return {k: c for k, c in products.items() if ok(k)}


def _data_version(record) -> str:
    return record.event_log_entry.tags[DATA_VERSION_TAG]


class Clock:
    def __init__(self, start: float):
        self.now = start

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture(scope="module")
def mesh(seeded_lake):
    """The mesh after the automation filled it from empty, with no click."""
    folder = Path(tempfile.mkdtemp(prefix="mesh-sla-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    with pytest.MonkeyPatch.context() as monkeypatch, simulation(folder, seeded_lake, monkeypatch) as sim:
        clock = Clock(get_current_timestamp())
        products = automated_products()
        fill_runs, quiet = [], 0
        for _ in range(10):
            runs = sim.tick(clock.advance(MINUTE))
            fill_runs += runs
            quiet = 0 if runs else quiet + 1
            if quiet == 2:
                break
        sim.fill_runs = fill_runs
        yield sim, clock, products
    shutil.rmtree(folder, ignore_errors=True)


def test_a_fresh_mesh_fills_itself_in_dependency_order(mesh):
    sim, _, products = mesh
    assert not sim.failed_runs()
    built = [sim.materialized(r) for r in sim.fill_runs]
    assert sorted(p for run in built for p in run) == sorted(products)  # each product exactly once
    order = {p: i for i, run in enumerate(built) for p in run}
    for key, contract in products.items():
        for dep in _inputs(contract):  # a consumer is built in its input's run or a later one
            assert order[dep] <= order[key], (dep, key)
        assert len({p.split(".")[0] for p in built[order[key]]}) == 1  # runs never span domains


def test_a_source_change_rebuilds_exactly_what_reads_it_then_its_consumers(mesh):
    sim, clock, products = mesh
    affected = _downstream(products, "sales", "orders")
    assert {"sales.orders", "sales.customer_lifetime_value", "marketing.unified_customer_view"} <= affected
    unaffected = {k: sim.latest(k) for k in products if k not in affected}
    before = {k: sim.latest(k) for k in affected}

    new_source_version(sim.lake, "sales", "orders")
    runs = []
    for _ in range(4):
        runs += sim.tick(clock.advance(MINUTE))
    built = [sim.materialized(r) for r in runs]

    assert not sim.failed_runs()
    # A rewrite of the whole source cannot say which orders changed: first every month of the partitioned
    # sales.orders in ONE run (its partition refresh), then its sales consumers in one run, and the consuming
    # domains' products in runs of their own domain, each product once, and nothing else.
    assert built[0] == {"sales.orders"}
    months = sim.instance.get_run_by_id(runs[0]).tags
    assert (months["dagster/asset_partition_range_start"], months["dagster/asset_partition_range_end"]) == (
        "1992-01", "1998-08")
    # (the consuming domains' runs may come in any order, marketing's campaign_attribution reads sales.orders)
    assert {k for k in affected if k.startswith("sales.")} - {"sales.orders"} in built[1:]
    assert all(len({p.split(".")[0] for p in run}) == 1 for run in built)
    assert sorted(p for run in built for p in run) == sorted(affected)
    # Each product exactly once (above). A consumer of sales.orders itself (marketing.campaign_attribution)
    # may run before the products of its domain that wait for the sales consumers: one run more at most.
    assert len(built) <= len({k.split(".")[0] for k in affected}) + 2
    for key in affected:  # each a real build with a new data version
        assert _data_version(sim.latest(key)) != _data_version(before[key])
    for key, record in unaffected.items():
        assert sim.latest(key).storage_id == record.storage_id  # not touched


def test_an_unchanged_product_is_renewed_still_current_not_rebuilt(mesh):
    sim, clock, products = mesh
    key = "supply_chain.supplier_performance"
    build = sim.latest(key)
    assert not sim.is_renewal(build)
    runs = sim.tick(clock.advance(renew_after_seconds(products[key]) + MINUTE))

    assert runs == []  # sources re-observed with the same data versions: nothing to rebuild
    renewal = sim.latest(key)
    meta = renewal.asset_materialization.metadata
    assert sim.is_renewal(renewal) and renewal.run_id == ""  # runless
    assert _data_version(renewal) == _data_version(build)
    assert meta[CONFIRMS_RUN].value == build.run_id
    assert meta["delta_version"].value == build.asset_materialization.metadata["delta_version"].value
    # Its data time is its sources' latest observation, this tick: younger than the build's.
    assert meta["mesh/data_time"].value == pytest.approx(clock.now, abs=1)
    assert meta["mesh/data_time"].value > build.asset_materialization.metadata["mesh/data_time"].value
    assert meta["data_time"].value == datetime.fromtimestamp(meta["mesh/data_time"].value, UTC).isoformat(
        timespec="seconds")


def test_48_hours_keep_every_sla_with_the_runs_changes_need(mesh):
    sim, clock, products = mesh
    rng = random.Random(17)
    sources = sorted({(c.domain, t) for c in products.values() for t in c.sources})
    start = clock.now
    changes = sorted((start + rng.uniform(0, (SIM_HOURS - 2) * HOUR), *rng.choice(sources)) for _ in range(CHANGES))
    feasible = _feasible(products)
    assert feasible == products  # the shipped SLAs are feasible (SLA-001): every product is judged
    launched, minimum, breaches = [], 0, []
    pending = list(changes)
    while clock.now < start + SIM_HOURS * HOUR:
        now = clock.advance(STEP)
        batch = [c for c in pending if c[0] <= now]
        pending = pending[len(batch):]
        for _, domain, table in batch:
            new_source_version(sim.lake, domain, table)
        # one run per domain that has a product to rebuild: the least any scheduler could launch
        minimum += len({k.split(".")[0] for _, d, t in batch for k in _downstream(products, d, t)})
        launched += sim.tick(now)
        for key, contract in feasible.items():
            age = now - sim.data_time(key)
            if age > contract.sla.freshness_hours * HOUR:
                breaches.append(f"{key}: data {age / HOUR:.2f} h old at +{(now - start) / HOUR:.2f} h, "
                                f"SLA {contract.sla.freshness_hours:g} h")
    print(f"\n48 h simulation: {len(launched)} runs launched for {len(changes)} source changes; minimum "
          f"needed {minimum}; products judged {len(feasible)}/{len(products)}")
    assert (sim.failed_runs(), breaches[:10]) == ([], [])  # both at once: a breach often explains a failed run
    assert minimum <= len(launched) <= minimum  # renewals, not runs, keep the unchanged products
