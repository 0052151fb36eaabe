"""finance.pricing_summary at SF 1 equals the published TPC-H Query 1 answer (DELTA = 90)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dagster import materialize
from deltalake import DeltaTable

from domains.finance import transforms
from domains.seeding.bronze import seed
from mesh_platform.mesh import domain_contracts
from mesh_platform.product.factory import bronze_spec, product_asset
from mesh_platform.product.resources import platform_resources

pytestmark = pytest.mark.slow

# The answer set published with the TPC-H specification for Q1 at scale factor 1.
# (flag, status): sum_qty, sum_base_price, sum_disc_price, sum_charge, avg_qty, avg_price, avg_disc, count
PUBLISHED = {
    ("A", "F"): ("37734107.00", "56586554400.73", "53758257134.8700", "55909065222.827692",
                 25.522005853257337, "38273.129734621672", 0.049985295838397, 1478493),
    ("N", "F"): ("991417.00", "1487504710.38", "1413082168.0541", "1469649223.194375",
                 25.516471920522983, "38284.467760848304", 0.050093426674216, 38854),
    ("N", "O"): ("74476040.00", "111701729697.74", "106118230307.6055", "110367043872.497010",
                 25.502226769584993, "38249.117988908270", 0.049996586053750, 2920374),
    ("R", "F"): ("37719753.00", "56568041380.90", "53741292684.6040", "55889619119.831932",
                 25.505793612690770, "38250.854626099657", 0.050009405830127, 1478870),
}
CENT = Decimal("0.01")


def _money(text: str) -> Decimal:
    return Decimal(text).quantize(CENT, rounding="ROUND_HALF_UP")


def test_pricing_summary_at_sf1_equals_the_published_tpch_answer(tmp_path, monkeypatch, instance, spark):
    lake = tmp_path / "sf1"
    seed(lake, 1.0, domains={"finance"})
    monkeypatch.setenv("MESH_LAKE_ROOT", str(lake))
    contract = domain_contracts("finance")["finance.pricing_summary"]
    assets = [bronze_spec("finance", "invoice_lines", "team:finance"),
              product_asset(contract, transforms.pricing_summary)]
    assert materialize(assets, resources=platform_resources("finance"), instance=instance).success

    rows = DeltaTable(str(lake / "finance" / "gold" / "pricing_summary")).to_pyarrow_table().to_pylist()
    assert {(r["return_flag"], r["line_status"]) for r in rows} == set(PUBLISHED)
    for row in rows:
        qty, base, disc_price, charge, avg_qty, avg_price, avg_disc, count = PUBLISHED[(row["return_flag"], row["line_status"])]
        assert (row["sum_qty"], row["sum_base_price"]) == (_money(qty), _money(base))
        assert (row["sum_disc_price"], row["sum_charge"]) == (_money(disc_price), _money(charge))
        assert row["avg_price"] == _money(avg_price) and row["count_order"] == count
        assert row["avg_qty"] == pytest.approx(avg_qty, rel=1e-12)
        assert row["avg_disc"] == pytest.approx(avg_disc, rel=1e-12)
